package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
)

// Default Adam settings, PyTorch's.
const (
	DefaultBeta1 = 0.9
	DefaultBeta2 = 0.999
	DefaultEps   = 1e-8
)

// maxParams bounds the parameter count so that a corrupted header cannot ask
// for an absurd allocation.
const maxParams = 1 << 26

// ErrShape is wrapped by errors about slice lengths that do not match the
// model's shape.
var ErrShape = errors.New("nn: shape mismatch")

// Config sets the model's shape and optimiser. Zero optimiser fields take
// PyTorch's Adam defaults (beta1 0.9, beta2 0.999, eps 1e-8).
type Config struct {
	Inputs, Hidden    int     // layer widths; both must be >= 1
	LR                float64 // Adam learning rate; must be > 0
	Beta1, Beta2, Eps float64 // Adam settings; zero means PyTorch's default
	Seed              int64   // initialisation seed
}

// withDefaults returns c with zero optimiser fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Beta1 == 0 {
		c.Beta1 = DefaultBeta1
	}
	if c.Beta2 == 0 {
		c.Beta2 = DefaultBeta2
	}
	if c.Eps == 0 {
		c.Eps = DefaultEps
	}
	return c
}

// validate reports the first invalid field of c (after defaults).
func (c Config) validate() error {
	switch {
	case c.Inputs < 1 || c.Hidden < 1:
		return fmt.Errorf("nn: config: inputs %d and hidden %d must be >= 1", c.Inputs, c.Hidden)
	case paramCount(c.Inputs, c.Hidden) > maxParams:
		return fmt.Errorf("nn: config: %d inputs x %d hidden exceeds %d parameters",
			c.Inputs, c.Hidden, maxParams)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("nn: config: learning rate %v must be finite and > 0", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("nn: config: betas %v, %v must be in [0, 1)", c.Beta1, c.Beta2)
	case !(c.Eps > 0) || math.IsInf(c.Eps, 0):
		return fmt.Errorf("nn: config: eps %v must be finite and > 0", c.Eps)
	}
	return nil
}

// paramCount is the number of scalars in the model, computed without
// overflow for any int inputs.
func paramCount(inputs, hidden int) int64 {
	return int64(inputs)*int64(hidden) + 2*int64(hidden) + 1
}

// Model is the classifier with its optimiser state. Its parameters live in
// one float32 slab; Gorgonia's tensors for them are views of that slab, so
// the optimiser, Predict and persistence work on plain slices.
//
// A Model is not safe for concurrent TrainBatch calls; Predict, Params and
// Linear may run concurrently with each other while no TrainBatch runs.
type Model struct {
	cfg Config

	// params is the slab [W1 (inputs x hidden, transposed from PyTorch) |
	// B1 | W2 | B2]; w1, b1, w2 and b2 are views of it.
	params         []float32
	w1, b1, w2, b2 []float32

	adam adam

	lin    linCache   // the collapsed form Predict uses, recomputed after updates
	graphs graphCache // training graphs by batch size, built lazily
}

// New builds a model with PyTorch-style default initialisation from cfg.Seed.
func New(cfg Config) (*Model, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := newModel(cfg)
	m.init(rand.New(rand.NewSource(cfg.Seed)))
	return m, nil
}

// newModel allocates the slab and the optimiser state for cfg, zeroed.
func newModel(cfg Config) *Model {
	in, hid := cfg.Inputs, cfg.Hidden
	m := &Model{cfg: cfg, params: make([]float32, paramCount(in, hid))}
	m.w1 = m.params[:in*hid]
	m.b1 = m.params[in*hid : in*hid+hid]
	m.w2 = m.params[in*hid+hid : in*hid+2*hid]
	m.b2 = m.params[in*hid+2*hid:]
	m.adam = newAdam(cfg, len(m.params))
	m.lin.form.W = make([]float32, in)
	return m
}

// init draws the parameters in PyTorch's order (W1, B1, W2, B2, each in
// PyTorch's row-major layout) from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
// The stream differs from torch's generator; the distribution is the same.
func (m *Model) init(rng *rand.Rand) {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	b1 := 1 / math.Sqrt(float64(in))
	b2 := 1 / math.Sqrt(float64(hid))
	for j := 0; j < hid; j++ {
		for i := 0; i < in; i++ {
			m.w1[i*hid+j] = uniform(rng, b1)
		}
	}
	for j := range m.b1 {
		m.b1[j] = uniform(rng, b1)
	}
	for j := range m.w2 {
		m.w2[j] = uniform(rng, b2)
	}
	m.b2[0] = uniform(rng, b2)
}

// uniform draws from U(-bound, bound) rounded to float32.
func uniform(rng *rand.Rand, bound float64) float32 {
	return float32((2*rng.Float64() - 1) * bound)
}

// Config returns the model's configuration with defaults filled in.
func (m *Model) Config() Config { return m.cfg }

// SetLR changes Adam's learning rate for the steps to come, keeping its
// moments and step count (as setting a PyTorch optimizer's param_groups'
// lr does): a warm start trains on new data at its own rate. The model's
// Config, and so its file, reports the new rate.
func (m *Model) SetLR(lr float64) error {
	c := m.cfg
	c.LR = lr
	if err := c.validate(); err != nil {
		return err
	}
	m.cfg.LR, m.adam.lr = lr, lr
	return nil
}

// Step returns the number of optimiser steps taken so far.
func (m *Model) Step() int { return m.adam.step }

// Params are the model's parameters in PyTorch's layout.
type Params struct {
	Inputs, Hidden int
	W1             []float32 // [hidden][inputs], row-major
	B1             []float32 // [hidden]
	W2             []float32 // [hidden] (PyTorch's [1][hidden])
	B2             float32
}

// Params returns copies of the parameters: W1 [hidden][inputs], B1 [hidden],
// W2 [hidden], B2 scalar (PyTorch layout).
func (m *Model) Params() Params {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	p := Params{
		Inputs: in, Hidden: hid,
		W1: make([]float32, in*hid),
		B1: append([]float32(nil), m.b1...),
		W2: append([]float32(nil), m.w2...),
		B2: m.b2[0],
	}
	transpose(p.W1, m.w1, in, hid)
	return p
}

// transpose writes the rows x cols row-major matrix src into dst as
// cols x rows.
func transpose(dst, src []float32, rows, cols int) {
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
}

// Close releases the training graphs. The model still predicts, and a later
// TrainBatch builds its graph again.
func (m *Model) Close() error {
	m.graphs.close()
	return nil
}
