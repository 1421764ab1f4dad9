package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Ensures the health, readiness and metadata routes answer as KServe's,
// and that a server without a model is live but not ready until SetModel.
func TestHealthAndReadiness(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Version: "1.2.3"})
	url := startServer(t, s)
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/", 200, `{"status":"alive"}`},
		{"/v2/health/live", 200, `{"live":true}`},
		{"/v2/health/ready", 503, `{"error":"Model with name churn is not ready."}`},
		{"/v1/models/churn", 503, `{"error":"Model with name churn is not ready."}`},
		{"/v2/models/churn/ready", 503, `{"error":"Model with name churn is not ready."}`},
		{"/v1/models", 200, `{"models":["churn"]}`},
		{"/v2", 200, `{"extensions":[],"name":"churn","version":"1.2.3"}`},
	} {
		if code, body := get(t, url+tc.path); code != tc.code || body != tc.body {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, code, body, tc.code, tc.body)
		}
	}
	if code, _ := post(t, url+"/v1/models/churn:predict", "{}"); code != 503 {
		t.Errorf("predict before the model: %d, want 503", code)
	}
	s.SetModel(f.model)
	for _, tc := range []struct{ path, body string }{
		{"/v2/health/ready", `{"ready":true}`},
		{"/v1/models/churn", `{"name":"churn","ready":true}`},
		{"/v2/models/churn/ready", `{"name":"churn","ready":true}`},
	} {
		if code, body := get(t, url+tc.path); code != 200 || body != tc.body {
			t.Errorf("GET %s = %d %s, want 200 %s", tc.path, code, body, tc.body)
		}
	}
	_, body := get(t, url+"/v2/models/churn")
	var md ModelMetadata
	if err := json.Unmarshal([]byte(body), &md); err != nil {
		t.Fatal(err)
	}
	if len(md.Inputs) != len(f.spec.Numeric)+len(f.spec.Categorical) {
		t.Fatalf("metadata has %d inputs", len(md.Inputs))
	}
	if in := md.Inputs[0]; in.Name != f.spec.Numeric[0].Name || in.Datatype != "FP64" {
		t.Errorf("first input %+v, want %s FP64", in, f.spec.Numeric[0].Name)
	}
	if in := md.Inputs[len(md.Inputs)-1]; in.Datatype != "BYTES" {
		t.Errorf("last input %+v, want BYTES", in)
	}
	if len(md.Outputs) != 2 || md.Outputs[0].Datatype != "FP32" || md.Outputs[1].Datatype != "INT64" {
		t.Errorf("outputs %+v", md.Outputs)
	}
	if md.Parameters["label"] != "churn" {
		t.Errorf("parameters %v lack the label", md.Parameters)
	}
}

// Ensures the V2 preprocessed input gives the forward pass's answer and
// that labels follow the threshold and "outputs" selects tensors.
func TestV2Preprocessed(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	recs := f.valRows[:3]
	want := reference(t, f, f.header, recs)
	tab := preprocessRef(t, f, recs)
	var data []string
	for _, v := range tab {
		data = append(data, fmt.Sprint(v))
	}
	body := fmt.Sprintf(`{"id":"p","outputs":[{"name":"label"}],"inputs":[{"name":"input-0","datatype":"FP32",`+
		`"shape":[3,%d],"data":[%s]}]}`, len(tab)/3, strings.Join(data, ","))
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/v2/models/churn/infer", strings.NewReader(body)))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	labels := ""
	for _, p := range want {
		if labels != "" {
			labels += ","
		}
		if p >= 0.5 {
			labels += "1"
		} else {
			labels += "0"
		}
	}
	wantBody := `{"model_name":"churn","id":"p","outputs":[{"name":"label","datatype":"INT64","shape":[3],"data":[` +
		labels + `]}]}`
	if w.Body.String() != wantBody {
		t.Errorf("answer\n%s\nwant\n%s", w.Body, wantBody)
	}
}

