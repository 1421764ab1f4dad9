package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/churn-pdk/churn/dataset"
)

// The server speaks HTTP through fasthttp rather than net/http: on the
// original 10-row request, net/http's per-request work (a goroutine's
// background read, a 4 KB read buffer, its allocations) cost the server
// about as much CPU as decoding, preprocessing and predicting together,
// and capped one core near 18,000 requests/s; fasthttp serves the same
// handlers at over 25,000 (bench/README.md). Handlers read what they need
// of a request as views of fasthttp's buffers, valid until they return.

// handlerFunc is a route's handler: it writes a success answer itself and
// returns an error for every other outcome.
type handlerFunc func(ctx *fasthttp.RequestCtx) error

// routes builds the server's handler: routing, errors, recovery, metrics
// and logs.
func (s *Server) routes() fasthttp.RequestHandler {
	get := func(h handlerFunc) handlerFunc { return s.only(http.MethodGet, h) }
	fixed := map[string]handlerFunc{
		"/":                get(s.live),
		"/metrics":         get(s.serveMetrics),
		"/v1/models":       get(s.listModels),
		"/v2":              get(s.serverMetadata),
		"/v2/health/live":  get(s.live2),
		"/v2/health/ready": get(s.ready2),
		"/v2/models":       get(s.listModels),
	}
	route := func(ctx *fasthttp.RequestCtx) error {
		p := view(ctx.Path())
		if h, ok := fixed[p]; ok {
			return h(ctx)
		}
		if name, ok := strings.CutPrefix(p, "/v1/models/"); ok {
			return s.v1Model(ctx, name)
		}
		if rest, ok := strings.CutPrefix(p, "/v2/models/"); ok {
			return s.v2Model(ctx, rest)
		}
		return errorf(ErrRouteNotFound, "no route %s", p)
	}
	return func(ctx *fasthttp.RequestCtx) { s.observe(ctx, route) }
}

// only wraps h to answer 405 to methods other than method (HEAD is allowed
// where GET is).
func (s *Server) only(method string, h handlerFunc) handlerFunc {
	return func(ctx *fasthttp.RequestCtx) error {
		if err := allow(ctx, method); err != nil {
			return err
		}
		return h(ctx)
	}
}

// allow returns a 405 error, with the Allow header set, unless ctx's
// request uses method.
func allow(ctx *fasthttp.RequestCtx, method string) error {
	m := view(ctx.Method())
	if m == method || (method == http.MethodGet && m == http.MethodHead) {
		return nil
	}
	ctx.Response.Header.Set("Allow", method)
	return errorf(ErrMethodNotAllowed, "method %s not allowed on %s; use %s",
		m, ctx.Path(), method)
}

// observe runs h, turns its error into an answer, recovers a panic into a
// 500 (logged with its stack), counts the request and logs it.
func (s *Server) observe(ctx *fasthttp.RequestCtx, h handlerFunc) {
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("handler panic", "method", string(ctx.Method()),
				"path", string(ctx.Path()), "panic", v, "stack", string(debug.Stack()))
			ctx.Response.Reset() // nothing has reached the client yet
			writeError(ctx, http.StatusInternalServerError, "internal server error")
		}
		status := ctx.Response.StatusCode()
		s.metrics.count(view(ctx.Method()), status)
		if s.log.Enabled(context.Background(), slog.LevelDebug) {
			s.log.Debug("request", "method", string(ctx.Method()), "path", string(ctx.Path()),
				"status", status, "duration", time.Since(start),
				"request_id", string(ctx.Request.Header.Peek("X-Request-Id")))
		}
	}()
	if err := h(ctx); err != nil {
		s.fail(ctx, err)
	}
	if ctx.UserValue(bodyRead{}) == nil && largeUnread(ctx) {
		linger(ctx)
	}
}

// fail answers err with its status; a 500 gets a generic message and the
// detail goes to the log.
func (s *Server) fail(ctx *fasthttp.RequestCtx, err error) {
	code := StatusOf(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()),
			"request_id", string(ctx.Request.Header.Peek("X-Request-Id")), "error", err)
		msg = "internal server error"
	} else {
		s.log.Debug("request refused", "method", string(ctx.Method()),
			"path", string(ctx.Path()), "status", code, "error", msg,
			"request_id", string(ctx.Request.Header.Peek("X-Request-Id")))
	}
	writeError(ctx, code, msg)
}

// writeError writes KServe's error body {"error": msg}.
func writeError(ctx *fasthttp.RequestCtx, code int, msg string) {
	writeJSON(ctx, code, map[string]string{"error": msg})
}

// writeJSON writes v as a JSON answer.
func writeJSON(ctx *fasthttp.RequestCtx, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only for values this package builds wrongly
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	writeBody(ctx, code, b)
}

// writeBody writes a JSON body that is already encoded; b is copied.
func writeBody(ctx *fasthttp.RequestCtx, code int, b []byte) {
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(code)
	ctx.SetBody(b)
}

// infer runs an inference route for model name: POST only, the model
// must exist, the headers must announce an acceptable body, and the
// request holds an in-flight slot while run reads the body and works.
func (s *Server) infer(ctx *fasthttp.RequestCtx, name string, run func(*Model) error) error {
	if err := allow(ctx, http.MethodPost); err != nil {
		return err
	}
	m, err := s.lookup(name)
	if err != nil {
		return err
	}
	if err := s.checkBodyHeaders(ctx); err != nil {
		return err
	}
	if err := s.admit(); err != nil {
		ctx.Response.Header.Set("Retry-After", "1")
		return err
	}
	defer s.release()
	return run(m)
}

