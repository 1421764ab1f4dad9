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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
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
	a := call(s, "POST", "/v2/models/churn/infer", body)
	if a.code != 200 {
		t.Fatalf("status %d: %s", a.code, a.body)
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
	if a.body != wantBody {
		t.Errorf("answer\n%s\nwant\n%s", a.body, wantBody)
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
	started     chan struct{} // closed once first is sent
	release     chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.first) > 0 {
		n := copy(p, b.first)
		if b.first = b.first[n:]; len(b.first) == 0 {
			close(b.started)
		}
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

// sendSlow starts a predict request whose body stalls before its last
// byte and returns its body (to release it) and a channel with its status.
// A body over 8 KB reaches the handler before it is whole: the server
// reads only that much of a body before admitting its request.
func sendSlow(t *testing.T, url string, body []byte) (*slowBody, chan int) {
	if len(body) <= 8<<10 {
		t.Fatalf("a slow body of %d bytes is read whole before the handler runs", len(body))
	}
	cut := len(body) - 1
	sb := &slowBody{first: body[:cut], rest: body[cut:], started: make(chan struct{}),
		release: make(chan struct{})}
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
	body, _ := V1Body(f.header, f.valRows[:10], "")
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
	body, _ := V1Body(f.header, f.valRows[:10], "")
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
	var ctx fasthttp.RequestCtx
	ctx.Init(new(fasthttp.Request), nil, nil)
	ctx.Request.SetRequestURI("/boom")
	s.observe(&ctx, func(ctx *fasthttp.RequestCtx) error {
		ctx.Response.Header.Set("X-Half", "written")
		panic("secret detail")
	})
	body, half := string(ctx.Response.Body()), ctx.Response.Header.Peek("X-Half")
	if c := ctx.Response.StatusCode(); c != 500 || body != `{"error":"internal server error"}` ||
		half != nil {
		t.Errorf("panic answered %d %s (X-Half %q)", c, body, half)
	}
	if !strings.Contains(logs.String(), "handler panic") || !strings.Contains(logs.String(), "server_test.go") {
		t.Errorf("log lacks the panic and its stack: %s", logs.String())
	}
	if strings.Contains(body, "secret") {
		t.Errorf("the answer quotes the panic: %s", body)
	}
	if a := call(s, "GET", "/", ""); a.code != 200 {
		t.Errorf("after a panic: %d", a.code)
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
		call(s, "POST", "/v1/models/churn:predict", b)
	}
	text := call(s, "GET", "/metrics", "").body
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
	call(s, "BREW", "/", "")
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

// Ensures the fasthttp server Run uses has every timeout and the limits
// set, from Config or from the defaults, so no client can hold a
// connection or a worker without bound, and streams bodies to the
// handlers (which admit a request before reading its body).
func TestHTTPServerLimits(t *testing.T) {
	s := newServer(t, Config{})
	srv := s.httpServer()
	if srv.ReadTimeout != DefaultReadTimeout || srv.WriteTimeout != DefaultWriteTimeout ||
		srv.IdleTimeout != DefaultIdleTimeout {
		t.Errorf("timeouts %v %v %v, want the defaults", srv.ReadTimeout, srv.WriteTimeout,
			srv.IdleTimeout)
	}
	if srv.ReadBufferSize != readBufferBytes || srv.MaxRequestBodySize != DefaultMaxBodyBytes ||
		!srv.StreamRequestBody || srv.ErrorHandler == nil || srv.Logger == nil ||
		srv.Handler == nil {
		t.Errorf("ReadBufferSize %d, MaxRequestBodySize %d, StreamRequestBody %v, "+
			"ErrorHandler %v, Logger %v, Handler %v", srv.ReadBufferSize, srv.MaxRequestBodySize,
			srv.StreamRequestBody, srv.ErrorHandler != nil, srv.Logger, srv.Handler != nil)
	}
	s = newServer(t, Config{ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
		IdleTimeout: 4 * time.Second, MaxBodyBytes: 1000})
	srv = s.httpServer()
	if srv.ReadTimeout != 2*time.Second || srv.WriteTimeout != 3*time.Second ||
		srv.IdleTimeout != 4*time.Second || srv.MaxRequestBodySize != 1000 {
		t.Errorf("timeouts %v %v %v, body limit %d; want 2s 3s 4s, 1000", srv.ReadTimeout,
			srv.WriteTimeout, srv.IdleTimeout, srv.MaxRequestBodySize)
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
