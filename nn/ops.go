package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gorgonia has no clamp, so the loss and its gradient are two small ops of
// this package with torch.nn.BCELoss's semantics. Both own their output
// buffers, sized once for the graph's batch size, so a run allocates nothing
// for them.

// bceEpsilon is the floor torch puts under p(1-p) in BCELoss's gradient.
const bceEpsilon = float32(1e-12)

// bceTerm is one row's loss, -(y*max(log p, -100) + (1-y)*max(log(1-p), -100)),
// written as torch writes it: (y-1)*max(log(1-p), -100) - y*max(log p, -100).
// For a label of exactly 0 or 1 the term whose weight is zero is skipped:
// the clamped log is finite or NaN, so the skipped product is a signed zero
// (or NaN, and then the other log is NaN too), and the result differs at
// most in the sign of a zero, which no sum of terms can see.
func bceTerm(p, y float32) float32 {
	switch y {
	case 1:
		return -clampLog(p)
	case 0:
		return -clampLog(1 - p)
	}
	return float32((y-1)*clampLog(1-p)) - float32(y*clampLog(p))
}

// clampLog is max(log q, -100) in float64, rounded to float32.
func clampLog(q float32) float32 {
	return float32(math.Max(math.Log(float64(q)), -100))
}

// meanBCE is the mean of bceTerm over the rows, summed in float64.
func meanBCE(p, y []float32) float64 {
	var s float64
	for i := range p {
		s += float64(bceTerm(p[i], y[i]))
	}
	return s / float64(len(p))
}

// bceOp maps probabilities p and labels y (n-vectors) to their mean BCE
// as a float32 scalar; it keeps the float64 mean for TrainBatch to return.
type bceOp struct {
	n    int
	out  *G.F32
	mean float64
	grad *bceGradOp
}

func newBCEOp(n int) *bceOp {
	return &bceOp{n: n, out: G.NewF32(0), grad: newBCEGradOp(n)}
}

func (op *bceOp) Arity() int { return 2 }

func (op *bceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(t, t, a)
}

func (op *bceOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }

func (op *bceOp) Do(vals ...G.Value) (G.Value, error) {
	p, y, err := twoF32(vals, op.n)
	if err != nil {
		return nil, err
	}
	op.mean = meanBCE(p, y)
	*op.out = G.F32(op.mean)
	return op.out, nil
}

func (op *bceOp) ReturnsPtr() bool      { return false }
func (op *bceOp) CallsExtern() bool     { return false }
func (op *bceOp) OverwritesInput() int  { return -1 }
func (op *bceOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.bce(%d)", op.n) }
func (op *bceOp) Hashcode() uint32      { return hashOp(op) }
func (op *bceOp) String() string        { return "BCE" }

// DiffWRT says the loss is differentiated with respect to p, not y.
func (op *bceOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff returns the gradient node for p (and none for y).
func (op *bceOp) SymDiff(inputs G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dp, err := G.ApplyOp(op.grad, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, fmt.Errorf("nn: bce gradient: %w", err)
	}
	return G.Nodes{dp, nil}, nil
}

// bceGradOp computes torch's BCELoss gradient with respect to p for the
// mean reduction: g*(p-y)/max((1-p)p, 1e-12)/n.
type bceGradOp struct {
	n   int
	out *tensor.Dense
}

func newBCEGradOp(n int) *bceGradOp {
	return &bceGradOp{n: n, out: tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))}
}

func (op *bceGradOp) Arity() int { return 3 }

func (op *bceGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(t, t, a, t)
}

func (op *bceGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n}, nil
}

func (op *bceGradOp) Do(vals ...G.Value) (G.Value, error) {
	if len(vals) != 3 {
		return nil, fmt.Errorf("nn: bce gradient: %d inputs, want 3", len(vals))
	}
	p, y, err := twoF32(vals[:2], op.n)
	if err != nil {
		return nil, err
	}
	g, ok := vals[2].(*G.F32)
	if !ok {
		return nil, fmt.Errorf("nn: bce gradient: upstream gradient is %T, want *F32", vals[2])
	}
	gv, n := float32(*g), float32(op.n)
	out := op.out.Data().([]float32)
	for i := range out {
		d := max(float32((1-p[i])*p[i]), bceEpsilon)
		out[i] = float32(float32((p[i]-y[i])/d)*gv) / n
	}
	return op.out, nil
}

