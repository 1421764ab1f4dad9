package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
)

// sleeps records the waits a client asks for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
	// until, when set, holds each wait until it reports true (tests with a
	// master that is down for a while): the client's retries then last as
	// long as the outage, however slow the machine, instead of a number
	// of real delays that a loaded machine can outlast.
	until func() bool
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	until := s.until
	s.mu.Unlock()
	for until != nil && !until() && ctx.Err() == nil {
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// userClient is a client of master logged in as admin, not sleeping.
func userClient(t *testing.T, master string, s *sleeps) *experiment.Client {
	t.Helper()
	opts := &experiment.Options{Seed: 1}
	if s != nil {
		opts.Sleep = s.sleep
	}
	c, err := experiment.NewClient(master, experiment.Credentials{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background(), "admin", experiment.NewSecret(detfake.Password)); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return c
}

// TestHashPasswordMatchesSDK ensures the client-side hash is the one the
// Python SDK sent to a real master for the same password.
func TestHashPasswordMatchesSDK(t *testing.T) {
	const want = "a06346cca802287e9b1b21b3f99c27987d42c5e9186b25928892cacf2e204130" +
		"d8ddfc38df6e08bb4e2faae19e274a349cb9f2c1f414300d045a0e85379732fb"
	if got := experiment.HashPassword(experiment.NewSecret("Churn-Test-Pass1")).Reveal(); got != want {
		t.Errorf("HashPassword = %s, want %s", got, want)
	}
	if got := experiment.HashPassword(experiment.NewSecret("")).Reveal(); got != "" {
		t.Errorf("HashPassword(empty) = %q, want empty", got)
	}
}

// TestLoginSendsHashedPassword ensures login sends isHashed true and the
// hash, never the password.
func TestLoginSendsHashedPassword(t *testing.T) {
	m := detfake.New(t, detfake.Options{})
	userClient(t, m.URL(), nil)
	reqs := m.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/api/v1/auth/login" {
		t.Fatalf("requests = %v", reqs)
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["isHashed"] != true || body["password"] == detfake.Password ||
		body["password"] != experiment.HashPassword(experiment.NewSecret(detfake.Password)).Reveal() {
		t.Errorf("login body = %v", body)
	}
	if reqs[0].Header.Get("Authorization") != "" {
		t.Error("login sent an Authorization header")
	}
}

// TestErrorsCarryMasterBody ensures 401, 404 and 409 answers become
// *APIError values matching the sentinels, with the master's message.
func TestErrorsCarryMasterBody(t *testing.T) {
	m := detfake.New(t, detfake.Options{})
	ctx := context.Background()
	bad, _ := experiment.NewClient(m.URL(), experiment.Credentials{}, nil)
	err := bad.Login(ctx, "admin", experiment.NewSecret("s3cret-pass"))
	var ae *experiment.APIError
	if !errors.Is(err, experiment.ErrUnauthenticated) || !errors.As(err, &ae) ||
		ae.Code != 16 || ae.Message != "invalid credentials" {
		t.Errorf("wrong password: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, err := bad.GetModel(ctx, "churn"); !errors.Is(err, experiment.ErrUnauthenticated) ||
		!strings.Contains(err.Error(), "token missing") {
		t.Errorf("GetModel without token: %v", err)
	}
	c := userClient(t, m.URL(), nil)
	if _, err := c.GetModel(ctx, "churn test"); !errors.Is(err, experiment.ErrNotFound) ||
		!strings.Contains(err.Error(), `model "churn test" not found`) {
		t.Errorf("GetModel(missing): %v", err)
	}
	if _, err := c.CreateModel(ctx, experiment.CreateModelRequest{Name: "churn test"}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateModel(ctx, experiment.CreateModelRequest{Name: "churn test"})
	if !errors.Is(err, experiment.ErrAlreadyExists) || errors.Is(err, experiment.ErrNotFound) {
		t.Errorf("duplicate CreateModel: %v", err)
	}
	md, err := c.EnsureModel(ctx, experiment.CreateModelRequest{Name: "churn test"})
	if err != nil || md.Name != "churn test" || md.ID != 1 {
		t.Errorf("EnsureModel(existing) = %+v, %v", md, err)
	}
	if _, err := c.GetCheckpoint(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err,
		experiment.ErrNotFound) {
		t.Errorf("GetCheckpoint(unknown): %v", err)
	}
}

// TestEnsureModelRace ensures a creation that loses a race (404 on the
// first read, 409 on create) reads the winner's model.
func TestEnsureModelRace(t *testing.T) {
	m := detfake.New(t, detfake.Options{})
	target, _ := url.Parse(m.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/models/churn" && first {
			first = false
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":5,"reason":"NotFound","error":"model \"churn\" not found"}}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	c := userClient(t, srv.URL, nil)
	if _, err := c.CreateModel(ctx, experiment.CreateModelRequest{Name: "churn",
		Description: "the winner"}); err != nil {
		t.Fatal(err)
	}
	md, err := c.EnsureModel(ctx, experiment.CreateModelRequest{Name: "churn"})
	if err != nil || md.Description != "the winner" {
		t.Errorf("EnsureModel after a lost race = %+v, %v", md, err)
	}
	if n := m.Count("POST", "/api/v1/models"); n != 2 {
		t.Errorf("POST /api/v1/models sent %d times, want 2 (one 409)", n)
	}
}

// TestRetryTransient ensures idempotent calls retry 503 bursts with a
// growing, jittered backoff, give up after the policy's attempts, and
// that creations are never repeated.
func TestRetryTransient(t *testing.T) {
	m := detfake.New(t, detfake.Options{})
	var s sleeps
	c := userClient(t, m.URL(), &s)
	ctx := context.Background()
	m.Fail("GET", "/api/v1/models/", 503, 3)
	if _, err := c.GetModel(ctx, "x"); !errors.Is(err, experiment.ErrNotFound) {
		t.Fatalf("GetModel after 3 outages: %v, want the 404 behind them", err)
	}
	d := s.all()
	if len(d) != 3 {
		t.Fatalf("slept %v, want 3 waits", d)
	}
	for i, w := range d {
		ceil := 500 * time.Millisecond << i
		if w < ceil/2 || w > ceil {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, ceil/2, ceil)
		}
	}
	m.Fail("GET", "/api/v1/models/", 504, 10)
	_, err := c.GetModel(ctx, "x")
	if !errors.Is(err, experiment.ErrUnavailable) || len(s.all()) != 3+5 {
		t.Errorf("GetModel during a long outage: %v after %d waits", err, len(s.all()))
	}
	m.Fail("POST", "/api/v1/experiments", 502, 1)
	_, err = c.CreateExperiment(ctx, experiment.CreateExperimentRequest{Config: "name: x"})
	var ae *experiment.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || m.Count("POST", "/api/v1/experiments") != 1 {
		t.Errorf("CreateExperiment on 502: %v, sent %d times", err, m.Count("POST", "/api/v1/experiments"))
	}
}

// TestUnreachableMaster ensures a master nobody answers for gives a clear
// error naming it, after the retries.
func TestUnreachableMaster(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	var s sleeps
	c, err := experiment.NewClient(addr, experiment.Credentials{}, &experiment.Options{Sleep: s.sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.MasterInfo(context.Background())
	if !errors.Is(err, experiment.ErrUnreachable) || !strings.Contains(err.Error(), addr) ||
		!strings.Contains(err.Error(), "GET /api/v1/master") {
		t.Errorf("MasterInfo of a closed master: %v", err)
	}
	if len(s.all()) != 5 {
		t.Errorf("retried %d times, want 5", len(s.all()))
	}
}

// TestCanonicalMaster ensures addresses are read as the SDK reads them.
func TestCanonicalMaster(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5":              "http://10.0.0.5:8080",
		"master:9000":           "http://master:9000",
		"http://master/":        "http://master",
		"https://det.example/x": "https://det.example/x",
	} {
		u, err := experiment.CanonicalMaster(in)
		if err != nil || u.String() != want {
			t.Errorf("CanonicalMaster(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://"} {
		if _, err := experiment.CanonicalMaster(bad); err == nil {
			t.Errorf("CanonicalMaster(%q) succeeded", bad)
		}
	}
}

// TestSecretRedacted ensures a secret shows in no format, log or JSON.
func TestSecretRedacted(t *testing.T) {
	s := experiment.NewSecret("tok-12345")
	env := experiment.TrialEnv{SessionToken: s, UserToken: s}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", s, "env", env)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", s)
	j, _ := json.Marshal(env)
	out := fmt.Sprintf("%v %s %+v %#v %q", s, s, env, env, s) + buf.String() + string(j)
	if strings.Contains(out, "12345") || !strings.Contains(out, "[REDACTED]") {
		t.Errorf("secret leaked or not marked: %s", out)
	}
	if s.Reveal() != "tok-12345" {
		t.Error("Reveal lost the value")
	}
}

// TestInt64JSON ensures int64 fields read strings and numbers and write
// strings.
func TestInt64JSON(t *testing.T) {
	var v struct{ A, B experiment.Int64 }
	if err := json.Unmarshal([]byte(`{"A":"46893","B":12}`), &v); err != nil || v.A != 46893 || v.B != 12 {
		t.Fatalf("Unmarshal = %+v, %v", v, err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"A":"46893","B":"12"}` {
		t.Errorf("Marshal = %s", b)
	}
	if err := json.Unmarshal([]byte(`{"A":"1x"}`), &v); err == nil {
		t.Error(`Unmarshal("1x") succeeded`)
	}
}

// TestVersionProtocol ensures the protocol follows the master version.
func TestVersionProtocol(t *testing.T) {
	for _, tc := range []struct {
		v                              string
		ops, generic, runs, progObject bool
	}{
		{"0.22.2", true, false, false, false},
		{"0.29.0", true, true, true, false},
		{"0.37.0", true, true, true, true},
		{"0.38.1", false, true, true, true},
		{"1.0.0-dev0", false, true, true, true},
	} {
		v, err := experiment.ParseVersion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		p := experiment.ProtocolFor(v)
		if p.SearcherOps != tc.ops || p.GenericMetrics != tc.generic || p.RunsStart != tc.runs ||
			p.ProgressObject != tc.progObject {
			t.Errorf("ProtocolFor(%s) = %+v", tc.v, p)
		}
	}
	if _, err := experiment.ParseVersion("latest"); err == nil {
		t.Error(`ParseVersion("latest") succeeded`)
	}
}

// TestWaitExperiment ensures waiting ends on terminal states and on pause.
func TestWaitExperiment(t *testing.T) {
	m := detfake.New(t, detfake.Options{})
	var s sleeps
	c := userClient(t, m.URL(), &s)
	ctx := context.Background()
	resp, err := c.CreateExperiment(ctx, experiment.CreateExperimentRequest{
		Config:   "name: w\nentrypoint: ./churn trial\nsearcher: {name: single, metric: val_acc}\n",
		Activate: true})
	if err != nil || resp.Experiment.State != "STATE_QUEUED" {
		t.Fatalf("CreateExperiment = %+v, %v", resp, err)
	}
	id := resp.Experiment.ID
	if err := c.KillExperiment(ctx, id); err != nil {
		t.Fatal(err)
	}
	state, err := c.WaitExperiment(ctx, id, experiment.WaitOptions{})
	if err != nil || state != "STATE_CANCELED" {
		t.Errorf("WaitExperiment(killed) = %s, %v", state, err)
	}
	m.SetExperimentState(id, "STATE_PAUSED")
	if _, err := c.WaitExperiment(ctx, id, experiment.WaitOptions{}); !errors.Is(err, experiment.ErrPaused) {
		t.Errorf("WaitExperiment(paused): %v", err)
	}
	_, err = c.CreateExperiment(ctx, experiment.CreateExperimentRequest{Config: "name: [x"})
	if !errors.Is(err, experiment.ErrInvalidArgument) {
		t.Errorf("CreateExperiment(bad YAML): %v", err)
	}
}
