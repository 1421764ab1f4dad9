package nn

// This file holds the agreed exported API of the package while it is being
// written. The owner of the package replaces these stubs with real code.

import (
	"errors"
	"io"
)

var errStub = errors.New("nn: not implemented yet")

// Config sets the model's shape and optimiser. Zero optimiser fields take
// PyTorch's Adam defaults (beta1 0.9, beta2 0.999, eps 1e-8).
type Config struct {
	Inputs, Hidden    int
	LR                float64
	Beta1, Beta2, Eps float64
	Seed              int64 // initialisation seed
}

// Model is the classifier with its optimiser state.
type Model struct{}

// New builds a model with PyTorch-style default initialisation from cfg.Seed.
func New(cfg Config) (*Model, error) { return nil, errStub }

// TrainBatch runs forward, backward and one Adam step on rows of x (row-major,
// len(y) rows) and returns the batch's mean BCE loss before the step.
func (m *Model) TrainBatch(x, y []float32) (loss float64, err error) { return 0, errStub }

// Predict writes the probability of each of the len(out) rows of x into out.
// It is the one forward pass used by validation and by serving; it is safe
// for concurrent use while no TrainBatch runs.
func (m *Model) Predict(x []float32, out []float32) error { return errStub }

// Params returns copies of the parameters: W1 [hidden][inputs], B1 [hidden],
// W2 [hidden], B2 scalar (PyTorch layout).
func (m *Model) Params() Params { return Params{} }

// Params are the model's parameters in PyTorch's layout.
type Params struct {
	Inputs, Hidden int
	W1, B1, W2     []float32
	B2             float32
}

// WriteTo writes parameters and optimiser state in the documented format.
func (m *Model) WriteTo(w io.Writer) (int64, error) { return 0, errStub }

// Read reads a model written by WriteTo.
func Read(r io.Reader) (*Model, error) { return nil, errStub }

// Close releases the graph's resources.
func (m *Model) Close() error { return nil }

// BCE returns the mean binary cross-entropy of probabilities p against
// labels y, clamping log terms as PyTorch's BCELoss does (log >= -100).
func BCE(p, y []float32) float64 { return 0 }
