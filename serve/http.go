package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"
	"unsafe"

	"github.com/churn-pdk/churn/dataset"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handlerFunc is a route's handler: it writes a success answer itself and
// returns an error for every other outcome.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// routes builds the server's handler: routing, errors, recovery, metrics
// and logs.
func (s *Server) routes() http.Handler {
	metricsHandler := promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	})
	get := func(h handlerFunc) handlerFunc { return s.only(http.MethodGet, h) }
	fixed := map[string]handlerFunc{
		"/":                get(s.live),
		"/metrics":         get(serveWith(metricsHandler)),
		"/v1/models":       get(s.listModels),
		"/v2":              get(s.serverMetadata),
		"/v2/health/live":  get(s.live2),
		"/v2/health/ready": get(s.ready2),
		"/v2/models":       get(s.listModels),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.observe(w, r, func(w http.ResponseWriter, r *http.Request) error {
			p := r.URL.Path
			if h, ok := fixed[p]; ok {
				return h(w, r)
			}
			if name, ok := strings.CutPrefix(p, "/v1/models/"); ok {
				return s.v1Model(w, r, name)
			}
			if rest, ok := strings.CutPrefix(p, "/v2/models/"); ok {
				return s.v2Model(w, r, rest)
			}
			return errorf(ErrRouteNotFound, "no route %s", p)
		})
	})
}

// serveWith adapts an http.Handler that answers every request itself.
func serveWith(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// only wraps h to answer 405 to methods other than method (HEAD is allowed
// where GET is).
func (s *Server) only(method string, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := allow(w, r, method); err != nil {
			return err
		}
		return h(w, r)
	}
}

// allow returns a 405 error, with the Allow header set, unless r uses method.
func allow(w http.ResponseWriter, r *http.Request, method string) error {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return nil
	}
	w.Header().Set("Allow", method)
	return errorf(ErrMethodNotAllowed, "method %s not allowed on %s; use %s",
		r.Method, r.URL.Path, method)
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe runs h, turns its error into an answer, recovers a panic into a
// 500 (logged with its stack), counts the request and logs it.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path,
				"panic", v, "stack", string(debug.Stack()))
			if rec.status == 0 {
				writeError(rec, http.StatusInternalServerError, "internal server error")
			}
		}
		s.metrics.count(r.Method, rec.status)
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration", time.Since(start),
				"request_id", r.Header.Get("X-Request-Id"))
		}
	}()
	if err := h(rec, r); err != nil {
		s.fail(rec, r, err)
	}
}

// fail answers err with its status; a 500 gets a generic message and the
// detail goes to the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := StatusOf(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", r.Header.Get("X-Request-Id"), "error", err)
		msg = "internal server error"
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path,
			"status", code, "error", msg)
	}
	writeError(w, code, msg)
}

// writeError writes KServe's error body {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only for values this package builds wrongly
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal server error"}`)
	}
	writeBody(w, code, b)
}

// jsonContentType is every answer's Content-Type header value, shared:
// net/http only reads it.
var jsonContentType = []string{"application/json"}

// writeBody writes a JSON body that is already encoded.
func writeBody(w http.ResponseWriter, code int, b []byte) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// infer runs an inference route for model name: POST only, the model
// must exist, and the request holds an in-flight slot while run works.
func (s *Server) infer(w http.ResponseWriter, r *http.Request, name string,
	run func(*Model) error) error {
	if err := allow(w, r, http.MethodPost); err != nil {
		return err
	}
	m, err := s.lookup(name)
	if err != nil {
		return err
	}
	if err := s.admit(); err != nil {
		return err
	}
	defer s.release()
	return run(m)
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
		return errorf(ErrOverloaded, "server overloaded: %d requests in flight; retry later",
			cap(s.slots))
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

// bodyString views a request body as a string without copying it. The
// body's buffer is pooled, so nothing taken from the string may outlive
// the request: parse-tree spans and row cells are scratch of the same
// pooled state, and every error message copies what it quotes (built with
// fmt or concatenation, or cloned).
func bodyString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// readBody reads r's body, at most MaxBodyBytes of it, into st. A body
// whose Content-Type cannot be JSON is refused with 415, unread.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, st *reqState) (string, error) {
	if ct := r.Header.Get("Content-Type"); !jsonish(ct) {
		return "", errorf(ErrUnsupportedMediaType,
			"Content-Type %q: the body must be JSON (application/json)", ct)
	}
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return "", errorf(ErrTooLarge, "request body of %d bytes is over the limit of %d bytes",
			r.ContentLength, limit)
	}
	st.buf.Reset()
	if r.ContentLength > 0 {
		st.buf.Grow(int(r.ContentLength))
	}
	_, err := st.buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "", errorf(ErrTooLarge, "request body is over the limit of %d bytes", limit)
	case err != nil:
		return "", invalid("reading request body: %v", err)
	}
	return bodyString(st.buf.Bytes()), nil
}
