package trial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// Run trains the churn classifier in tc, the original recipe:
//
//   - load the data (Settings.Data), split it (hyperparameters test_size
//     and random_seed), take the fixed spec or fit one on the training
//     split, and preprocess both sides;
//   - build the model (inputs = spec width, hidden = dense1, Adam at lr,
//     seeded by random_seed), or start from Info().LatestCheckpoint:
//     when Info().StepsCompleted > 0 the same trial resumes (weights,
//     optimiser state and the position in the data restored, so it ends
//     bit-identical to a run that was never interrupted); otherwise it is
//     a warm start that keeps the checkpoint's weights, optimiser state
//     and spec and counts batches from 0 on the new data;
//   - for each searcher operation, train batches of global_batch_size
//     rows, walking the training split in order and wrapping around (a
//     remainder shorter than a batch is a batch of its own), until the
//     operation's length;
//   - every min_validation_period batches and at the end of each
//     operation: report the training metrics averaged over the batches
//     since the last report (loss, acc), validate on the whole validation
//     split (val_loss, val_acc, auc, precision, recall, f1), store a
//     checkpoint, report progress, and stop with status Preempted if the
//     context asks.
//
// Cancelling ctx stops the run at the next batch boundary with status
// Canceled and an error wrapping ctx.Err(); the checkpoints stored so far
// stay valid. A nil s means the default Settings. The Result is never nil.
func Run(ctx context.Context, tc Context, s *Settings) (*Result, error) {
	start := time.Now()
	r := newRunner(tc, s)
	err := r.run(ctx)
	r.close()
	r.res.Elapsed, r.res.Steps = time.Since(start), r.steps
	switch {
	case err != nil && ctx.Err() != nil:
		r.res.Status = Canceled
		err = fmt.Errorf("trial: stopped at batch %d: %w", r.steps, context.Cause(ctx))
	case err != nil:
		r.res.Status = Failure
	}
	if r.res.Status != Failure {
		r.log.Info("run ended", "status", r.res.Status.String(), "batches", r.steps,
			"elapsed", r.res.Elapsed.Round(time.Millisecond))
	}
	return &r.res, err
}

// runner is one Run's state.
type runner struct {
	tc   Context
	s    Settings
	log  *slog.Logger
	info Info
	hp   Hyperparameters
	thr  float64

	ck         *checkpoint.Checkpoint // the starting checkpoint, if any
	spec       *dataset.Spec
	model      *nn.Model
	train, val *dataset.Matrix
	data       []checkpoint.DataFile

	steps, pos int       // batches trained; next training row
	sum        trainSums // training metrics since the last report
	probs      []float32 // one batch's probabilities
	valProbs   []float32 // the validation split's probabilities

	res Result
}

// trainSums accumulates per-batch training metrics between reports.
type trainSums struct {
	loss, acc float64
	n         int
}

func (t trainSums) metrics() Metrics {
	if t.n == 0 {
		return nil
	}
	return Metrics{MetricLoss: t.loss / float64(t.n), MetricAcc: t.acc / float64(t.n)}
}

func newRunner(tc Context, s *Settings) *runner {
	r := &runner{tc: tc, info: tc.Info()}
	if s != nil {
		r.s = *s
	}
	r.log = r.s.Logger
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.thr = r.s.Threshold
	if r.thr == 0 {
		r.thr = checkpoint.DefaultThreshold
	}
	r.hp = r.info.Hyperparameters
	return r
}

func (r *runner) close() {
	if r.model != nil {
		r.model.Close()
	}
}

func (r *runner) run(ctx context.Context) error {
	if r.info.Config == nil {
		return errors.New("trial: the context's Info has no Config")
	}
	if err := r.hp.Validate(); err != nil {
		return err
	}
	steps := []func(context.Context) error{r.restore, r.load, r.build, r.trainAll}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// observe tells the observer, if any.
func (r *runner) observe(e Event) {
	if r.s.Observer != nil {
		r.s.Observer.Observe(e)
	}
}
