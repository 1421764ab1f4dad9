package experiment

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// reportPolicy retries metric and checkpoint reports for minutes: a
// master restart or a short outage must not lose them. A report the master
// stored but whose answer was lost (a proxy's 504, a connection cut) is
// sent again; the master then refuses the keys it already holds for that
// trial run, group and step (or the checkpoint uuid it holds), and that
// refusal after an attempt with an unknown outcome counts as success (see
// request.duplicate). The same refusal on a first attempt is a real error.
var reportPolicy = RetryPolicy{Attempts: 16}

// queueItem is a report to send, or a flush marker (done set).
type queueItem struct {
	report MetricsReport
	done   chan struct{}
}

// metricsQueue ships metric reports in order from one goroutine, retrying
// transient failures, so that training never waits on the master.
type metricsQueue struct {
	ch     chan queueItem
	send   func(ctx context.Context, r MetricsReport) error
	cancel context.CancelFunc
	ended  chan struct{}

	mu  sync.Mutex // guards err
	err error      // first report that failed for good

	closeMu sync.RWMutex // guards closed; held for reading while sending on ch
	closed  bool
}

// errQueueClosed is returned by reports after Close.
var errQueueClosed = errors.New("experiment: metrics reported after the context was closed")

// newMetricsQueue starts the shipping goroutine; its context outlives
// parent's cancellation so that a SIGTERM still lets Close flush.
func newMetricsQueue(parent context.Context, size int,
	send func(ctx context.Context, r MetricsReport) error) *metricsQueue {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	q := &metricsQueue{ch: make(chan queueItem, size), send: send, cancel: cancel,
		ended: make(chan struct{})}
	go q.run(ctx)
	return q
}

func (q *metricsQueue) run(ctx context.Context) {
	defer close(q.ended)
	for it := range q.ch {
		if it.done != nil {
			close(it.done)
			continue
		}
		if q.failed() != nil {
			continue
		}
		if err := q.send(ctx, it.report); err != nil {
			q.mu.Lock()
			q.err = fmt.Errorf("experiment: %s metrics at step %d: %w", it.report.Group,
				it.report.Steps, err)
			q.mu.Unlock()
		}
	}
}

func (q *metricsQueue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// Enqueue queues r; it blocks only when the queue is full. It returns the
// error of an earlier report that failed for good.
func (q *metricsQueue) Enqueue(ctx context.Context, r MetricsReport) error {
	if err := q.failed(); err != nil {
		return err
	}
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return errQueueClosed
	}
	select {
	case q.ch <- queueItem{report: r}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("experiment: queue %s metrics at step %d: %w", r.Group, r.Steps,
			ctx.Err())
	}
}

// Flush waits until every report queued so far was sent.
func (q *metricsQueue) Flush(ctx context.Context) error {
	done := make(chan struct{})
	q.closeMu.RLock()
	if q.closed {
		q.closeMu.RUnlock()
		return q.failed()
	}
	select {
	case q.ch <- queueItem{done: done}:
		q.closeMu.RUnlock()
	case <-ctx.Done():
		q.closeMu.RUnlock()
		return fmt.Errorf("experiment: flush metrics: %w", ctx.Err())
	}
	select {
	case <-done:
		return q.failed()
	case <-ctx.Done():
		return fmt.Errorf("experiment: flush metrics: %w", ctx.Err())
	}
}

// Close flushes and stops the goroutine; after ctx ends it gives up on
// what is left.
func (q *metricsQueue) Close(ctx context.Context) error {
	err := q.Flush(ctx)
	if err != nil && !errors.Is(err, ctx.Err()) {
		err = nil // a report failure is returned below once
	}
	q.cancel()
	q.closeMu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.closeMu.Unlock()
	<-q.ended
	if ferr := q.failed(); ferr != nil {
		return ferr
	}
	return err
}
