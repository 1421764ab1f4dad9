// Package detfake is a fake Determined master (0.38.1 by default, or an
// older version's protocol) on loopback for tests. It checks every
// request against the documented protocol (method, path, credentials,
// JSON field names and types, int64 fields as strings, enum names) and
// fails the test on anything unexpected, and it answers with bodies shaped
// like those a real 0.38.1 master returned. It keeps experiments, trials,
// metrics, checkpoints and the model registry in memory, and can run
// managed trials through a Launch function, with preemption and restarts.
//
// A test that wants real trials gives Launch a function that runs the
// churn trial in process with the environment it receives, for example
// experiment.ReadTrialEnv over the map and then experiment.RunTrial with
// StorageOptions.SharedFSRoot set to the config's shared_fs host_path (a
// temporary directory). Checkpoint downloads (GET /checkpoints/{uuid})
// read shared_fs and directory storage from this host; S3 is not served.
package detfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Password of the built-in users admin and determined.
const Password = "Churn-Test-Pass1"

// Options configure a fake master.
type Options struct {
	// Version is the master version to speak; "" means "0.38.1".
	Version string
	// Launch runs one allocation of a managed trial with the environment a
	// real master gives a trial container and returns its exit code. Nil
	// means trials of managed experiments stay QUEUED until the test
	// drives them with StartAllocation and EndAllocation.
	Launch func(ctx context.Context, env map[string]string) int
	// Password is the built-in users' password; "" means Password.
	Password string
	// TokenSalt ends every token the fake hands out (session and
	// allocation tokens), so that a test can look for them in its output.
	TokenSalt string
}

// Request is a recorded request.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// fault makes the next n matching requests fail with status; with after
// set the request is handled first and only its answer is replaced (an
// answer lost between the master and the client).
type fault struct {
	method, prefix string
	status, n      int
	after          bool
}

// Master is the fake master.
type Master struct {
	t     testing.TB
	srvMu sync.Mutex // guards srv and restarts
	srv   *httptest.Server
	// restarts counts Restart calls.
	restarts int
	version  string
	major    int
	minor    int
	launch   func(ctx context.Context, env map[string]string) int
	pass     string
	salt     string
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu          sync.Mutex // guards everything below
	requests    []Request
	faults      []*fault
	userTokens  map[string]string // token -> username
	experiments map[int]*experiment
	trials      map[int]*trialState
	checkpoints map[string]*checkpointRec
	cpOrder     []string
	metrics     []Metric
	models      map[string]*model
	nextID      map[string]int
	onMetric    func(Metric)
}

