package nn

import (
	"bytes"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"gorgonia.org/tensor"
)

// Ensures Predict follows its documented operation order bit for bit, and
// that a row's probability does not depend on the other rows of the call.
func TestPredictOrder(t *testing.T) {
	const in, hid, n = 139, 32, 20
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 5})
	x, _ := toyData(9, n, in)
	lf := m.Linear()
	all := make([]float32, n)
	if err := m.Predict(x, all); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, 1)
	for r := 0; r < n; r++ {
		row := x[r*in : (r+1)*in]
		var s [4]float32
		for i, xi := range row {
			k := i % 4
			if i >= in/4*4 {
				k = 0
			}
			s[k] += float32(xi * lf.W[i])
		}
		want := Sigmoid(lf.C + ((s[0] + s[1]) + (s[2] + s[3])))
		if err := m.Predict(row, one); err != nil {
			t.Fatal(err)
		}
		if all[r] != want || one[0] != want {
			t.Errorf("row %d: Predict in a batch %v, alone %v, documented order %v",
				r, all[r], one[0], want)
		}
	}
}

// Ensures Predict sees every parameter update: its cached linear form is
// recomputed after TrainBatch, and a model read back predicts the same bits.
func TestPredictAfterUpdate(t *testing.T) {
	const in, hid, n = 139, 32, 64
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-2, Seed: 5})
	x, y := toyData(3, n, in)
	before, after := make([]float32, n), make([]float32, n)
	if err := m.Predict(x, before); err != nil {
		t.Fatal(err)
	}
	if _, err := m.TrainBatch(x, y); err != nil {
		t.Fatal(err)
	}
	if err := m.Predict(x, after); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, after) {
		t.Fatal("Predict gives the same probabilities after a training step")
	}
	_, p := refForward(m, x)
	for r := range p {
		if math.Abs(float64(after[r])-p[r]) > 1e-6 {
			t.Errorf("row %d: Predict after a step %v, float64 reference %v", r, after[r], p[r])
		}
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	read, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	again := make([]float32, n)
	if err := read.Predict(x, again); err != nil || !slices.Equal(after, again) {
		t.Errorf("read-back model predicts differently (err %v)", err)
	}
}

// Ensures concurrent Predict calls agree with a serial call (run with -race).
func TestPredictConcurrent(t *testing.T) {
	const in, hid, n = 139, 32, 50
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 6})
	x, _ := toyData(3, n, in)
	want := make([]float32, n)
	if err := m.Predict(x, want); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			got := make([]float32, n)
			for k := 0; k < 20; k++ {
				if err := m.Predict(x, got); err != nil || !slices.Equal(got, want) {
					t.Errorf("concurrent Predict = %v, %v; want %v", got[:2], err, want[:2])
					return
				}
			}
		})
	}
	wg.Wait()
}

// Ensures models with more hidden units than Predict's stack scratch work.
func TestPredictWide(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: 100, LR: 1e-3, Seed: 6})
	x := []float32{1, -2, 0.5}
	got := make([]float32, 1)
	if err := m.Predict(x, got); err != nil {
		t.Fatal(err)
	}
	_, p := refForward(m, x)
	if math.Abs(float64(got[0])-p[0]) > 1e-6 {
		t.Errorf("Predict = %v, float64 reference = %v", got[0], p[0])
	}
}

// Ensures cycling through more batch sizes than the graph cache holds
// (evicting and rebuilding graphs) gives the same bits as a fresh model.
func TestGraphEviction(t *testing.T) {
	const in, hid = 7, 4
	x, y := toyData(2, 40, in)
	run := func(closeEach bool) []float32 {
		m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-2, Seed: 3})
		for k := 0; k < 3; k++ {
			for n := 1; n <= maxGraphs+3; n++ {
				if _, err := m.TrainBatch(x[:n*in], y[:n]); err != nil {
					t.Fatal(err)
				}
				if closeEach {
					m.Close()
				}
			}
		}
		return state(m)
	}
	if a, b := run(false), run(true); !slices.Equal(a, b) {
		t.Error("cached-and-evicted graphs and rebuilt graphs give different bits")
	}
}

