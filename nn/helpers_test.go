package nn

import (
	"math/rand"
	"testing"
)

// mustNew builds a model or fails the test.
func mustNew(t testing.TB, cfg Config) *Model {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// toyData draws n rows of a linearly separable problem with in inputs: the
// label is 1 when a fixed random direction has a positive dot product with
// the row. A third of the inputs are zero, like one-hot columns.
func toyData(seed int64, n, in int) (x, y []float32) {
	rng := rand.New(rand.NewSource(seed))
	dir := make([]float64, in)
	for i := range dir {
		dir[i] = rng.NormFloat64()
	}
	x, y = make([]float32, n*in), make([]float32, n)
	for r := 0; r < n; r++ {
		var s float64
		for i := 0; i < in; i++ {
			if i%3 == 2 {
				continue
			}
			v := rng.NormFloat64()
			x[r*in+i] = float32(v)
			s += v * dir[i]
		}
		if s > 0 {
			y[r] = 1
		}
	}
	return x, y
}

// batches walks rows in order in batches of bs, the last one the remainder,
// calling f for steps batches and wrapping around at the end.
func batches(x, y []float32, in, bs, steps int, f func(x, y []float32)) {
	n, pos := len(y), 0
	for s := 0; s < steps; s++ {
		end := min(pos+bs, n)
		f(x[pos*in:end*in], y[pos:end])
		if pos = end; pos == n {
			pos = 0
		}
	}
}
