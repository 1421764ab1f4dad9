package nn

import (
	"fmt"
	"math"
)

// Predict writes the probability of each of the len(out) rows of x into out.
// It is the one forward pass used by validation and by serving; it is safe
// for concurrent use while no TrainBatch runs, and allocates nothing for
// models of up to 64 hidden units.
//
// Per row, in float32 and in this order: h[j] = b1[j], then h[j] += x[i]*W1[i][j]
// for i ascending (inputs with x[i] == 0 are skipped, which changes no bit
// for finite weights); z = b2 + sum over j ascending of w2[j]*h[j];
// p = Sigmoid(z). Every product is rounded before its addition (no FMA).
func (m *Model) Predict(x []float32, out []float32) error {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	if len(x) != len(out)*in {
		return fmt.Errorf("%w: x has %d values, want %d rows x %d inputs",
			ErrShape, len(x), len(out), in)
	}
	var stack [64]float32
	h := stack[:0]
	if hid <= len(stack) {
		h = stack[:hid]
	} else {
		h = make([]float32, hid)
	}
	for r := range out {
		out[r] = Sigmoid(m.logit(x[r*in:(r+1)*in], h))
	}
	return nil
}

// logit returns one row's pre-sigmoid value, using h as scratch. The
// non-zero inputs are taken four at a time so that h is loaded and stored
// once per four inputs; the additions into each h[j] stay in ascending i.
func (m *Model) logit(x, h []float32) float32 {
	hid := len(h)
	copy(h, m.b1)
	var idx [4]int
	k := 0
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		if idx[k] = i; k < 3 {
			k++
			continue
		}
		k = 0
		axpy4(h, m.w1, x, idx, hid)
	}
	for _, i := range idx[:k] {
		axpy(h, m.w1[i*hid:(i+1)*hid], x[i])
	}
	z := m.b2[0]
	w2 := m.w2[:hid]
	for j, hj := range h {
		z += float32(w2[j] * hj)
	}
	return z
}

// axpy4 adds x[i]*W1[i][:] to h for the four inputs in idx, in that order.
func axpy4(h, w1, x []float32, idx [4]int, hid int) {
	a0, a1, a2, a3 := x[idx[0]], x[idx[1]], x[idx[2]], x[idx[3]]
	w0 := w1[idx[0]*hid : idx[0]*hid+len(h)]
	wa := w1[idx[1]*hid : idx[1]*hid+len(h)]
	wb := w1[idx[2]*hid : idx[2]*hid+len(h)]
	wc := w1[idx[3]*hid : idx[3]*hid+len(h)]
	for j := range h {
		s := h[j] + float32(a0*w0[j])
		s += float32(a1 * wa[j])
		s += float32(a2 * wb[j])
		h[j] = s + float32(a3*wc[j])
	}
}

// axpy sets h[j] += a*w[j]; each product is rounded before the add, so the
// result does not depend on whether the compiler emits FMA.
func axpy(h, w []float32, a float32) {
	w = w[:len(h)]
	for j := range h {
		h[j] += float32(a * w[j])
	}
}

// Sigmoid is the model's float32 logistic function, used by the training
// graph and by Predict: 1/(1+exp(-z)) computed in float64 and rounded to
// float32 once. It needs no clamps: exp overflows to +Inf for very negative
// z, giving 0, and underflows to 0 for large z, giving 1; the result lies
// in [0, 1] for every z, and NaN stays NaN.
func Sigmoid(z float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(z))))
}

// BCE returns the mean binary cross-entropy of probabilities p against
// labels y, clamping log terms as PyTorch's BCELoss does (log >= -100). It
// is the training loss's formula, term for term, summed in float64.
// It panics if the lengths differ (a caller bug) and returns NaN for none.
func BCE(p, y []float32) float64 {
	if len(p) != len(y) {
		panic(fmt.Sprintf("nn: BCE of %d probabilities against %d labels", len(p), len(y)))
	}
	if len(p) == 0 {
		return math.NaN()
	}
	return meanBCE(p, y)
}
