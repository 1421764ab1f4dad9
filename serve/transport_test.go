package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection to the server at url and
// returns the answer it reads back.
func rawExchange(t *testing.T, url, req string) *http.Response {
	t.Helper()
	c := dialRaw(t, url)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.60q: %v", req, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// errorOf reads a {"error": ...} answer.
func errorOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("status %d, body %q is not {\"error\": ...}", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return e.Error
}

// Ensures requests the HTTP layer cannot read get a JSON error with their
// status, that the answer never quotes the request (whose headers may hold
// credentials), and that the server goes on serving.
func TestUnreadableRequests(t *testing.T) {
	f := trained(t)
	url := startServer(t, newServer(t, Config{Model: f.model, MaxBodyBytes: 64 << 10}))
	const secret = "Bearer s3cr3t-t0ken"
	for _, tc := range []struct {
		name, req string
		code      int
		msg       string
	}{
		{"header over the buffer", "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: " + secret +
			"\r\nX-Pad: " + strings.Repeat("a", readBufferBytes) + "\r\n\r\n",
			431, fmt.Sprintf("request line and headers over %d bytes", readBufferBytes)},
		{"bad request line", "GET\x00 / HTTP/1.1\r\nHost: x\r\nAuthorization: " + secret +
			"\r\n\r\n", 400, "malformed HTTP request"},
		{"bad content length", "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n" +
			"Authorization: " + secret + "\r\nContent-Length: ten\r\n\r\n", 400,
			"malformed HTTP request"},
		{"broken chunks", "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n" +
			"Authorization: " + secret + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
			400, "reading request body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawExchange(t, url, tc.req)
			msg := errorOf(t, resp)
			if resp.StatusCode != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("status %d %q, want %d %q", resp.StatusCode, msg, tc.code, tc.msg)
			}
			if strings.Contains(msg, "s3cr3t") {
				t.Errorf("the answer quotes the request: %q", msg)
			}
		})
	}
	if code, _ := get(t, url+"/v2/health/live"); code != 200 {
		t.Errorf("after unreadable requests: %d", code)
	}
}

// Ensures a chunked body (no Content-Length) is read and served, and one
// over the limit is refused with 413 once the limit is passed.
func TestChunkedBodies(t *testing.T) {
	f := trained(t)
	const limit = 64 << 10
	url := startServer(t, newServer(t, Config{Model: f.model, MaxBodyBytes: limit}))
	chunked := func(body string) string {
		var b strings.Builder
		b.WriteString("POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n" +
			"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 {
			n := min(len(body), 1000)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	recs := f.valRows[:3]
	body, _ := V1Body(f.header, recs, OutputProbabilities)
	resp := rawExchange(t, url, chunked(string(body)))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("chunked predict: status %d: %s", resp.StatusCode, b)
	}
	want := reference(t, f, f.header, recs)
	if got := parseProbs(t, b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chunked predict: %v, want %v", got, want)
	}
	big := `{"instances":[` + strings.Repeat(" ", limit) + `]}`
	resp = rawExchange(t, url, chunked(big))
	if msg := errorOf(t, resp); resp.StatusCode != 413 ||
		!strings.Contains(msg, fmt.Sprintf("over the limit of %d bytes", limit)) {
		t.Errorf("chunked body over the limit: %d %q", resp.StatusCode, msg)
	}
}

// Ensures a client whose large body the server answers without reading
// (wrong model, wrong Content-Type, over the limit) reads the answer
// rather than a reset connection, and that an error answered after
// reading a small body keeps the connection for the next request.
func TestAnswersBeforeTheBody(t *testing.T) {
	f := trained(t)
	const limit = 1 << 20
	url := startServer(t, newServer(t, Config{Model: f.model, MaxBodyBytes: limit}))
	big := `{"instances":[` + strings.Repeat(" ", limit-100) + `]}`
	for _, tc := range []struct {
		name, path, ctype, body string
		code                    int
		msg                     string
	}{
		{"unknown model", "/v1/models/other:predict", "application/json", big, 404,
			"does not exist"},
		{"not JSON", "/v1/models/churn:predict", "text/csv", big, 415, "must be JSON"},
		{"over the limit", "/v2/models/churn/infer", "application/json", big + big, 413,
			"over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 {
				resp, err := http.Post(url+tc.path, tc.ctype, strings.NewReader(tc.body))
				if err != nil {
					t.Fatalf("the client got no answer: %v", err)
				}
				msg := errorOf(t, resp)
				resp.Body.Close()
				if resp.StatusCode != tc.code || !strings.Contains(msg, tc.msg) {
					t.Fatalf("status %d %q, want %d %q", resp.StatusCode, msg, tc.code, tc.msg)
				}
			}
		})
	}
	// A small refused body is drained by the server: the connection stays.
	c := dialRaw(t, url)
	r := bufio.NewReader(c)
	req := "POST /v1/models/other:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
	for i := range 3 {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("answer %d on one connection: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 404 || resp.Close {
			t.Fatalf("answer %d: status %d, close %v; want 404 on a kept connection", i,
				resp.StatusCode, resp.Close)
		}
	}
}

