package nn

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// runner runs a training graph's forward and backward pass.
type runner interface {
	// bind sets the value of an input node for the next runs.
	bind(n *G.Node, v G.Value) error
	// run computes every output once.
	run() error
	// value returns node n's value after a run.
	value(n *G.Node) G.Value
	// computes returns the nodes a run computes or reads.
	computes() G.Nodes
	// close releases what the runner holds.
	close()
}

// newRunnerFunc builds a runner that computes outs from g's input nodes.
type newRunnerFunc func(g *G.ExprGraph, outs G.Nodes) (runner, error)

// program runs a graph Gorgonia built and differentiated: each node's op,
// in topological order, on the values of its children, writing into an
// output allocated once where the op can (Gorgonia's UsePreallocDoer, and
// this package's ops, which own their outputs). It is the runner of the
// default build.
//
// It stands in for Gorgonia's tape machine (tapeRunner), measured: on a
// 512-row step the tape machine allocated every op's output again on each
// run (about 34 KB in 320 allocations) and handed the run to a goroutine
// on another OS thread (RunAll locks its caller's thread), two thread
// switches a step; a program step takes 82 us where the tape machine's
// took 213, with the same ops, kernels and gradient graph, and the same
// bits (TestProgramMatchesTapeMachine).
type program struct {
	steps []step
	vals  []G.Value // by node position in the program, children first
	index map[*G.Node]int
}

// step is one op node of a program.
type step struct {
	op   G.Op
	args []int     // positions of the children's values, in argument order
	argv []G.Value // the children's values for one run, reused
	pre  G.Value   // the output written in place; nil for an op without
	out  int       // the position of the output's value
	name string    // the node's name, for errors
}

// newProgram builds the program that computes outs from the graph's input
// nodes (nodes without an op, whose values are bound before a run).
// Nodes that no output needs are left out: the gradient Gorgonia derives
// for the batch matrix, for one.
func newProgram(g *G.ExprGraph, outs G.Nodes) (runner, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, err
	}
	need := needed(g, outs)
	p := &program{index: make(map[*G.Node]int)}
	for _, n := range slices.Backward(sorted) { // children before parents
		if !need[n] {
			continue
		}
		if err := p.add(g, n); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name(), err)
		}
	}
	return p, nil
}

// needed returns the nodes outs depend on, outs included.
func needed(g *G.ExprGraph, outs G.Nodes) map[*G.Node]bool {
	need := make(map[*G.Node]bool)
	stack := slices.Clone(outs)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if need[n] {
			continue
		}
		need[n] = true
		stack = append(stack, children(g, n)...)
	}
	return need
}

// children returns n's children in argument order.
func children(g *G.ExprGraph, n *G.Node) G.Nodes {
	it := g.From(n.ID())
	out := make(G.Nodes, 0, it.Len())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// add appends node n, whose children are already in p.
func (p *program) add(g *G.ExprGraph, n *G.Node) error {
	pos := len(p.vals)
	p.index[n] = pos
	p.vals = append(p.vals, n.Value()) // an input's bound value; nil for an op node
	op := n.Op()
	if op == nil {
		return nil
	}
	kids := children(g, n)
	s := step{op: op, out: pos, name: n.Name(), argv: make([]G.Value, len(kids))}
	for _, c := range kids {
		s.args = append(s.args, p.index[c])
	}
	if len(kids) == 0 { // a constant: its value once
		v, err := op.Do()
		if err != nil {
			return err
		}
		p.vals[pos] = v
		return nil
	}
	if _, ok := op.(G.UsePreallocDoer); ok && !n.IsScalar() && n.Dtype() == tensor.Float32 {
		s.pre = tensor.New(tensor.WithShape(n.Shape()...), tensor.Of(tensor.Float32))
	}
	p.steps = append(p.steps, s)
	return nil
}

func (p *program) bind(n *G.Node, v G.Value) error {
	i, ok := p.index[n]
	if !ok {
		return fmt.Errorf("bind %s: not an input of the program", n.Name())
	}
	p.vals[i] = v
	return nil
}

func (p *program) value(n *G.Node) G.Value { return p.vals[p.index[n]] }

func (p *program) computes() G.Nodes {
	out := make(G.Nodes, 0, len(p.index))
	for n := range p.index {
		out = append(out, n)
	}
	return out
}

func (p *program) close() { p.vals, p.steps = nil, nil }

func (p *program) run() error {
	for i := range p.steps {
		s := &p.steps[i]
		for k, a := range s.args {
			s.argv[k] = p.vals[a]
		}
		var v G.Value
		var err error
		if s.pre != nil {
			v, err = s.op.(G.UsePreallocDoer).UsePreallocDo(s.pre, s.argv...)
		} else {
			v, err = s.op.Do(s.argv...)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		p.vals[s.out] = v
	}
	return nil
}
