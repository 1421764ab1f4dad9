// Command load sends a bounded, mixed load of good and bad inference
// requests to a running `churn serve` and reports what came back: requests,
// answers by kind, unexpected answers, requests per second, latency
// percentiles and the server's resident memory at the start and the end.
//
// Run the server in one process and this in another, so the two do not
// share a Go scheduler:
//
//	churn serve --model CHECKPOINT --model_name churn --http_port 18937 &
//	go run ./bench/load -url http://127.0.0.1:18937 -pid $! -n 1000000
//
// Every request kind has one expected status; any other status, or a
// transport error, is unexpected and makes the exit status 1. A 503 means
// the server shed the request (more in flight than --max_in_flight) and is
// reported on its own line: it is what an overloaded server must answer.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// kind is one kind of request of the mix and the status it must get.
type kind struct {
	name   string
	method string
	path   string
	ctype  string
	body   []byte
	want   int
	weight int
}

// counts are one kind's results.
type counts struct {
	sent, ok, shed, unexpected atomic.Int64
	lastBad                    atomic.Value // string: the last unexpected answer
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL")
	model := flag.String("model", "churn", "model name in the URLs")
	bodyPath := flag.String("body", "", "good V1 request body (default: the original 10-row request "+
		"under /work/shared, else one built-in row)")
	n := flag.Int("n", 1_000_000, "requests to send in all")
	conc := flag.Int("c", 32, "concurrent keep-alive connections")
	pid := flag.Int("pid", 0, "server process id, to read its RSS from /proc (0: not read)")
	flag.Parse()
	good, err := goodBody(*bodyPath)
	if err != nil {
		return err
	}
	kinds := mix(*model, good)
	rssStart := rss(*pid)
	res, lat, elapsed := drive(*base, kinds, *n, *conc)
	return report(kinds, res, lat, elapsed, rssStart, rss(*pid))
}

// goodBody reads the good V1 body.
func goodBody(path string) ([]byte, error) {
	if path == "" {
		path = "/work/shared/data/pdk-churn/request_v1_sample.json"
		if _, err := os.Stat(path); err != nil {
			return nil, errors.New("no -body given and the original request is absent")
		}
	}
	return os.ReadFile(path)
}

// mix returns the request kinds: mostly good predictions, and a tenth of
// each bad kind's weight in malformed or misdirected requests.
func mix(model string, good []byte) []kind {
	p1 := "/v1/models/" + model + ":predict"
	p2 := "/v2/models/" + model + "/infer"
	const js = "application/json"
	return []kind{
		{"v1-good", "POST", p1, js, good, 200, 80},
		{"v1-bad-json", "POST", p1, js, []byte(`{"instances": [{"rev_Mean": 1,`), 400, 4},
		{"v1-bad-value", "POST", p1, js, bytes.Replace(good, []byte(`"rev_Mean":{"0":`),
			[]byte(`"rev_Mean":{"0":"NaN","x":`), 1), 400, 4},
		{"v1-no-rows", "POST", p1, js, []byte(`{"instances": []}`), 400, 2},
		{"v2-bad-tensor", "POST", p2, js,
			[]byte(`{"inputs":[{"name":"rev_Mean","datatype":"FP64","shape":[2],"data":[1]}]}`), 400, 4},
		{"unknown-model", "POST", "/v1/models/nope:predict", js, good, 404, 2},
		{"wrong-method", "GET", p1, "", nil, 405, 2},
		{"wrong-type", "POST", p1, "text/csv", []byte("a,b\n1,2\n"), 415, 2},
	}
}

// drive sends n requests over conc connections, drawing kinds in a fixed
// weighted rotation, and returns per-kind results and latencies.
func drive(base string, kinds []kind, n, conc int) ([]counts, []time.Duration, time.Duration) {
	var order []int
	for k, kd := range kinds {
		for range kd.weight {
			order = append(order, k)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conc, MaxIdleConnsPerHost: conc, DisableCompression: true,
	}}
	res := make([]counts, len(kinds))
	lats := make([][]time.Duration, conc)
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		lats[w] = make([]time.Duration, 0, n/conc+1)
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				k := order[(i*7919)%int64(len(order))] // a stride that mixes kinds
				t0 := time.Now()
				code, msg := send(client, base, kinds[k])
				lats[w] = append(lats[w], time.Since(t0))
				r := &res[k]
				r.sent.Add(1)
				switch {
				case code == kinds[k].want:
					r.ok.Add(1)
				case code == http.StatusServiceUnavailable:
					r.shed.Add(1)
				default:
					r.unexpected.Add(1)
					r.lastBad.Store(fmt.Sprintf("status %d: %.200s", code, msg))
				}
			}
		})
	}
	wg.Wait()
	return res, slices.Concat(lats...), time.Since(start)
}

// send sends one request and returns its status (0 for a transport error)
// and, for an unexpected answer's report, its body or error.
func send(c *http.Client, base string, k kind) (int, string) {
	req, err := http.NewRequest(k.method, base+k.path, bytes.NewReader(k.body))
	if err != nil {
		return 0, err.Error()
	}
	if k.ctype != "" {
		req.Header.Set("Content-Type", k.ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err.Error()
	}
	return resp.StatusCode, b.String()
}

// rss returns a process's VmRSS and VmHWM lines from /proc, or "n/a".
func rss(pid int) string {
	if pid == 0 {
		return "n/a"
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "n/a (" + err.Error() + ")"
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}

// report prints the figures and fails when any answer was unexpected.
func report(kinds []kind, res []counts, lat []time.Duration, elapsed time.Duration,
	rssStart, rssEnd string) error {
	var total, unexpected, shed int64
	fmt.Printf("%-16s %9s %9s %9s %11s\n", "kind", "sent", "expected", "shed-503", "unexpected")
	for k, kd := range kinds {
		r := &res[k]
		fmt.Printf("%-16s %9d %9d %9d %11d  (want %d)\n", kd.name, r.sent.Load(), r.ok.Load(),
			r.shed.Load(), r.unexpected.Load(), kd.want)
		if s, ok := r.lastBad.Load().(string); ok {
			fmt.Printf("  last unexpected: %s\n", s)
		}
		total += r.sent.Load()
		unexpected += r.unexpected.Load()
		shed += r.shed.Load()
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(q*float64(len(lat)-1))]
	}
	fmt.Printf("requests %d in %v: %.0f req/s; shed %d; unexpected %d\n", total,
		elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), shed, unexpected)
	fmt.Printf("latency p50 %v p99 %v max %v\n", pct(0.5), pct(0.99), pct(1))
	fmt.Printf("server RSS at start: %s\nserver RSS at end:   %s\n", rssStart, rssEnd)
	if unexpected > 0 {
		return fmt.Errorf("%d unexpected answers", unexpected)
	}
	return nil
}
