package experiment

import (
	"context"
	"sync"

	"github.com/churn-pdk/churn/trial"
)

// newSearcher picks the searcher protocol: operations from the master
// before 0.38, one operation of searcher.max_length from 0.38.
func newSearcher(c *ClusterContext, cfg *trial.Config) trial.Searcher {
	if c.proto.SearcherOps {
		return &opSearcher{c: c}
	}
	return &lengthSearcher{length: cfg.Searcher.MaxLength.Batches}
}

// lengthSearcher yields one operation of a fixed length (0.38 masters,
// unmanaged runs).
type lengthSearcher struct {
	mu     sync.Mutex // guards done
	length int
	done   bool
}

// Next yields the one operation, then ok false.
func (s *lengthSearcher) Next(context.Context) (trial.Operation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return trial.Operation{}, false, nil
	}
	s.done = true
	return trial.Operation{Length: s.length}, true, nil
}

// Complete has nothing to tell a 0.38 master: validations reach the
// searcher through the metrics reports.
func (s *lengthSearcher) Complete(context.Context, trial.Operation, float64) error { return nil }

// opSearcher loops on the searcher operations of a < 0.38 master.
type opSearcher struct {
	c      *ClusterContext
	mu     sync.Mutex // guards length and acked
	length int
	acked  bool
}

// Next asks the master for the next operation; when it says the trial is
// complete, the "out of operations" preemption is acknowledged.
func (s *opSearcher) Next(ctx context.Context) (trial.Operation, bool, error) {
	length, completed, err := s.c.client.SearcherOperation(ctx, s.c.trialID)
	if err != nil {
		return trial.Operation{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if completed {
		if !s.acked {
			if err := s.c.client.AckPreemption(ctx, s.c.env.AllocationID); err != nil {
				return trial.Operation{}, false, err
			}
			s.acked = true
		}
		return trial.Operation{}, false, nil
	}
	s.length = length
	return trial.Operation{Length: length}, true, nil
}

// Complete reports op done with the searcher metric; metrics queued so
// far are flushed first so that the master sees the validation.
func (s *opSearcher) Complete(ctx context.Context, op trial.Operation, metric float64) error {
	if err := s.c.queue.Flush(ctx); err != nil {
		return err
	}
	return s.c.client.CompleteOperation(ctx, s.c.trialID, op.Length, metric)
}