// Ensures a training step in steady state allocates only small values (the
// scalars Gorgonia's ops return, the tensor engine's shape bookkeeping),
// never the step's vectors and matrices again: a bounded amount
// independent of how many steps ran.
func TestTrainBatchAllocs(t *testing.T) {
	const in, hid, n = 139, 32, 512
	const maxAllocs = 200 // measured 157 with Gorgonia v0.9.18 (320 on its tape machine)
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-4, Seed: 1})
	x, y := toyData(1, n, in)
	train := func() {
		if _, err := m.TrainBatch(x, y); err != nil {
			t.Fatal(err)
		}
	}
	first := testing.AllocsPerRun(5, train)
	later := testing.AllocsPerRun(20, train)
	t.Logf("TrainBatch allocations per step: %v, later %v", first, later)
	if later > maxAllocs || later > first+5 {
		t.Errorf("TrainBatch allocates %v times per step (first %v), want <= %d and not growing",
			later, first, maxAllocs)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps = 20
	for range steps {
		train()
	}
	runtime.ReadMemStats(&after)
	if bytes := (after.TotalAlloc - before.TotalAlloc) / steps; bytes > 8<<10 {
		t.Errorf("TrainBatch allocates %d bytes per step, want under 8 KB (its vectors alone "+
			"are %d bytes)", bytes, 4*(2*n+in))
	}
}

// Ensures the compiled training program computes no value shaped like the
// input matrix other than the input itself: no gradient for x.
func TestNoInputGradient(t *testing.T) {
	const in, hid, n = 9, 4, 6
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 1})
	tg, err := m.graphs.get(m, n)
	if err != nil {
		t.Fatal(err)
	}
	nodes := tg.runner.computes()
	if len(nodes) == 0 {
		t.Fatal("the runner computes no nodes")
	}
	for _, node := range nodes {
		if s := node.Shape(); s.Eq(tensor.Shape{n, in}) && node.Name() != "x" {
			t.Errorf("the program computes %v of shape %v (an input gradient)", node, s)
		}
	}
	if len(nodes) == len(tg.g.AllNodes()) {
		t.Errorf("the runner computes all %d nodes of the graph; the input gradient is one "+
			"it should leave out", len(nodes))
	}
}

// Ensures the program runs a training graph to the same bits as
// Gorgonia's tape machine (the cuda build's runner): losses,
// probabilities, parameters and Adam's moments, over full and remainder
// batches, in both association orders.
func TestProgramMatchesTapeMachine(t *testing.T) {
	const in, hid, rows = 23, 7, 90
	x, y := toyData(5, rows, in)
	for name, wire := range map[string]wiring{"collapsed": nil, "hidden first": wireHiddenFirst} {
		t.Run(name, func(t *testing.T) {
			train := func(r newRunnerFunc) ([]float64, []float32) {
				m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-2, Seed: 11})
				m.graphs.wire, m.graphs.runner = wire, r
				var trace []float64
				probs := make([]float32, 32)
				for step := range 40 {
					lo := (step * 32) % rows
					hi := min(lo+32, rows) // every third batch is a remainder of 26
					loss, err := m.TrainBatchProbs(x[lo*in:hi*in], y[lo:hi], probs[:hi-lo])
					if err != nil {
						t.Fatal(err)
					}
					trace = append(trace, loss)
					for _, p := range probs[:hi-lo] {
						trace = append(trace, float64(p))
					}
				}
				return trace, state(m)
			}
			progTrace, progState := train(newProgram)
			tapeTrace, tapeState := train(newTapeRunner)
			if !slices.Equal(progTrace, tapeTrace) {
				t.Error("losses or probabilities differ between the program and the tape machine")
			}
			if !slices.EqualFunc(progState, tapeState, func(a, b float32) bool {
				return math.Float32bits(a) == math.Float32bits(b)
			}) {
				t.Error("parameters or moments differ between the program and the tape machine")
			}
		})
	}
}
