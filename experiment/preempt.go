package experiment

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// preemptWatcher long-polls the allocation's preemption signal in the
// background: first with timeout 0, then 60 s at a time.
type preemptWatcher struct {
	client *Client
	alloc  string
	retry  time.Duration
	log    *slog.Logger
	cancel context.CancelFunc
	ended  chan struct{}
	first  chan struct{} // closed after the first answer (or failure)

	mu      sync.Mutex // guards preempt and acked
	preempt bool
	acked   bool
}

func newPreemptWatcher(parent context.Context, c *Client, alloc string, retry time.Duration,
	log *slog.Logger) *preemptWatcher {
	if retry <= 0 {
		retry = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	w := &preemptWatcher{client: c, alloc: alloc, retry: retry, log: log, cancel: cancel,
		ended: make(chan struct{}), first: make(chan struct{})}
	go w.watch(ctx)
	return w
}

func (w *preemptWatcher) watch(ctx context.Context) {
	defer close(w.ended)
	var once sync.Once
	answered := func() { once.Do(func() { close(w.first) }) }
	defer answered()
	timeout := 0
	for ctx.Err() == nil {
		p, err := w.client.Preemption(ctx, w.alloc, timeout)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.log.WarnContext(ctx, "preemption poll failed", "error", err)
			answered()
			if w.client.sleep(ctx, w.retry) != nil {
				return
			}
			continue
		}
		timeout = 60
		if p {
			w.mu.Lock()
			w.preempt = true
			w.mu.Unlock()
			w.log.InfoContext(ctx, "preemption requested", "allocation", w.alloc)
			answered()
			return
		}
		answered()
	}
}

// should reports whether preemption was requested, acknowledging it once.
func (w *preemptWatcher) should(ctx context.Context) (bool, error) {
	select {
	case <-w.first:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.preempt {
		return false, nil
	}
	if !w.acked {
		if err := w.client.AckPreemption(ctx, w.alloc); err != nil {
			return true, err
		}
		w.acked = true
	}
	return true, nil
}

// stop ends the long poll.
func (w *preemptWatcher) stop() {
	w.cancel()
	<-w.ended
}
