package nn

import "fmt"

// LinearForm is the model collapsed to one linear function before the
// sigmoid: logit(x) = sum_i x[i]*W[i] + C, with W = W1ᵀ·W2 and
// C = W2·B1 + B2. It holds because the model has no activation between its
// two layers. W and C are computed in float64 and rounded once, so they
// give exact-up-to-rounding attributions; the logit they give may differ
// from Predict's by float32 rounding.
type LinearForm struct {
	W []float32 // one weight per input
	C float32   // intercept
}

// Linear returns the model's linear form (a fresh copy).
func (m *Model) Linear() LinearForm {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	lf := LinearForm{W: make([]float32, in)}
	for i := range lf.W {
		var s float64
		row := m.w1[i*hid : (i+1)*hid]
		for j, w := range row {
			s += float64(w) * float64(m.w2[j])
		}
		lf.W[i] = float32(s)
	}
	c := float64(m.b2[0])
	for j, b := range m.b1 {
		c += float64(b) * float64(m.w2[j])
	}
	lf.C = float32(c)
	return lf
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
