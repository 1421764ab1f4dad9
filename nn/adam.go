package nn

import "math"

// adam is torch.optim.Adam (no weight decay, no amsgrad) over one float32
// slab. Gorgonia's AdamSolver is not used: it applies bias correction to the
// learning rate alone and puts eps inside differently, so it does not
// reproduce PyTorch's trajectory.
//
// Per element, in float32, in this order (torch's single-tensor CPU path):
//
//	m = m + (1-beta1)*(g - m)          (lerp)
//	v = v*beta2 + (1-beta2)*g*g        (mul_, addcmul_)
//	d = sqrt(v)/sqrt(1-beta2^t) + eps
//	p = p + (-lr/(1-beta1^t))*m / d    (addcdiv_)
//
// The step scalars are computed in float64 and rounded to float32 once, as
// torch rounds Python floats when it applies them to float32 tensors. Every
// product is wrapped in a float32 conversion so that the compiler cannot
// fuse it into an FMA: the result is the same on every amd64/arm64 build.
type adam struct {
	lr, beta1, beta2, eps float64
	step                  int
	m, v                  []float32 // first and second moments, slab layout
}

// newAdam returns zeroed optimiser state for n parameters.
func newAdam(cfg Config, n int) adam {
	return adam{
		lr: cfg.LR, beta1: cfg.Beta1, beta2: cfg.Beta2, eps: cfg.Eps,
		m: make([]float32, n), v: make([]float32, n),
	}
}

// adamScalars are one step's constants, rounded to float32.
type adamScalars struct {
	w1, b2, w2, bc2sqrt, eps, negStep float32
}

// scalars advances the step count and returns its constants.
func (a *adam) scalars() adamScalars {
	a.step++
	t := float64(a.step)
	bc1 := 1 - math.Pow(a.beta1, t)
	bc2 := 1 - math.Pow(a.beta2, t)
	return adamScalars{
		w1:      float32(1 - a.beta1),
		b2:      float32(a.beta2),
		w2:      float32(1 - a.beta2),
		bc2sqrt: float32(math.Sqrt(bc2)),
		eps:     float32(a.eps),
		negStep: float32(-a.lr / bc1),
	}
}

// update applies the current step to params[off:off+len(g)] from gradient g.
func (a *adam) update(params []float32, off int, g []float32, s adamScalars) {
	p := params[off : off+len(g)]
	m := a.m[off : off+len(g)]
	v := a.v[off : off+len(g)]
	for i, gi := range g {
		mi := m[i] + float32(s.w1*(gi-m[i]))
		vi := float32(v[i]*s.b2) + float32(float32(s.w2*gi)*gi)
		d := float32(sqrt32(vi)/s.bc2sqrt) + s.eps
		p[i] += float32(s.negStep*mi) / d
		m[i], v[i] = mi, vi
	}
}

// sqrt32 is the correctly rounded float32 square root (float64 sqrt of a
// float32 rounds to the same value).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
