package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxGraphs bounds the graph cache. A training run uses two batch sizes
// (the full batch and an epoch's remainder); a caller that cycles through
// more sizes rebuilds graphs (about a millisecond each, measured) instead
// of growing memory.
const maxGraphs = 4

// Batches of different sizes get one graph each, built on first use and
// cached. All graphs share the model's parameter tensors (views of its
// slab), so an Adam step is seen by every graph. The alternative, one graph
// of the largest size with zero-weighted padding rows, would spend a full
// batch of work on every remainder batch and tie the model to a maximum
// batch size; a second graph costs a few kilobytes of buffers.
type graphCache struct {
	wire   wiring        // nil means wireCollapsed
	runner newRunnerFunc // nil means defaultRunner
	bySize map[int]*trainGraph
	order  []int // batch sizes in build order, for eviction
}

// get returns the graph for batch size n, building it if needed.
func (c *graphCache) get(m *Model, n int) (*trainGraph, error) {
	if g, ok := c.bySize[n]; ok {
		return g, nil
	}
	g, err := buildGraph(m, n, c.wire, c.runner)
	if err != nil {
		return nil, err
	}
	if c.bySize == nil {
		c.bySize = make(map[int]*trainGraph)
	}
	if len(c.order) == maxGraphs {
		oldest := c.order[0]
		c.bySize[oldest].close()
		delete(c.bySize, oldest)
		c.order = c.order[1:]
	}
	c.bySize[n] = g
	c.order = append(c.order, n)
	return g, nil
}

// close releases every cached graph.
func (c *graphCache) close() {
	for _, g := range c.bySize {
		g.close()
	}
	c.bySize, c.order = nil, nil
}

// trainGraph is the forward and backward program for one batch size.
type trainGraph struct {
	n, in    int
	g        *G.ExprGraph
	runner   runner
	xNode    *G.Node   // bound to a view of the caller's batch for each run
	y        []float32 // backing of the label node's value; run copies into it
	probs    *G.Node
	lossNode *G.Node
	loss     *bceOp
	grads    [4]*G.Node // dW1, dB1, dW2, dB2 in slab order
	offset   [4]int     // where each gradient's parameter starts in the slab
}

// buildGraph builds and compiles the program for batches of n rows (see
// wireCollapsed for the association order), with W1 stored inputs x hidden and b1,
// w2, b2, the logits and the probabilities as vectors.
func buildGraph(m *Model, n int, wire wiring, newRunner newRunnerFunc) (*trainGraph, error) {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	g := G.NewGraph()
	tg := &trainGraph{n: n, in: in, g: g, y: make([]float32, n)}
	// x gets its value, a view of the caller's batch, in run.
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(n, in), G.WithName("x"))
	tg.xNode = x
	y := vector(g, "y", tg.y)
	w1 := matrix(g, "w1", m.w1, in, hid)
	b1 := vector(g, "b1", m.b1)
	w2 := vector(g, "w2", m.w2)
	b2 := vector(g, "b2", m.b2)
	tg.loss = newBCEOp(n)
	if wire == nil {
		wire = wireCollapsed
	}
	if err := wire(tg, x, y, w1, b1, w2, b2); err != nil {
		return nil, fmt.Errorf("nn: build graph for %d rows: %w", n, err)
	}
	tg.offset = [4]int{0, in * hid, in*hid + hid, in*hid + 2*hid}
	// Run only what the loss, the probabilities and the parameter
	// gradients need: the gradient node Gorgonia creates for x is dropped.
	outs := G.Nodes{tg.lossNode, tg.probs, tg.grads[0], tg.grads[1], tg.grads[2], tg.grads[3]}
	if newRunner == nil {
		newRunner = defaultRunner
	}
	r, err := newRunner(g, outs)
	if err != nil {
		return nil, fmt.Errorf("nn: compile graph for %d rows: %w", n, err)
	}
	tg.runner = r
	return tg, nil
}

// wiring adds a forward pass from the logits z to the loss and the symbolic
// gradients to tg. Tests swap in another association order as a cross-check.
type wiring func(tg *trainGraph, x, y, w1, b1, w2, b2 *G.Node) error