// dialRaw opens a connection to the server at url, closed when the test
// ends.
func dialRaw(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// allocated is the bytes the process has allocated on the heap so far.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// Ensures a body sent to a route that takes none (GET /metrics) is never
// held in memory, whatever its size or framing, and the route answers.
func TestBodyOnBodilessRoute(t *testing.T) {
	url := startServer(t, newServer(t, Config{MaxBodyBytes: 64 << 10}))
	const size = 48 << 20
	for _, chunked := range []bool{false, true} {
		c := dialRaw(t, url)
		head := fmt.Sprintf("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
		if chunked {
			head = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		}
		before := allocated()
		go func() { // the body, sent while the answer is read
			_, _ = io.WriteString(c, head)
			chunk := []byte(strings.Repeat("x", 1<<16))
			if chunked {
				chunk = fmt.Appendf(nil, "%x\r\n%s\r\n", len(chunk), chunk)
			}
			for sent := 0; sent < size; sent += 1 << 16 {
				if _, err := c.Write(chunk); err != nil {
					return // the server closed after its answer
				}
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("chunked %v: %v", chunked, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "request_predict_seconds") {
			t.Errorf("chunked %v: status %d, %d bytes", chunked, resp.StatusCode, len(b))
		}
		if got := allocated() - before; got > 4<<20 {
			t.Errorf("chunked %v: the server allocated %d bytes for a %d-byte body it "+
				"does not take", chunked, got, size)
		}
	}
}

// Ensures a client that declares a large body and sends little costs the
// server about what it sent, not what it declared.
func TestDeclaredLengthNotPreallocated(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	url := startServer(t, s)
	const conns, declared = 16, 8 << 20
	runtime.GC()
	before := allocated()
	for range conns {
		c := dialRaw(t, url)
		fmt.Fprintf(c, "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"+
			"Content-Length: %d\r\n\r\n%s", declared, strings.Repeat(" ", 9<<10))
	}
	deadline := time.Now().Add(5 * time.Second)
	for value(s.metrics.inFlight) != conns {
		if time.Now().After(deadline) {
			t.Fatalf("%v of %d slow requests reached the handler", value(s.metrics.inFlight), conns)
		}
		time.Sleep(time.Millisecond)
	}
	if got := allocated() - before; got > conns*(3<<20) { // declared: 8 MiB each
		t.Errorf("%d requests declaring %d bytes and sending 9 KB made the server allocate "+
			"%d bytes", conns, declared, got)
	}
}

// Ensures a body's reading errors get their status and a fixed message
// that quotes neither the request nor the connection's addresses.
func TestBodyReadingErrors(t *testing.T) {
	f := trained(t)
	url := startServer(t, newServer(t, Config{Model: f.model, ReadTimeout: time.Second}))
	// Over 8 KB, a body reaches the handler before it is whole; under, the
	// server reads it first and its errors are the HTTP layer's.
	good, _ := V1Body(f.header, f.valRows[:10], "")
	small, _ := V1Body(f.header, f.valRows[:1], "")
	const predict = "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"
	short := func(b []byte) string {
		return predict + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(b)+100, b)
	}
	for _, tc := range []struct {
		name, req string
		shut      bool // the client closes its side after the request
		code      int
		msg       string
	}{
		{"truncated", short(good), true, 400,
			fmt.Sprintf("it ended after %d of its %d bytes", len(good), len(good)+100)},
		{"stalled", short(good), false, 408, "did not arrive within 1s"},
		{"small truncated", short(small), true, 400, "the connection closed mid-request"},
		{"small stalled", short(small), false, 408, "timed out reading the request"},
		{"bad trailer", predict + "Transfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\nAuthorization s3cr3t\r\n\r\n", len(good), good),
			false, 400, "malformed chunked encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, url)
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			if tc.shut {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			msg := errorOf(t, resp)
			if resp.StatusCode != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("status %d %q, want %d %q", resp.StatusCode, msg, tc.code, tc.msg)
			}
			if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "127.0.0.1") {
				t.Errorf("the message quotes the request or the connection: %q", msg)
			}
		})
	}
}

// Ensures the header checks come before admission: an over-limit or
// non-JSON body is refused for what it is even when the server is full,
// and a shed request is told when to retry.
func TestRefusalsBeforeAdmission(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model, MaxInFlight: 1, MaxBodyBytes: 64 << 10})
	url := startServer(t, s)
	body, _ := V1Body(f.header, f.valRows[:10], "")
	slow, codes := sendSlow(t, url, body)
	waitInFlight(t, s)
	// The server reads 8 KB of a body before the handler sees the request.
	resp := rawExchange(t, url, "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"+
		"Content-Length: 1000000\r\n\r\n"+strings.Repeat(" ", 8<<10))
	if msg := errorOf(t, resp); resp.StatusCode != 413 {
		t.Errorf("over the limit while full: %d %q, want 413", resp.StatusCode, msg)
	}
	resp = rawExchange(t, url, "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: text/csv\r\nContent-Length: 2\r\n\r\n{}")
	if msg := errorOf(t, resp); resp.StatusCode != 415 {
		t.Errorf("not JSON while full: %d %q, want 415", resp.StatusCode, msg)
	}
	resp = rawExchange(t, url, "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"+
		"Content-Length: 2\r\n\r\n{}")
	if msg := errorOf(t, resp); resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("shed: %d %q, Retry-After %q; want 503 and 1", resp.StatusCode, msg,
			resp.Header.Get("Retry-After"))
	}
	close(slow.release)
	if c := <-codes; c != 200 {
		t.Errorf("slow request: %d", c)
	}
}

// Ensures a small chunked body left unread keeps the connection, and an
// answer to HEAD carries no body even when the connection is closed
// after it.
func TestUnreadChunkedBodies(t *testing.T) {
	url := startServer(t, newServer(t, Config{}))
	c := dialRaw(t, url)
	r := bufio.NewReader(c)
	for i := range 3 {
		fmt.Fprint(c, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"2\r\n{}\r\n0\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("request %d: status %d, close %v", i, resp.StatusCode, resp.Close)
		}
	}
	big := strings.Repeat("x", drainBytes+1)
	c = dialRaw(t, url)
	fmt.Fprintf(c, "HEAD /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"%x\r\n%s\r\n0\r\n\r\n", len(big), big)
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 404") || rest != "" {
		t.Errorf("HEAD answer %q then %q; want a 404 head alone", head, rest)
	}
}
