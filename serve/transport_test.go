package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection to the server at url and
// returns the answer it reads back.
func rawExchange(t *testing.T, url, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
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
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
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
