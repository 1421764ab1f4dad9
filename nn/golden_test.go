package nn

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this build")

// goldenRun is what the golden file pins: losses along a small seeded run
// and the final parameters.
type goldenRun struct {
	Losses []float64 `json:"losses"`
	Params Params    `json:"params"`
}

// Ensures a small seeded run still produces the recorded losses and weights
// (regenerate with go test ./nn -run Golden -update after an intended change).
func TestGoldenRun(t *testing.T) {
	const in, hid, n, bs = 6, 4, 90, 32
	const tol = 1e-5 // absolute; the run is bit-deterministic on one build,
	// the tolerance absorbs BLAS kernels that round differently elsewhere
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-2, Seed: 42})
	x, y := toyData(42, n, in)
	var got goldenRun
	batches(x, y, in, bs, 60, func(xb, yb []float32) {
		loss, err := m.TrainBatch(xb, yb)
		if err != nil {
			t.Fatal(err)
		}
		if m.Step()%10 == 0 {
			got.Losses = append(got.Losses, loss)
		}
	})
	got.Params = m.Params()
	path := filepath.Join("testdata", "train.golden")
	if *update {
		b, _ := json.MarshalIndent(got, "", " ")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (create it with -update): %v", err)
	}
	var want goldenRun
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	compare := func(name string, got, want []float64) {
		if len(got) != len(want) {
			t.Errorf("%s: %d values, golden has %d", name, len(got), len(want))
			return
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > tol {
				t.Errorf("%s[%d] = %v, golden %v", name, i, got[i], want[i])
			}
		}
	}
	compare("losses", got.Losses, want.Losses)
	gp, wp := got.Params, want.Params
	compare("W1", f64(gp.W1), f64(wp.W1))
	compare("B1", f64(gp.B1), f64(wp.B1))
	compare("W2", f64(append(gp.W2, gp.B2)), f64(append(wp.W2, wp.B2)))
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}
