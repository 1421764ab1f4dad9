package serve

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"
)

// latencyBuckets are the Python prometheus_client defaults, which KServe's
// histograms use; Go's DefBuckets lacks .075, .75 and 7.5.
var latencyBuckets = []float64{
	.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10,
}

// metrics are the server's collectors, registered on an injected registry.
type metrics struct {
	preprocess, predict, postprocess, explain prometheus.Observer
	requests                                  *prometheus.CounterVec
	// counters caches requests' children by method and status, so that
	// counting a request looks up no labels once its pair has been seen.
	counters [len(methods)][600]atomic.Pointer[prometheus.Counter]
	inFlight prometheus.Gauge
	shed     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, model string) (*metrics, error) {
	hist := func(name, help string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name, Help: help, Buckets: latencyBuckets,
		}, []string{"model_name"})
	}
	pre := hist("request_preprocess_seconds", "Time to decode and preprocess a request.")
	pred := hist("request_predict_seconds", "Time of the model's forward pass.")
	post := hist("request_postprocess_seconds", "Time to encode a response.")
	expl := hist("request_explain_seconds", "Time to compute attributions.")
	m := &metrics{
		preprocess:  pre.WithLabelValues(model),
		predict:     pred.WithLabelValues(model),
		postprocess: post.WithLabelValues(model),
		explain:     expl.WithLabelValues(model),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests answered, by status code and method.",
		}, []string{"code", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "Inference requests being served.",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "http_requests_shed_total",
			Help: "Inference requests refused with 503 because too many were in flight.",
		}),
	}
	for _, c := range []prometheus.Collector{pre, pred, post, expl, m.requests, m.inFlight, m.shed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// methods are the method label's values; any other method counts as the
// last, so label values stay bounded.
var methods = [...]string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER"}

// count records one answered request.
func (m *metrics) count(method string, code int) {
	i := len(methods) - 1
	for k, v := range methods[:i] {
		if v == method {
			i = k
			break
		}
	}
	if code < 0 || code >= len(m.counters[i]) {
		m.requests.WithLabelValues(strconv.Itoa(code), methods[i]).Inc()
		return
	}
	slot := &m.counters[i][code]
	c := slot.Load()
	if c == nil {
		cc := m.requests.WithLabelValues(strconv.Itoa(code), methods[i])
		slot.Store(&cc)
		c = &cc
	}
	(*c).Inc()
}

// serveMetrics answers GET /metrics from the registry, in the exposition
// format the scraper's Accept header asks for (expfmt's negotiation, as
// promhttp does it). The request's body, if any, is never read. A
// collector's error is logged and the metrics gathered are still served.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) error {
	mfs, err := s.cfg.Registry.Gather()
	if err != nil {
		s.log.Error("gathering metrics", "error", err)
	}
	format := expfmt.Negotiate(http.Header{"Accept": {string(ctx.Request.Header.Peek("Accept"))}})
	ctx.SetContentType(string(format))
	enc := expfmt.NewEncoder(ctx, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("serve: encode metrics: %w", err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("serve: encode metrics: %w", err)
		}
	}
	return nil
}