// wireCollapsed adds the forward pass in the collapsed association order,
//
//	v = W1·w2, c = b1·w2 + b2, z = x·v + c, p = sigmoid(z), loss = BCE(p, y)
//
// which is the model (x·W1 + b1)·w2 + b2 regrouped: the same parameters, the
// same function, the same gradients, and no matrix-matrix product.
//
// The regrouping is exact in real arithmetic because, as in the original
// recipe, there is no activation between the two linear layers; in float32
// it changes only the rounding. Gorgonia's autodiff then gives
// dv = xᵀ·dz and dc = sum(dz) from the two matrix-vector products, and
// from those dW1 = outer(dv, w2), db1 = w2·dc, dw2 = W1ᵀ·dv + b1·dc,
// db2 = dc: for 512 x 139 x 32 about 2*n*in + 3*in*hid multiply-adds
// (~156k) where x·W1 and xᵀ·dH cost 2*n*in*hid (~4.6M), ~30 times fewer.
//
// Adding an activation f between the layers would end the regrouping: the
// hidden layer f(x·W1 + b1) must then be formed, the two n x in x hidden
// matrix products return (forward, and xᵀ·dH backward), and a step costs
// what it cost before this form (BenchmarkGemmFloor times those products);
// Predict and Linear would also have to change, since both rely on the
// model being linear up to the sigmoid.
func wireCollapsed(tg *trainGraph, x, y, w1, b1, w2, b2 *G.Node) error {
	v, err := G.Mul(w1, w2) // inputs-vector
	if err != nil {
		return err
	}
	bw, err := G.Mul(b1, w2) // scalar
	if err != nil {
		return err
	}
	c, err := G.Add(bw, b2) // 1-vector
	if err != nil {
		return err
	}
	xv, err := G.Mul(x, v) // n-vector
	if err != nil {
		return err
	}
	z, err := G.BroadcastAdd(xv, c, nil, []byte{0})
	if err != nil {
		return err
	}
	return tg.wireLoss(z, y, w1, b1, w2, b2)
}

// wireLoss adds the sigmoid, the loss and the parameter gradients after
// the logits z.
func (tg *trainGraph) wireLoss(z, y, w1, b1, w2, b2 *G.Node) error {
	var err error
	if tg.probs, err = G.ApplyOp(newSigmoidOp(tg.n), z); err != nil {
		return err
	}
	if tg.lossNode, err = G.ApplyOp(tg.loss, tg.probs, y); err != nil {
		return err
	}
	grads, err := G.Grad(tg.lossNode, w1, b1, w2, b2)
	if err != nil {
		return err
	}
	copy(tg.grads[:], grads)
	return nil
}

// vector adds a float32 vector input node whose value is a view of data.
func vector(g *G.ExprGraph, name string, data []float32) *G.Node {
	t := tensor.New(tensor.WithShape(len(data)), tensor.WithBacking(data))
	return G.NewVector(g, tensor.Float32, G.WithShape(len(data)), G.WithName(name), G.WithValue(t))
}

// matrix adds a rows x cols float32 input node whose value is a view of data.
func matrix(g *G.ExprGraph, name string, data []float32, rows, cols int) *G.Node {
	t := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data))
	return G.NewMatrix(g, tensor.Float32, G.WithShape(rows, cols), G.WithName(name), G.WithValue(t))
}

// run executes the program once on batch x (n x in, row-major) and labels
// y (n). x is not copied: the input node is bound to a view of it, which
// the program only reads (no op of the graph overwrites its input), so a
// step saves a 4*n*in-byte copy. The view stays bound until the next run;
// nothing reads it in between.
func (tg *trainGraph) run(x, y []float32) error {
	xt := tensor.New(tensor.WithShape(tg.n, tg.in), tensor.WithBacking(x))
	if err := tg.runner.bind(tg.xNode, xt); err != nil {
		return fmt.Errorf("nn: bind batch of %d rows: %w", tg.n, err)
	}
	copy(tg.y, y)
	if err := tg.runner.run(); err != nil {
		return fmt.Errorf("nn: run graph for %d rows: %w", tg.n, err)
	}
	return nil
}

// grad returns the float32 data of gradient k after a run.
func (tg *trainGraph) grad(k int) []float32 {
	return tg.runner.value(tg.grads[k]).Data().([]float32)
}

// probData returns the batch's probabilities after a run.
func (tg *trainGraph) probData() []float32 {
	return tg.runner.value(tg.probs).Data().([]float32)
}

// close releases the runner.
func (tg *trainGraph) close() {
	if tg.runner != nil {
		tg.runner.close()
		tg.runner = nil
	}
}