// New starts a fake master; it is closed when the test ends.
func New(t testing.TB, opts Options) *Master {
	t.Helper()
	if opts.Version == "" {
		opts.Version = "0.38.1"
	}
	var major, minor int
	if _, err := fmt.Sscanf(opts.Version, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("detfake: version %q: %v", opts.Version, err)
	}
	if opts.Password == "" {
		opts.Password = Password
	}
	m := &Master{t: t, version: opts.Version, major: major, minor: minor, launch: opts.Launch,
		pass: opts.Password, salt: opts.TokenSalt,
		userTokens: map[string]string{}, experiments: map[int]*experiment{},
		trials: map[int]*trialState{}, checkpoints: map[string]*checkpointRec{},
		models: map[string]*model{}, nextID: map[string]int{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

// URL is the master's address; it stays the same across restarts.
func (m *Master) URL() string { return m.server().URL }

// Close stops running trials and the server.
func (m *Master) Close() {
	m.cancel()
	m.wg.Wait()
	m.server().Close()
}

func (m *Master) server() *httptest.Server {
	m.srvMu.Lock()
	defer m.srvMu.Unlock()
	return m.srv
}

// Restart stops answering for down, as a master restart does: its
// listener and every open connection (long polls included) are closed,
// then it listens again on the same address with the same state. It
// blocks until the master is back; call it from the test, not from an
// OnMetric hook (which runs inside a request).
func (m *Master) Restart(down time.Duration) {
	m.t.Helper()
	srv := m.server()
	addr := srv.Listener.Addr().String()
	stop(srv)
	time.Sleep(down)
	var l net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		m.t.Errorf("detfake: restart on %s: %v", addr, err)
		return
	}
	next := httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	next.Listener.Close()
	next.Listener = l
	next.Start()
	m.srvMu.Lock()
	m.srv = next
	m.restarts++
	m.srvMu.Unlock()
}

// stop closes srv's listener and every connection, as a crashing master
// does. Close alone would wait for active requests, and a long poll that
// came in just before it would hold it for the poll's whole timeout, so
// connections are dropped again until Close has returned: each dropped
// request's context ends, and its handler with it.
func stop(srv *httptest.Server) {
	srv.Listener.Close()
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	for {
		srv.CloseClientConnections()
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// atLeast reports whether the fake's version is >= major.minor.
func (m *Master) atLeast(major, minor int) bool {
	return m.major > major || (m.major == major && m.minor >= minor)
}

// UserToken logs admin in (without a request) and returns a user token.
func (m *Master) UserToken() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.newUserToken("admin")
}

func (m *Master) newUserToken(user string) string {
	tok := fmt.Sprintf("v2.public.user-%s-%d%s", user, m.id("token"), m.salt)
	m.userTokens[tok] = user
	return tok
}

// AddUserToken makes tok a valid session token of user (a token made
// elsewhere, as DET_USER_TOKEN may hold).
func (m *Master) AddUserToken(user, tok string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.userTokens[tok] = user
}

// id returns the next id of a sequence.
func (m *Master) id(seq string) int {
	m.nextID[seq]++
	return m.nextID[seq]
}

// Requests returns the requests received so far.
func (m *Master) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.requests...)
}

// Count returns how many requests had this method and path.
func (m *Master) Count(method, path string) int {
	n := 0
	for _, r := range m.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// Fail makes the next n requests with method and a path starting with
// prefix fail with status (502, 503 or 504 for a burst of outages) before
// they are looked at.
func (m *Master) Fail(method, prefix string, status, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = append(m.faults, &fault{method: method, prefix: prefix, status: status, n: n})
}

// FailAfter is Fail for answers lost on the way back (a proxy's 504 after
// the master did the work): the next n matching requests are handled and
// stored, then answered with status instead of the master's answer.
func (m *Master) FailAfter(method, prefix string, status, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults = append(m.faults, &fault{method: method, prefix: prefix, status: status, n: n,
		after: true})
}

// OnMetric registers f to be called (without locks held) for every metrics
// report the master accepts.
func (m *Master) OnMetric(f func(Metric)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onMetric = f
}

// violation fails the test: the request does not follow the protocol.
func (m *Master) violation(r *http.Request, format string, args ...any) {
	m.t.Errorf("detfake: %s %s: protocol violation: %s", r.Method, r.URL.Path,
		fmt.Sprintf(format, args...))
}

// serve records, injects faults, authenticates, validates and routes.
func (m *Master) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.requests = append(m.requests, Request{Method: r.Method, Path: r.URL.Path,
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	status, after := m.takeFault(r)
	m.mu.Unlock()
	if status != 0 && !after {
		writeError(w, status, 14, "Unavailable", "injected outage")
		return
	}
	if after {
		defer writeError(w, status, 14, "Unavailable", "injected lost answer")
		w = httptest.NewRecorder() // the master's own answer is lost
	}
	rt, params := m.route(r)
	if rt == nil {
		m.violation(r, "no such route in the %s protocol", m.version)
		writeError(w, http.StatusNotFound, 5, "NotFound", "Not Found")
		return
	}
	c := &call{m: m, w: w, r: r, body: body, params: params}
	if !m.authenticate(c, rt.auth) {
		return
	}
	if rt.schema != nil && !c.decode(rt.schema) {
		return
	}
	rt.handle(c)
}

func (m *Master) takeFault(r *http.Request) (status int, after bool) {
	for _, f := range m.faults {
		if f.n > 0 && f.method == r.Method && strings.HasPrefix(r.URL.Path, f.prefix) {
			f.n--
			return f.status, f.after
		}
	}
	return 0, false
}

// authKind is what a route accepts.
type authKind int

const (
	authNone authKind = iota // no credentials needed
	authAny                  // user token or allocation token
	authUser                 // user token only (root echo routes)
)

// authenticate checks the credentials of c for a route.
func (m *Master) authenticate(c *call, kind authKind) bool {
	if kind == authNone {
		return true
	}
	user, alloc := c.r.Header.Get("Authorization"), c.r.Header.Get("Grpc-Metadata-x-allocation-token")
	m.mu.Lock()
	defer m.mu.Unlock()
	if tok, ok := strings.CutPrefix(user, "Bearer "); ok && m.userTokens[tok] != "" {
		c.user = m.userTokens[tok]
		return true
	}
	if tok, ok := strings.CutPrefix(alloc, "Bearer "); ok && kind == authAny {
		for _, t := range m.trials {
			if t.allocToken != "" && t.allocToken == tok {
				c.allocTrial = t
				return true
			}
		}
	}
	if user != "" && !strings.HasPrefix(user, "Bearer ") {
		m.violation(c.r, "Authorization header without the Bearer scheme")
	}
	if alloc != "" && !strings.HasPrefix(alloc, "Bearer ") {
		m.violation(c.r, "allocation token header without the Bearer scheme")
	}
	if kind == authUser && !c.isAPI() {
		c.w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	msg := "token missing"
	if user != "" || alloc != "" {
		msg = "invalid credentials"
	}
	writeError(c.w, http.StatusUnauthorized, 16, "Unauthenticated", msg)
	return false
}

// call is one request being handled.
type call struct {
	m          *Master
	w          http.ResponseWriter
	r          *http.Request
	body       []byte
	params     map[string]string
	obj        map[string]any
	user       string
	allocTrial *trialState
}

func (c *call) isAPI() bool { return strings.HasPrefix(c.r.URL.Path, "/api/") }

// decode parses the JSON body into c.obj and checks it against s.
func (c *call) decode(s schema) bool {
	if len(bytes.TrimSpace(c.body)) == 0 {
		c.obj = map[string]any{}
	} else if err := json.Unmarshal(c.body, &c.obj); err != nil || c.obj == nil {
		c.m.violation(c.r, "body is not a JSON object: %q", truncate(c.body))
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", "bad body")
		return false
	}
	if ct := c.r.Header.Get("Content-Type"); len(c.body) > 0 &&
		!strings.HasPrefix(ct, "application/json") {
		c.m.violation(c.r, "Content-Type %q, want application/json", ct)
	}
	if problems := s.check(c.obj, ""); len(problems) > 0 {
		c.m.violation(c.r, "body %s: %s", truncate(c.body), strings.Join(problems, "; "))
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", strings.Join(problems, "; "))
		return false
	}
	return true
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// writeJSON answers 200 with v.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the gateway's error body.
func writeError(w http.ResponseWriter, status, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "reason": reason, "error": msg}})
}

// writeMessage answers with the echo routes' error body.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": msg})
}

// Restarts returns how many times Restart ran.
func (m *Master) Restarts() int {
	m.srvMu.Lock()
	defer m.srvMu.Unlock()
	return m.restarts
}
