package nn

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// LinearForm is the model collapsed to one linear function before the
// sigmoid: logit(x) = sum_i x[i]*W[i] + C, with W = W1ᵀ·W2 and
// C = W2·B1 + B2. It holds because the model has no activation between its
// two layers. W and C are computed in float64 (in ascending hidden index)
// and rounded to float32 once; Predict uses exactly these values, so the
// contributions below add up to Predict's logit up to the order of the
// float32 additions.
type LinearForm struct {
	W []float32 // one weight per input
	C float32   // intercept
}

// Linear returns the model's linear form (a fresh copy).
func (m *Model) Linear() LinearForm {
	lf := m.lin.get(m)
	return LinearForm{W: append([]float32(nil), lf.W...), C: lf.C}
}

// Contributions writes each input's contribution x[i]*W[i] to the logit of
// one row x into out and returns the intercept C, so that the logit is
// C + sum(out). It allocates nothing and is safe for concurrent use.
func (lf LinearForm) Contributions(x, out []float32) (intercept float32, err error) {
	if len(x) != len(lf.W) || len(out) != len(lf.W) {
		return 0, fmt.Errorf("%w: contributions of %d values into %d, want %d",
			ErrShape, len(x), len(out), len(lf.W))
	}
	for i, w := range lf.W {
		out[i] = x[i] * w
	}
	return lf.C, nil
}

// linCache holds the model's linear form, computed on first use after the
// parameters last changed. TrainBatch invalidates it (it never runs
// concurrently with Predict); concurrent readers compute it once under mu.
type linCache struct {
	mu    sync.Mutex
	fresh atomic.Bool
	form  LinearForm // W is allocated once, with the model
}

// invalidate marks the cached form stale after a parameter update.
func (c *linCache) invalidate() { c.fresh.Store(false) }

// get returns the cached form of m, computing it if stale. The result
// shares its W with the cache: callers must not modify it.
func (c *linCache) get(m *Model) LinearForm {
	if c.fresh.Load() {
		return c.form
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fresh.Load() {
		m.collapse(&c.form)
		c.fresh.Store(true)
	}
	return c.form
}

// collapse writes W = W1ᵀ·W2 and C = W2·B1 + B2 into lf, each sum taken in
// float64 over ascending hidden index and rounded once. float32 products
// are exact in float64, so W and C are within half a float32 ulp of the
// exact values for all but badly cancelling sums.
func (m *Model) collapse(lf *LinearForm) {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	if len(lf.W) != in {
		lf.W = make([]float32, in)
	}
	w2 := m.w2[:hid]
	for i := range lf.W {
		var s float64
		for j, w := range m.w1[i*hid : (i+1)*hid] {
			s += float64(w) * float64(w2[j])
		}
		lf.W[i] = float32(s)
	}
	c := float64(m.b2[0])
	for j, b := range m.b1 {
		c += float64(b) * float64(w2[j])
	}
	lf.C = float32(c)
}
