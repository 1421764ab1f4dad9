package nn

import (
	"fmt"
	"math"
)

// Predict writes the probability of each of the len(out) rows of x into out.
// It is the one forward pass used by validation and by serving; it is safe
// for concurrent use while no TrainBatch runs, and allocates nothing.
//
// It uses the collapsed form of the model (see Linear): W = W1ᵀ·W2 and
// C = W2·B1 + B2, computed once per parameter update in float64 and rounded
// to float32, so a row costs one dot product of length inputs. Per row, in
// float32, with every product rounded before its addition (no FMA):
// partial sums s[k] = sum of x[i]*W[i] over i ≡ k (mod 4) for i < 4*(inputs/4),
// ascending; the last inputs%4 products are added to s[0] in ascending i;
// z = C + ((s[0]+s[1]) + (s[2]+s[3])); p = Sigmoid(z). A row's result
// depends only on that row and the parameters: it is bit-identical whatever
// other rows are in the call.
func (m *Model) Predict(x []float32, out []float32) error {
	in := m.cfg.Inputs
	if len(x) != len(out)*in {
		return fmt.Errorf("%w: x has %d values, want %d rows x %d inputs",
			ErrShape, len(x), len(out), in)
	}
	lf := m.lin.get(m)
	for r := range out {
		out[r] = Sigmoid(lf.logit(x[r*in : (r+1)*in]))
	}
	return nil
}

// logit returns C + x·W in Predict's documented order.
func (lf LinearForm) logit(x []float32) float32 {
	w := lf.W[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += float32(x[i] * w[i])
		s1 += float32(x[i+1] * w[i+1])
		s2 += float32(x[i+2] * w[i+2])
		s3 += float32(x[i+3] * w[i+3])
	}
	for ; i < len(x); i++ {
		s0 += float32(x[i] * w[i])
	}
	return lf.C + ((s0 + s1) + (s2 + s3))
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
