package serve

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"math/rand"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// fixture is a model trained on generated original-schema data, written to
// a checkpoint and loaded back, with the validation rows kept as the CSV
// strings the generator wrote.
type fixture struct {
	dir     string
	spec    *dataset.Spec
	net     *nn.Model // the in-memory model training produced
	model   *Model    // loaded from the checkpoint
	header  []string
	valRows [][]string
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
)

// trained returns the shared fixture, training it on first use: 3000
// generated rows, a seeded 80/20 split of the records, 300 batches of 256
// through nn.TrainBatch with experiment/features.json as the spec.
func trained(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { fixtureVal, fixtureErr = train() })
	if fixtureErr != nil {
		t.Fatalf("training the fixture model: %v", fixtureErr)
	}
	return fixtureVal
}

func train() (*fixture, error) {
	spec, err := dataset.LoadSpec(filepath.Join("..", "experiment", "features.json"))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, 3000, 7); err != nil {
		return nil, err
	}
	all, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return nil, err
	}
	header, recs := all[0], all[1:]
	rng := rand.New(rand.NewSource(42))
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	nVal := len(recs) / 5
	val, tr := recs[:nVal], recs[nVal:]
	tab, err := dataset.FromRecords(spec, "train", header, tr)
	if err != nil {
		return nil, err
	}
	x, err := dataset.Preprocess(spec, tab, nil)
	if err != nil {
		return nil, err
	}
	net, err := nn.New(nn.Config{Inputs: x.Cols, Hidden: 32, LR: 1e-3, Seed: 3})
	if err != nil {
		return nil, err
	}
	const batch = 256
	for b, pos := 0, 0; b < 300; b++ {
		if pos+batch > x.Rows {
			pos = 0
		}
		if _, err := net.TrainBatch(x.X[pos*x.Cols:(pos+batch)*x.Cols], x.Y[pos:pos+batch]); err != nil {
			return nil, err
		}
		pos += batch
	}
	dir := filepath.Join(fixtureDir, "ckpt")
	meta := checkpoint.Metadata{StepsCompleted: 300, Threshold: 0.5}
	if err := checkpoint.Write(dir, meta, net, spec); err != nil {
		return nil, err
	}
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	return &fixture{dir: dir, spec: spec, net: net, model: m, header: header, valRows: val}, nil
}

// fixtureDir holds the shared checkpoint; TestMain creates and removes it.
var fixtureDir string

// startServer runs s on a loopback port until the test ends and returns
// its base URL.
func startServer(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return "http://" + ln.Addr().String()
}

// newServer builds a server for the fixture model named "churn".
func newServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.ModelName == "" {
		cfg.ModelName = "churn"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// post sends body and returns the status and the answer.
func post(t testing.TB, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// readCSV parses a CSV file's bytes.
func readCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// preprocessRef returns the training code's preprocessed inputs of recs.
func preprocessRef(t testing.TB, f *fixture, recs [][]string) []float32 {
	t.Helper()
	tab, err := dataset.FromRecords(f.spec, "reference", f.header, recs)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dataset.Preprocess(f.spec, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	return x.X
}

// answer is what the handler answered a request made in process.
type answer struct {
	code int
	body string
	resp *fasthttp.Response
}

// call sends a request to s's handler in process, without a network.
func call(s *Server, method, path, body string) answer {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.SetBodyString(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	s.Handler()(&ctx)
	resp := new(fasthttp.Response)
	ctx.Response.CopyTo(resp)
	return answer{code: resp.StatusCode(), body: string(resp.Body()), resp: resp}
}