// checkBodyHeaders refuses, before the body is read, one whose
// Content-Type cannot be JSON (415) or whose declared length is over the
// limit (413).
func (s *Server) checkBodyHeaders(ctx *fasthttp.RequestCtx) error {
	h := &ctx.Request.Header
	if ct := view(h.ContentType()); !jsonish(ct) {
		return errorf(ErrUnsupportedMediaType,
			"Content-Type %q: the body must be JSON (application/json)", ct)
	}
	if n, limit := int64(h.ContentLength()), s.cfg.MaxBodyBytes; n > limit {
		return errorf(ErrTooLarge, "request body of %d bytes is over the limit of %d bytes",
			n, limit)
	}
	return nil
}

// lookup returns the served model when name is its name and it is loaded.
func (s *Server) lookup(name string) (*Model, error) {
	if name != s.cfg.ModelName {
		return nil, errorf(ErrModelNotFound, "Model with name %s does not exist.", name)
	}
	m := s.model.Load()
	if m == nil {
		return nil, errorf(ErrModelNotReady, "Model with name %s is not ready.", name)
	}
	return m, nil
}

// admit takes an in-flight slot, or refuses the request when none is free.
// After a nil error the caller must call release.
func (s *Server) admit() error {
	if s.slots == nil {
		return nil
	}
	select {
	case s.slots <- struct{}{}:
		s.metrics.inFlight.Inc()
		return nil
	default:
		s.metrics.shed.Inc()
		return errorf(ErrOverloaded, "server overloaded: all %d inference slots are busy; "+
			"retry later", cap(s.slots))
	}
}

// release gives back the slot admit took.
func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
		s.metrics.inFlight.Dec()
	}
}

// reqState is the scratch storage of one inference request, pooled.
type reqState struct {
	buf     bytes.Buffer
	tree    tree
	rows    rows
	records [][]string
	scratch dataset.Scratch
	probs   []float32
	out     []byte
	fast    fastRead
	// lastRows is the row count of the last body read fast: room for as
	// many rows is made up front next time.
	lastRows int
	// maxRows is the server's limit on a request's rows (0: none).
	maxRows int
}

// maxPooled bounds the memory of a request's state that goes back to the
// pool, so that one large request does not pin its memory: a body under
// the limit can still parse into a tree, cells and columns many times its
// size.
const maxPooled = 4 << 20

func (s *Server) getState() *reqState {
	st := s.states.Get().(*reqState)
	st.maxRows = max(s.cfg.MaxRows, 0)
	return st
}

// footprint is about the bytes st's buffers hold.
func (st *reqState) footprint() int {
	const str, node = int(unsafe.Sizeof("")), int(unsafe.Sizeof(node{}))
	return st.buf.Cap() + cap(st.out) + 4*cap(st.probs) +
		node*(cap(st.tree.nodes)+cap(st.tree.stack)) +
		(str+1)*cap(st.rows.cells) + 3*str*cap(st.records) +
		st.scratch.Footprint()
}

func (s *Server) putState(st *reqState) {
	if st.footprint() > maxPooled {
		return
	}
	st.rows.m = nil
	s.states.Put(st)
}

// jsonish reports whether an inference request's Content-Type may carry
// JSON: none, application/json, any +json type, text/plain, or
// application/x-www-form-urlencoded (what curl -d sends unless told
// otherwise). Parameters such as charset are not checked.
func jsonish(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "", mt == "application/json", mt == "text/plain",
		mt == "application/x-www-form-urlencoded":
		return true
	case strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
		return true
	}
	return false
}

// view views bytes as a string without copying them: a request's path,
// method and headers (fasthttp's, valid until the handler returns) and
// its body (a pooled buffer). Nothing taken from such a string may
// outlive the request: parse-tree spans and row cells are scratch of the
// same pooled state, and every error message copies what it quotes (built
// with fmt or concatenation, or cloned).
func view(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// preGrow bounds the room made for a body from its declared length before
// any of it arrives: a client that declares much and sends little must not
// cost the server what it declared.
const preGrow = 1 << 20

// readBody reads the request's body, at most MaxBodyBytes of it, into st;
// the caller has checked its headers (checkBodyHeaders). Reading errors
// get fixed messages: the underlying ones quote the request's bytes and
// the connection's addresses.
func (s *Server) readBody(ctx *fasthttp.RequestCtx, st *reqState) (string, error) {
	limit, declared := s.cfg.MaxBodyBytes, int64(ctx.Request.Header.ContentLength())
	st.buf.Reset()
	if declared > 0 {
		st.buf.Grow(int(min(declared, preGrow)))
	}
	body := ctx.RequestBodyStream() // the server streams bodies
	if body == nil {                // a handler called directly: the body is whole
		body, declared = bytes.NewReader(ctx.Request.Body()), -1
	}
	n, err := st.buf.ReadFrom(io.LimitReader(body, limit+1))
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "", errorf(ErrRequestTimeout, "the request body did not arrive within %v",
			s.cfg.ReadTimeout)
	case err != nil:
		return "", invalid("reading request body: malformed chunked encoding or a " +
			"connection closed mid-body")
	case n > limit:
		return "", errorf(ErrTooLarge, "request body is over the limit of %d bytes", limit)
	case declared >= 0 && n != declared:
		return "", invalid("reading request body: it ended after %d of its %d bytes",
			n, declared)
	}
	ctx.SetUserValue(bodyRead{}, true)
	return view(st.buf.Bytes()), nil
}
