package dataset

import (
	"math"
	"math/rand/v2"
)

// rng is a small seeded random source whose every draw is defined here, on
// top of math/rand/v2's PCG generator, so that synthetic files stay the same
// for a seed whatever the Go release's helpers do. (Splits draw from
// mt19937, to match scikit-learn's.)
type rng struct{ src *rand.PCG }

// newRNG returns a generator seeded by seed.
func newRNG(seed int64) *rng {
	return &rng{src: rand.NewPCG(uint64(seed), 0x6a09e667f3bcc909)}
}

// float64 returns a uniform number in [0, 1) with 53 random bits.
func (r *rng) float64() float64 {
	return float64(r.src.Uint64()>>11) / (1 << 53)
}

// normal returns a standard normal draw (Marsaglia's polar method; the
// second draw of each pair is dropped to keep the state simple).
func (r *rng) normal() float64 {
	for {
		u := 2*r.float64() - 1
		v := 2*r.float64() - 1
		s := float64(u*u) + float64(v*v)
		if s > 0 && s < 1 {
			return u * math.Sqrt(-2*math.Log(s)/s)
		}
	}
}

// gamma returns a Gamma(shape k, scale theta) draw (Marsaglia and Tsang;
// shapes below 1 are boosted by one and scaled back by U^(1/k)).
func (r *rng) gamma(k, theta float64) float64 {
	if k < 1 {
		u := r.float64()
		return r.gamma(k+1, theta) * math.Pow(u, 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.normal()
		v := 1 + float64(c*x)
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.float64()
		x2 := float64(x * x)
		if u < 1-float64(0.0331*float64(x2*x2)) {
			return float64(d*v) * theta
		}
		if math.Log(u) < float64(0.5*x2)+d*(1-v+math.Log(v)) {
			return float64(d*v) * theta
		}
	}
}
