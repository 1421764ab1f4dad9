package trial

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// preemptingContext is a Local that asks to stop after its first
// checkpoint and hands out the operations of an older Determined master.
type preemptingContext struct {
	*Local
	preempt   bool
	ops       []Operation
	completed []float64
}

func (c *preemptingContext) ShouldPreempt(context.Context) (bool, error) {
	return c.preempt, nil
}

func (c *preemptingContext) Searcher() Searcher { return c }

func (c *preemptingContext) Next(context.Context) (Operation, bool, error) {
	if len(c.ops) == 0 {
		return Operation{}, false, nil
	}
	op := c.ops[0]
	c.ops = c.ops[1:]
	return op, true, nil
}

func (c *preemptingContext) Complete(_ context.Context, _ Operation, metric float64) error {
	c.completed = append(c.completed, metric)
	return nil
}

// ensures a preemption request stops the run cleanly after the checkpoint
// it follows.
func TestPreempted(t *testing.T) {
	dir := t.TempDir()
	l, err := NewLocal(filepath.Join(dir, "run"), smallConfig(t, 100, 64, 20), nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := &preemptingContext{Local: l, preempt: true, ops: []Operation{{Length: 100}}}
	res, err := Run(context.Background(), tc,
		&Settings{Data: Files{genCSV(t, dir, 500, 1)}, Spec: dataset.PDKSpec()})
	if err != nil || res.Status != Preempted || res.Steps != 20 || res.Latest.Steps != 20 {
		t.Fatalf("Run = %v at %d (latest %d), %v; want Preempted at 20", res.Status,
			res.Steps, res.Latest.Steps, err)
	}
	if !res.Status.Early() || res.Status.String() != "Preempted" {
		t.Errorf("Status %v: Early %v", res.Status, res.Status.Early())
	}
}

// ensures several searcher operations are trained in turn, each validated
// at its end and completed with the searcher metric.
func TestSeveralOperations(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 100, 64, 0) // validate only at the end of operations
	l, err := NewLocal(filepath.Join(dir, "run"), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := &preemptingContext{Local: l, ops: []Operation{{Length: 15}, {Length: 40}}}
	res, err := Run(context.Background(), tc,
		&Settings{Data: Files{genCSV(t, dir, 500, 1)}, Spec: dataset.PDKSpec()})
	if err != nil || res.Status != Success || res.Steps != 40 {
		t.Fatalf("Run = %v at %d, %v; want Success at 40", res.Status, res.Steps, err)
	}
	recs := l.Records()
	if len(recs) != 4 || recs[1].Steps != 15 || recs[3].Steps != 40 {
		t.Errorf("records %+v, want training and validation at 15 and 40", recs)
	}
	if len(tc.completed) != 2 || tc.completed[1] != res.Validation[MetricValAcc] {
		t.Errorf("completed %v, want 2 with the last val_acc %v", tc.completed,
			res.Validation[MetricValAcc])
	}
}