func (op *bceGradOp) ReturnsPtr() bool      { return false }
func (op *bceGradOp) CallsExtern() bool     { return false }
func (op *bceGradOp) OverwritesInput() int  { return -1 }
func (op *bceGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.bcegrad(%d)", op.n) }
func (op *bceGradOp) Hashcode() uint32      { return hashOp(op) }
func (op *bceGradOp) String() string        { return "BCEGrad" }

// twoF32 returns the float32 data of two n-element tensors.
func twoF32(vals []G.Value, n int) (a, b []float32, err error) {
	if len(vals) != 2 {
		return nil, nil, fmt.Errorf("nn: bce: %d inputs, want 2", len(vals))
	}
	a, okA := vals[0].Data().([]float32)
	b, okB := vals[1].Data().([]float32)
	if !okA || !okB || len(a) != n || len(b) != n {
		return nil, nil, fmt.Errorf("nn: bce: inputs %v and %v, want %d float32 each",
			vals[0].Shape(), vals[1].Shape(), n)
	}
	return a, b, nil
}

// hashOp hashes an op by its WriteHash text.
func hashOp(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// sigmoidOp is the logistic function on an n-vector with torch's
// semantics: the forward value is Sigmoid(z) and the backward pass uses that
// value, g*(1-p)*p. Gorgonia's own sigmoid is not used: it returns exactly 1
// above z = 15 while its derivative, after Gorgonia's stabilisation
// rewrites 1-sigmoid(z) as sigmoid(-z), does not saturate; combined with
// BCE's 1e-12 floor, a confidently wrong row would get a gradient about 1e5
// times too large.
type sigmoidOp struct {
	n    int
	out  *tensor.Dense
	grad *sigmoidGradOp
}

func newSigmoidOp(n int) *sigmoidOp {
	return &sigmoidOp{n: n, out: colVector(n), grad: &sigmoidGradOp{n: n, out: colVector(n)}}
}

// colVector allocates an n-element float32 vector.
func colVector(n int) *tensor.Dense {
	return tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float32))
}

func (op *sigmoidOp) Arity() int { return 1 }

func (op *sigmoidOp) Type() hm.Type {
	t := G.TensorType{Dims: 1, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

func (op *sigmoidOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n}, nil
}

func (op *sigmoidOp) Do(vals ...G.Value) (G.Value, error) {
	z, ok := vals[0].Data().([]float32)
	if len(vals) != 1 || !ok || len(z) != op.n {
		return nil, fmt.Errorf("nn: sigmoid: input %v, want %d float32", vals[0].Shape(), op.n)
	}
	out := op.out.Data().([]float32)
	for i, zi := range z {
		out[i] = Sigmoid(zi)
	}
	return op.out, nil
}

func (op *sigmoidOp) ReturnsPtr() bool      { return false }
func (op *sigmoidOp) CallsExtern() bool     { return false }
func (op *sigmoidOp) OverwritesInput() int  { return -1 }
func (op *sigmoidOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.sigmoid(%d)", op.n) }
func (op *sigmoidOp) Hashcode() uint32      { return hashOp(op) }
func (op *sigmoidOp) String() string        { return "Sigmoid" }

// DiffWRT says the op is differentiable in its input.
func (op *sigmoidOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff returns the gradient node for z, computed from the output p.
func (op *sigmoidOp) SymDiff(_ G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dz, err := G.ApplyOp(op.grad, output, grad)
	if err != nil {
		return nil, fmt.Errorf("nn: sigmoid gradient: %w", err)
	}
	return G.Nodes{dz}, nil
}

// sigmoidGradOp computes g*(1-p)*p, in that order, from p and g.
type sigmoidGradOp struct {
	n   int
	out *tensor.Dense
}

func (op *sigmoidGradOp) Arity() int { return 2 }

func (op *sigmoidGradOp) Type() hm.Type {
	t := G.TensorType{Dims: 1, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

func (op *sigmoidGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n}, nil
}

func (op *sigmoidGradOp) Do(vals ...G.Value) (G.Value, error) {
	p, g, err := twoF32(vals, op.n)
	if err != nil {
		return nil, err
	}
	out := op.out.Data().([]float32)
	for i := range out {
		out[i] = float32(float32(g[i]*(1-p[i])) * p[i])
	}
	return op.out, nil
}

func (op *sigmoidGradOp) ReturnsPtr() bool      { return false }
func (op *sigmoidGradOp) CallsExtern() bool     { return false }
func (op *sigmoidGradOp) OverwritesInput() int  { return -1 }
func (op *sigmoidGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "nn.sigmoidgrad(%d)", op.n) }
func (op *sigmoidGradOp) Hashcode() uint32      { return hashOp(op) }
func (op *sigmoidGradOp) String() string        { return "SigmoidGrad" }
