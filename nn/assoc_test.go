package nn

import (
	"math"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
)

// wireHiddenFirst is the model in its original association order,
// z = (x·W1 + b1)·w2 + b2, with the hidden layer formed: the cross-check
// for wireCollapsed (same function, same parameters, other rounding).
func wireHiddenFirst(tg *trainGraph, x, y, w1, b1, w2, b2 *G.Node) error {
	xw, err := G.Mul(x, w1)
	if err != nil {
		return err
	}
	b1row, err := G.Reshape(b1, []int{1, b1.Shape()[0]})
	if err != nil {
		return err
	}
	h, err := G.BroadcastAdd(xw, b1row, nil, []byte{0})
	if err != nil {
		return err
	}
	hw, err := G.Mul(h, w2)
	if err != nil {
		return err
	}
	z, err := G.BroadcastAdd(hw, b2, nil, []byte{0})
	if err != nil {
		return err
	}
	return tg.wireLoss(z, y, w1, b1, w2, b2)
}

// Ensures the collapsed graph gives the hidden-first graph's loss,
// probabilities and gradients up to float32 rounding.
func TestCollapsedMatchesHiddenFirst(t *testing.T) {
	const in, hid, n = 139, 32, 512
	// relative to the largest entry; measured ~1e-7 (probabilities) and
	// ~1e-6 (gradients): float32 rounding of two summation orders
	const tol = 1e-5
	x, y := churnLike(11, n)
	collapsed := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-4, Seed: 42})
	hiddenFirst := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-4, Seed: 42})
	hiddenFirst.graphs.wire = wireHiddenFirst
	run := func(m *Model) *trainGraph {
		tg, err := m.graphs.get(m, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.run(x, y); err != nil {
			t.Fatal(err)
		}
		return tg
	}
	a, b := run(collapsed), run(hiddenFirst)
	if d := math.Abs(a.loss.mean - b.loss.mean); d > tol*b.loss.mean {
		t.Errorf("loss: collapsed %v, hidden-first %v", a.loss.mean, b.loss.mean)
	}
	checkClose(t, "probabilities", a.probData(), b.probData(), tol)
	for k := range a.grads {
		checkClose(t, paramNames[k], a.grad(k), b.grad(k), tol)
	}
}

// Ensures 200 steps of the two association orders stay within rounding of
// each other: the same training run, not merely the same first step.
func TestCollapsedTrajectory(t *testing.T) {
	const in, hid, n, bs = 139, 32, 2000, 512
	const steps = 200
	const lossTol = 1e-5  // absolute, on a loss near 0.69; measured ~6e-9
	const paramTol = 1e-4 // relative to the largest parameter; measured ~4e-7
	x, y := churnLike(12, n)
	train := func(w wiring) (*Model, []float64) {
		m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 42})
		m.graphs.wire = w
		var losses []float64
		batches(x, y, in, bs, steps, func(xb, yb []float32) {
			l, err := m.TrainBatch(xb, yb)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, l)
		})
		return m, losses
	}
	ma, la := train(nil)
	mb, lb := train(wireHiddenFirst)
	worst := 0.0
	for i := range la {
		worst = math.Max(worst, math.Abs(la[i]-lb[i]))
	}
	t.Logf("largest loss difference over %d steps: %.3g", steps, worst)
	if worst > lossTol {
		t.Errorf("losses differ by up to %v, want <= %v", worst, lossTol)
	}
	checkClose(t, "parameters", ma.params, mb.params, paramTol)
}

// checkClose fails if got and want differ anywhere by more than tol times
// want's largest magnitude.
func checkClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	scale, worst := 0.0, 0.0
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("%s: largest difference %.3g of scale %.3g", name, worst, scale)
	if worst > tol*scale {
		t.Errorf("%s: differ by up to %v, want <= %v", name, worst, tol*scale)
	}
}

// Ensures TrainBatch only reads the caller's batch (the graph binds a view
// of it instead of copying it).
func TestTrainBatchKeepsInput(t *testing.T) {
	const in, hid, n = 139, 32, 100
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 2})
	x, y := churnLike(4, n)
	x0, y0 := slices.Clone(x), slices.Clone(y)
	for range 3 {
		if _, err := m.TrainBatch(x, y); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(x, x0) || !slices.Equal(y, y0) {
		t.Error("TrainBatch changed its input")
	}
}

// Ensures the loss's shortcut for labels 0 and 1 gives the bits of torch's
// full formula, including at p = 0, p = 1 and for NaN.
func TestBCETermShortcut(t *testing.T) {
	full := func(p, y float32) float32 {
		return float32((y-1)*clampLog(1-p)) - float32(y*clampLog(p))
	}
	ps := []float32{0, 1, 0.5, 1e-30, 1 - 1e-7, 0.3, 0.999, float32(math.NaN())}
	for _, p := range ps {
		for _, y := range []float32{0, 1} {
			got, want := bceTerm(p, y), full(p, y)
			if got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				t.Errorf("bceTerm(%v, %v) = %v, full formula %v", p, y, got, want)
			}
			// the float64 mean sees no difference, signed zeros included
			if m := BCE([]float32{p, p}, []float32{y, y}); !math.IsNaN(m) && m != meanFull(full, p, y) {
				t.Errorf("BCE of (%v, %v) = %v, full formula's mean %v", p, y, m, meanFull(full, p, y))
			}
		}
	}
	if got, want := bceTerm(0.25, 0.5), full(0.25, 0.5); got != want {
		t.Errorf("soft label: bceTerm = %v, full formula %v", got, want)
	}
}

// meanFull is the mean of two equal full-formula terms, summed as meanBCE sums.
func meanFull(full func(p, y float32) float32, p, y float32) float64 {
	var s float64
	s += float64(full(p, y))
	s += float64(full(p, y))
	return s / 2
}