// Ensures many concurrent requests of every kind get the same answers as
// one at a time (run with -race).
func TestConcurrentRequests(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	url := startServer(t, s)
	c := &Client{BaseURL: url, Model: "churn"}
	md, err := c.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		v1   bool
		body []byte
		want []float32
	}
	var jobs []job
	for i := 0; i < 8; i++ {
		recs := f.valRows[i*7 : i*7+1+i]
		v1, _ := V1Body(f.header, recs, OutputProbabilities)
		v2, _ := V2Body(md, fmt.Sprint(i), f.header, recs)
		want := reference(t, f, f.header, recs)
		jobs = append(jobs, job{true, v1, want}, job{false, v2, want})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 32; g++ {
		wg.Go(func() {
			for k := 0; k < 10; k++ {
				j := jobs[(g+k)%len(jobs)]
				if err := checkJob(c, j.v1, j.body, j.want); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func checkJob(c *Client, v1 bool, body []byte, want []float32) error {
	var got []string
	if v1 {
		r, err := c.Predict(context.Background(), body, false)
		if err != nil {
			return err
		}
		for _, p := range r.Predictions {
			got = append(got, fmt.Sprint(float32(p[0])))
		}
	} else {
		r, err := c.Infer(context.Background(), body)
		if err != nil {
			return err
		}
		o, _ := r.Output(OutputProbability)
		for _, p := range o.Data {
			v, _ := p.Float64()
			got = append(got, fmt.Sprint(float32(v)))
		}
	}
	if w := fmt.Sprint(want); fmt.Sprint(got) != w {
		return fmt.Errorf("v1 %v: got %v, want %v", v1, got, w)
	}
	return nil
}

// slowBody is a request body that sends its first part, then waits for
// release before sending the rest.
type slowBody struct {
	first, rest []byte
	started     chan struct{}
	release     chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.first != nil {
		n := copy(p, b.first)
		b.first = nil
		close(b.started)
		return n, nil
	}
	<-b.release
	if len(b.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// sendSlow starts a predict request whose body stalls after its first byte
// and returns its body (to release it) and a channel with its status.
func sendSlow(t *testing.T, url string, body []byte) (*slowBody, chan int) {
	sb := &slowBody{first: body[:1], rest: body[1:], started: make(chan struct{}), release: make(chan struct{})}
	codes := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/v1/models/churn:predict", sb)
		req.ContentLength = int64(len(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("slow request: %v", err)
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	<-sb.started
	return sb, codes
}

// Ensures requests beyond MaxInFlight are shed with 503 while health
// routes still answer, and that the slot frees once the request ends.
func TestLoadShedding(t *testing.T) {
	f := trained(t)
	reg := prometheus.NewRegistry()
	s := newServer(t, Config{Model: f.model, MaxInFlight: 1, Registry: reg})
	url := startServer(t, s)
	body, _ := V1Body(f.header, f.valRows[:2], "")
	slow, codes := sendSlow(t, url, body)
	waitInFlight(t, s)
	code, _, msg := do(t, "POST", url+"/v1/models/churn:predict", string(body))
	if code != 503 || !strings.Contains(msg, "overloaded") {
		t.Errorf("second request: %d %q, want 503 overloaded", code, msg)
	}
	if code, _ := get(t, url+"/v2/health/live"); code != 200 {
		t.Errorf("liveness under load: %d", code)
	}
	close(slow.release)
	if c := <-codes; c != 200 {
		t.Errorf("slow request: %d", c)
	}
	if code, _ := post(t, url+"/v1/models/churn:predict", string(body)); code != 200 {
		t.Errorf("after the slow request: %d", code)
	}
	if n := value(s.metrics.shed); n != 1 {
		t.Errorf("shed counter %v, want 1", n)
	}
}

// Ensures cancelling Run's context lets an in-flight request finish and
// then returns nil, refusing new connections.
func TestGracefulShutdown(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	body, _ := V1Body(f.header, f.valRows[:2], "")
	slow, codes := sendSlow(t, url, body)
	waitInFlight(t, s)
	cancel()
	time.Sleep(50 * time.Millisecond) // let Shutdown close the listener
	select {
	case err := <-done:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}
	close(slow.release)
	if c := <-codes; c != 200 {
		t.Errorf("in-flight request: %d, want 200", c)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Error("server still accepts connections after shutdown")
	}
}

// Ensures a panicking handler answers a generic 500, logs the stack, and
// the server keeps serving.
func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	s := newServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w := httptest.NewRecorder()
	s.observe(w, httptest.NewRequest("GET", "/boom", nil), func(http.ResponseWriter, *http.Request) error {
		panic("secret detail")
	})
	if w.Code != 500 || w.Body.String() != `{"error":"internal server error"}` {
		t.Errorf("panic answered %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "handler panic") || !strings.Contains(logs.String(), "server_test.go") {
		t.Errorf("log lacks the panic and its stack: %s", logs.String())
	}
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 200 {
		t.Errorf("after a panic: %d", w.Code)
	}
}

// Ensures the KServe histograms and the request counter are exported on
// /metrics from the injected registry.
func TestMetrics(t *testing.T) {
	f := trained(t)
	reg := prometheus.NewRegistry()
	s := newServer(t, Config{Model: f.model, Registry: reg})
	body, _ := V1Body(f.header, f.valRows[:2], "")
	for _, b := range []string{string(body), string(body), "{"} {
		s.Handler().ServeHTTP(httptest.NewRecorder(),
			httptest.NewRequest("POST", "/v1/models/churn:predict", strings.NewReader(b)))
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	text := w.Body.String()
	for _, want := range []string{
		`request_preprocess_seconds_count{model_name="churn"} 2`,
		`request_predict_seconds_count{model_name="churn"} 2`,
		`request_postprocess_seconds_count{model_name="churn"} 2`,
		`request_predict_seconds_bucket{model_name="churn",le="0.075"} 2`,
		`http_requests_total{code="200",method="POST"} 2`,
		`http_requests_total{code="400",method="POST"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/", nil))
	if n := value(s.metrics.requests.WithLabelValues("405", "OTHER")); n != 1 {
		t.Errorf("BREW counted %v times as OTHER", n)
	}
}

// value reads a counter's or gauge's current value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// waitInFlight waits until s serves one inference request.
func waitInFlight(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for value(s.metrics.inFlight) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never reached the handler")
		}
		time.Sleep(time.Millisecond)
	}
}

// Ensures the net/http server Run uses has every timeout and the header
// limit set, from Config or from the defaults, so no client can hold a
// connection or a goroutine without bound.
func TestHTTPServerTimeouts(t *testing.T) {
	s := newServer(t, Config{})
	srv := s.httpServer()
	for name, got := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	if srv.ReadHeaderTimeout != DefaultReadHeaderTimeout || srv.ReadTimeout != DefaultReadTimeout ||
		srv.WriteTimeout != DefaultWriteTimeout || srv.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("timeouts %v %v %v %v, want the defaults", srv.ReadHeaderTimeout,
			srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if srv.MaxHeaderBytes != maxHeaderBytes || srv.ErrorLog == nil || srv.Handler == nil {
		t.Errorf("MaxHeaderBytes %d, ErrorLog %v, Handler %v", srv.MaxHeaderBytes, srv.ErrorLog,
			srv.Handler)
	}
	s = newServer(t, Config{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second})
	srv = s.httpServer()
	if srv.ReadHeaderTimeout != time.Second || srv.ReadTimeout != 2*time.Second ||
		srv.WriteTimeout != 3*time.Second || srv.IdleTimeout != 4*time.Second {
		t.Errorf("timeouts %v %v %v %v, want 1s 2s 3s 4s", srv.ReadHeaderTimeout,
			srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}

// Ensures a request of more rows than MaxRows gets 413 on every route and
// body shape, and one of exactly MaxRows is served.
func TestMaxRows(t *testing.T) {
	f := trained(t)
	const max = 5
	url := startServer(t, newServer(t, Config{Model: f.model, MaxRows: max}))
	v1 := url + "/v1/models/churn:predict"
	rowsBody := func(n int) string {
		b, err := V1Body(f.header, f.valRows[:n], "")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	v2Body := func(n int) string {
		md := f.model.metadata("churn")
		b, err := V2Body(&md, "m", f.header, f.valRows[:n])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	w := f.model.spec.Width()
	pre := func(n int) string {
		zeros := strings.TrimSuffix(strings.Repeat("0,", n*w), ",")
		return fmt.Sprintf(`{"inputs":[{"name":"input-0","datatype":"FP32","shape":[%d,%d],`+
			`"data":[%s]}]}`, n, w, zeros)
	}
	for _, tc := range []struct {
		name, url string
		body      func(int) string
	}{
		{"v1 table", v1, func(n int) string {
			return columnsBody(f.header, f.valRows[:n], "instances", nil)
		}},
		{"v1 rows", v1, rowsBody},
		{"v1 empty rows", v1, func(n int) string {
			return `{"instances":[` + strings.Repeat("{},", n-1) + rowsBody(1)[14:]
		}},
		{"v2 columns", url + "/v2/models/churn/infer", v2Body},
		{"v2 preprocessed", url + "/v2/models/churn/infer", pre},
	} {
		if code, ans := post(t, tc.url, tc.body(max)); code != 200 {
			t.Errorf("%s, %d rows: status %d: %s", tc.name, max, code, ans)
		}
		code, ans := post(t, tc.url, tc.body(max+1))
		if code != 413 || !strings.Contains(string(ans), "more than 5 rows") {
			t.Errorf("%s, %d rows: status %d: %s; want 413 naming the limit",
				tc.name, max+1, code, ans)
		}
	}
}
