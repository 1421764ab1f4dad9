package nn

import (
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Ensures Predict's grouped inner loop gives the same bits as adding one
// input at a time in ascending order.
func TestLogitOrder(t *testing.T) {
	const in, hid = 139, 32
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 5})
	x, _ := toyData(9, 20, in)
	h := make([]float32, hid)
	for r := 0; r < 20; r++ {
		row := x[r*in : (r+1)*in]
		got := m.logit(row, h)
		copy(h, m.b1)
		for i, xi := range row {
			if xi != 0 {
				axpy(h, m.w1[i*hid:(i+1)*hid], xi)
			}
		}
		want := m.b2[0]
		for j := range h {
			want += float32(m.w2[j] * h[j])
		}
		if got != want {
			t.Errorf("row %d: logit = %v, one-at-a-time = %v", r, got, want)
		}
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

// Ensures a training step in steady state allocates only the tape machine's
// per-run bookkeeping and per-run values (Gorgonia clears its registers on
// Reset), a bounded amount independent of how many steps ran.
func TestTrainBatchAllocs(t *testing.T) {
	const in, hid, n = 139, 32, 512
	const maxAllocs = 500 // measured ~390 with Gorgonia v0.9.18
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
	locs := reflect.ValueOf(tg.vm).MethodByName("LocMap").Call(nil)[0]
	if locs.Len() == 0 {
		t.Fatal("the tape machine reports no compiled nodes")
	}
	for _, k := range locs.MapKeys() {
		node := k.Interface().(*G.Node)
		if s := node.Shape(); s.Eq(tensor.Shape{n, in}) && node.Name() != "x" {
			t.Errorf("compiled program computes %v of shape %v (an input gradient)", node, s)
		}
	}
}
