package nn

import (
	"fmt"
	"math"
)

// NumericError reports a non-finite loss or gradient. The step that met it
// was not applied: parameters and optimiser state are as before the call.
type NumericError struct {
	Step int     // the optimiser step that would have been taken (1-based)
	Loss float64 // the batch's loss; finite when a gradient was the problem
	What string  // "loss" or the name of the parameter whose gradient failed
}

// Error says what was non-finite and at which step.
func (e *NumericError) Error() string {
	return fmt.Sprintf("nn: non-finite %s at step %d (loss %v)", e.What, e.Step, e.Loss)
}

// TrainBatch runs forward, backward and one Adam step on rows of x (row-major,
// len(y) rows) and returns the batch's mean BCE loss before the step.
func (m *Model) TrainBatch(x, y []float32) (loss float64, err error) {
	return m.TrainBatchProbs(x, y, nil)
}

// TrainBatchProbs is TrainBatch that also writes the batch's probabilities
// (before the step, from the graph's forward pass) into probs, which must be
// nil or have len(y) elements. They come from the same pass that gives the
// loss, at the cost of one copy.
//
// A NaN or Inf loss or gradient returns a *NumericError and leaves the model
// unchanged.
func (m *Model) TrainBatchProbs(x, y, probs []float32) (loss float64, err error) {
	n := len(y)
	switch {
	case n == 0:
		return 0, fmt.Errorf("%w: empty batch", ErrShape)
	case len(x) != n*m.cfg.Inputs:
		return 0, fmt.Errorf("%w: x has %d values, want %d rows x %d inputs",
			ErrShape, len(x), n, m.cfg.Inputs)
	case probs != nil && len(probs) != n:
		return 0, fmt.Errorf("%w: probs has %d values, want %d", ErrShape, len(probs), n)
	}
	tg, err := m.graphs.get(m, n)
	if err != nil {
		return 0, err
	}
	if err := tg.run(x, y); err != nil {
		return 0, err
	}
	loss = tg.loss.mean
	if err := m.checkFinite(tg, loss); err != nil {
		return loss, err
	}
	if probs != nil {
		copy(probs, tg.probData())
	}
	s := m.adam.scalars()
	for k := range tg.grads {
		m.adam.update(m.params, tg.offset[k], tg.grad(k), s)
	}
	m.lin.invalidate()
	return loss, nil
}

// paramNames names the slab's parts for errors.
var paramNames = [4]string{"W1 gradient", "B1 gradient", "W2 gradient", "B2 gradient"}

// checkFinite returns a *NumericError if the loss or a gradient is NaN or
// Inf. A float32 sum of a gradient is finite only if every entry is (a NaN
// or an infinity stays in the sum, and an overflow only sends a finite
// gradient to the exact scan), so the exact per-entry scan runs only for a
// gradient whose sum is not finite.
func (m *Model) checkFinite(tg *trainGraph, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return &NumericError{Step: m.adam.step + 1, Loss: loss, What: "loss"}
	}
	for k := range tg.grads {
		g := tg.grad(k)
		if finite(sum32(g)) {
			continue
		}
		for _, v := range g {
			if !finite(v) {
				return &NumericError{Step: m.adam.step + 1, Loss: loss, What: paramNames[k]}
			}
		}
	}
	return nil
}

// sum32 adds v in float32 with four partial sums.
func sum32(v []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i]
		s1 += v[i+1]
		s2 += v[i+2]
		s3 += v[i+3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// finite reports whether f is neither NaN nor an infinity.
func finite(f float32) bool { return f-f == 0 }
