package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes    = 8 << 20
	DefaultMaxInFlight     = 256
	DefaultMaxRows         = 10_000
	DefaultReadTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 30 * time.Second
	DefaultIdleTimeout     = 120 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// ModelName is the name clients use in URLs (/v1/models/<name>). Required.
	ModelName string
	// Model is the model served from the start; nil leaves the server
	// not ready (503 on the model's routes) until SetModel.
	Model *Model
	// Version is reported by GET /v2; empty reports "dev".
	Version string
	// Logger receives the server's logs; nil discards them. Request bodies
	// are never logged.
	Logger *slog.Logger
	// Registry receives the server's metrics and is exposed on /metrics;
	// nil uses a fresh private registry.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds a request body (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxRows bounds the rows of one inference request (413 beyond), and
	// so the memory a request can ask for: a small body can hold many
	// rows, each of which costs the server a few KB. 0 means
	// DefaultMaxRows; a negative value means no limit.
	MaxRows int
	// MaxInFlight bounds the inference requests served at once; beyond it
	// requests are refused with 503. 0 means DefaultMaxInFlight; a negative
	// value means no limit. Health, metadata and metrics routes are never
	// refused.
	MaxInFlight int
	// ReadTimeout bounds reading a request, header and body; WriteTimeout
	// writing its answer; IdleTimeout the wait for a kept-alive
	// connection's next request. 0 means the Default* constant of the same
	// name.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long Run waits for in-flight requests once
	// its context is done; 0 means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxRows == 0 {
		c.MaxRows = DefaultMaxRows
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

// Server serves one model over KServe's V1 and V2 REST protocols.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	model   atomic.Pointer[Model] // nil until loaded
	slots   chan struct{}         // in-flight tokens; nil means no limit
	handler fasthttp.RequestHandler
	states  sync.Pool // of *reqState
}

// New builds a Server from cfg and registers its metrics.
func New(cfg Config) (*Server, error) {
	if cfg.ModelName == "" {
		return nil, errors.New("serve: config: empty model name")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("serve: config: max body bytes %d < 0", cfg.MaxBodyBytes)
	}
	cfg = cfg.withDefaults()
	met, err := newMetrics(cfg.Registry, cfg.ModelName)
	if err != nil {
		return nil, fmt.Errorf("serve: register metrics: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: met}
	s.states.New = func() any { return new(reqState) }
	if cfg.MaxInFlight > 0 {
		s.slots = make(chan struct{}, cfg.MaxInFlight)
	}
	if cfg.Model != nil {
		s.model.Store(cfg.Model)
	}
	s.handler = s.routes()
	return s, nil
}

// SetModel makes m the served model (the server becomes ready); it may be
// called while serving, to swap models.
func (s *Server) SetModel(m *Model) { s.model.Store(m) }

// Handler returns the server's request handler, for a fasthttp server of
// the caller's own; Run serves it with every limit set.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

// readBufferBytes is each connection's read buffer, and so the largest
// request line and header block the server reads (431 beyond).
const readBufferBytes = 16 << 10

// httpServer builds the fasthttp server Run uses. Every timeout is set, so
// no client holds a connection or a worker without bound. Bodies are
// streamed to the handlers (only the first 8 KB are read before), so what
// request bodies take in memory is bounded by MaxInFlight times
// MaxBodyBytes, as the handlers admit a request before reading its body.
func (s *Server) httpServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            s.handler,
		ErrorHandler:       s.protocolError,
		Name:               "churn",
		ReadBufferSize:     readBufferBytes,
		ReadTimeout:        s.cfg.ReadTimeout,
		WriteTimeout:       s.cfg.WriteTimeout,
		IdleTimeout:        s.cfg.IdleTimeout,
		MaxRequestBodySize: int(min(s.cfg.MaxBodyBytes, 1<<40)),
		StreamRequestBody:  true,
		// Bodies are JSON: a multipart one is refused unread (415).
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		NoDefaultContentType:         true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{s.log},
	}
}

// fasthttpLogger routes fasthttp's messages to the server's logger at
// debug level: they are about connections clients broke or requests they
// malformed (each of which also gets its answer), and a client could
// flood a higher level with them.
type fasthttpLogger struct{ log *slog.Logger }

// Printf implements fasthttp.Logger.
func (l fasthttpLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...), "source", "fasthttp")
	}
}

// Run serves on ln until ctx is done, then stops accepting connections and
// waits up to ShutdownTimeout for in-flight requests to finish. It returns
// nil after a clean shutdown. Run closes ln.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "model", s.cfg.ModelName,
		"ready", s.model.Load() != nil)
	select {
	case err := <-errc:
		if err == nil { // fasthttp ends Serve quietly when the listener closes
			err = net.ErrClosed
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}
