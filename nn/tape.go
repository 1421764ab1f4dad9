package nn

import (
	G "gorgonia.org/gorgonia"
)

// tapeRunner runs a training graph on Gorgonia's tape machine. It is the
// runner of a cuda build, where the tape machine places values and runs
// kernels on the device; elsewhere program is faster (see there) and
// tests hold the two to the same bits.
type tapeRunner struct {
	vm    G.VM
	nodes G.Nodes
}

// newTapeRunner compiles the part of g that outs need, as program does.
func newTapeRunner(g *G.ExprGraph, outs G.Nodes) (runner, error) {
	var inputs G.Nodes
	for _, n := range g.AllNodes() {
		if n.Op() == nil {
			inputs = append(inputs, n)
		}
	}
	prog, locMap, err := G.CompileFunction(g, inputs, outs)
	if err != nil {
		return nil, err
	}
	r := &tapeRunner{vm: G.NewTapeMachine(g, G.WithPrecompiled(prog, locMap))}
	for n := range locMap {
		r.nodes = append(r.nodes, n)
	}
	return r, nil
}

func (r *tapeRunner) bind(n *G.Node, v G.Value) error { return G.Let(n, v) }

func (r *tapeRunner) run() error {
	r.vm.Reset()
	return r.vm.RunAll()
}

func (r *tapeRunner) value(n *G.Node) G.Value { return n.Value() }

func (r *tapeRunner) computes() G.Nodes { return r.nodes }

func (r *tapeRunner) close() {
	if r.vm != nil {
		r.vm.Close()
		r.vm = nil
	}
}
