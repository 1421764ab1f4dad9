package pachydermtest

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Fault is how an injected failure breaks a request.
type Fault int

const (
	// Fault503 answers 503 SlowDown, as a gateway under load does.
	Fault503 Fault = iota
	// FaultReset closes the connection before answering.
	FaultReset
	// FaultDrop answers, announcing the whole body, then closes the
	// connection half-way through it.
	FaultDrop
)

// injected is a pending fault: the next n requests whose "METHOD URI"
// starts with prefix fail with kind.
type injected struct {
	prefix string
	kind   Fault
	n      int
}

// Inject makes the next n requests whose "METHOD URI" (for example
// "GET /bucket/key") starts with prefix fail with kind. Faults are taken
// in the order injected.
func (g *Gateway) Inject(prefix string, kind Fault, n int) {
	g.mu.Lock()
	g.faults = append(g.faults, &injected{prefix: prefix, kind: kind, n: n})
	g.mu.Unlock()
}

// Injected returns how many injected faults have fired.
func (g *Gateway) Injected() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fired
}

// takeFault returns the fault for a request, if one is pending.
func (g *Gateway) takeFault(r *http.Request) (Fault, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	line := r.Method + " " + r.URL.RequestURI()
	for _, f := range g.faults {
		if f.n > 0 && strings.HasPrefix(line, f.prefix) {
			f.n--
			g.fired++
			return f.kind, true
		}
	}
	return 0, false
}

// fail breaks the request the way kind says; next serves it for
// FaultDrop.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, kind Fault, next http.Handler) {
	if kind == Fault503 {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+
			`<Error><Code>SlowDown</Code><Message>try again</Message></Error>`)
		return
	}
	rec := httptest.NewRecorder()
	if kind == FaultDrop {
		next.ServeHTTP(rec, r)
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		g.t.Errorf("pachydermtest: hijack: %v", err)
		return
	}
	defer conn.Close()
	if kind == FaultReset {
		return
	}
	writeHalf(buf, rec)
}

// writeHalf writes rec's response with its full Content-Length but only
// the first half of its body.
func writeHalf(buf *bufio.ReadWriter, rec *httptest.ResponseRecorder) {
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	rec.Header().Set("Content-Length", fmt.Sprint(len(body)))
	rec.Header().Write(buf)
	buf.WriteString("\r\n")
	buf.Write(body[:len(body)/2])
	buf.Flush()
}
