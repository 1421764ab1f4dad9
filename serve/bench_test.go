package serve

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/churn-pdk/churn/dataset"
)

// originalBody returns the original example's 10-row request, or the same
// shape built from ten fixture rows when the shared file is absent.
func originalBody(b *testing.B, f *fixture) []byte {
	body, err := os.ReadFile(filepath.Join(sharedDir(), "data", "pdk-churn", "request_v1_sample.json"))
	if err == nil {
		return body
	}
	b.Logf("original request absent (%v); using ten generated rows", err)
	keys := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	return []byte(tableBody(f.header, f.valRows[:10], keys))
}

// reportLatencies reports p50 and p99 in microseconds.
func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	us := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(us(0.50), "p50-us")
	b.ReportMetric(us(0.99), "p99-us")
}

// BenchmarkV1PredictInProcess measures the whole V1 hot path (read, decode,
// FromRecords, Preprocess, Predict, encode, metrics) on the original
// 10-row request through the handler, without a network.
func BenchmarkV1PredictInProcess(b *testing.B) {
	f := trained(b)
	benchInProcess(b, f, originalBody(b, f))
}

// BenchmarkV1PredictRowsInProcess is BenchmarkV1PredictInProcess with the
// original request's ten rows sent as row objects ({column: value, ...}),
// as churn predict sends them.
func BenchmarkV1PredictRowsInProcess(b *testing.B) {
	f := trained(b)
	st := new(reqState)
	if _, err := st.decodeV1(f.model, string(originalBody(b, f))); err != nil {
		b.Fatal(err)
	}
	nc := len(f.model.columns)
	records := make([][]string, st.rows.n)
	for i := range records {
		records[i] = st.rows.cells[i*nc : (i+1)*nc]
	}
	body, err := V1Body(f.model.header, records, "")
	if err != nil {
		b.Fatal(err)
	}
	benchInProcess(b, f, body)
}

// benchInProcess posts body to the V1 predict handler b.N times, in one
// reused fasthttp request context as the server reuses its own.
func benchInProcess(b *testing.B, f *fixture, body []byte) {
	s := newServer(b, Config{Model: f.model})
	h := s.Handler()
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetRequestURI("/v1/models/churn:predict")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	var lat []time.Duration
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	cpu0 := cpuTime()
	for b.Loop() {
		ctx.Response.Reset()
		ctx.Request.SetBodyRaw(body)
		t0 := time.Now()
		h(&ctx)
		lat = append(lat, time.Since(t0))
		if c := ctx.Response.StatusCode(); c != 200 {
			b.Fatalf("status %d: %s", c, ctx.Response.Body())
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	reportLatencies(b, lat)
}

// cpuTime is the process's user plus system CPU time: on a shared machine
// it says what a request costs better than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkV1Stages times each stage of the hot path on the original
// request, to show where the time goes (p50 is robust on a shared machine;
// ns/op is a mean that descheduling inflates): "fast" is what serving
// does with the body (decode and preprocess in one pass); the stages after
// it are the general path's, taken by other bodies.
func BenchmarkV1Stages(b *testing.B) {
	f := trained(b)
	body := string(originalBody(b, f))
	st := new(reqState)
	if _, err := st.decodeV1(f.model, body); err != nil {
		b.Fatal(err)
	}
	records := make([][]string, st.rows.n)
	nc := len(f.model.columns)
	for i := range records {
		records[i] = st.rows.cells[i*nc : (i+1)*nc]
	}
	tab, err := dataset.FromRecords(f.spec, "request", f.model.header, records)
	if err != nil {
		b.Fatal(err)
	}
	x, err := dataset.Preprocess(f.spec, tab, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, x.Rows)
	stage := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				if err := f(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportLatencies(b, lat)
		})
	}
	stage("fast", func() error { // decode and preprocess in one pass
		if _, _, ok := st.fastV1(f.model, body); !ok {
			return errors.New("the fast path gave up on the body")
		}
		return nil
	})
	var t tree
	stage("parse", func() error { _, err := t.parse(body); return err })
	stage("decode", func() error { _, err := st.decodeV1(f.model, body); return err })
	stage("FromRecords", func() error {
		_, err := dataset.FromRecords(f.spec, "request", f.model.header, records)
		return err
	})
	stage("RecordParser", func() error { _, err := f.model.parser.Parse(records); return err })
	stage("Preprocess", func() error { _, err := dataset.Preprocess(f.spec, tab, nil); return err })
	var sc dataset.Scratch
	stage("Matrix", func() error { _, err := f.model.parser.Matrix(f.spec, records, &sc); return err })
	stage("Predict", func() error { return f.net.Predict(x.X, out) })
	var buf []byte
	stage("encode", func() error { buf = appendPredictions(buf[:0], out, outLabels, 0.5); return nil })
}

// BenchmarkV1PredictLoopback measures the original request over HTTP on a
// real loopback server, with 16 keep-alive clients of a small load
// generator sending b.N requests in all.
func BenchmarkV1PredictLoopback(b *testing.B) {
	f := trained(b)
	url := startServer(b, newServer(b, Config{Model: f.model, MaxInFlight: -1}))
	body := originalBody(b, f)
	const workers = 16
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: workers, MaxIdleConnsPerHost: workers, DisableCompression: true,
	}}
	target := url + "/v1/models/churn:predict"
	lat := make([][]time.Duration, workers)
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				t0 := time.Now()
				resp, err := client.Post(target, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	reportLatencies(b, slices.Concat(lat...))
}
