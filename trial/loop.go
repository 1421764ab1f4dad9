package trial

import (
	"context"
	"fmt"
	"maps"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/nn"
)

// nextBatch returns the rows [lo, hi) of the batch that starts at pos in
// n training rows and the position after it: batches of size rows walk
// the rows in order; when fewer than size rows remain, they are the batch
// and the next one starts at row 0. (The reference trainer would then train
// an empty batch when size divides n; here the walk wraps instead.)
func nextBatch(pos, n, size int) (lo, hi, next int) {
	if pos >= n {
		pos = 0
	}
	if pos+size > n {
		return pos, n, 0
	}
	return pos, pos + size, pos + size
}

// positionAfter returns the training row the batch after steps batches
// starts at: the data position is a function of the steps alone.
func positionAfter(steps, n, size int) int {
	pos := 0
	for range steps {
		_, _, pos = nextBatch(pos, n, size)
	}
	return pos
}

// trainAll runs the searcher's operations.
func (r *runner) trainAll(ctx context.Context) error {
	searcher := r.tc.Searcher()
	for {
		op, ok, err := searcher.Next(ctx)
		if err != nil {
			return fmt.Errorf("trial: searcher: %w", err)
		}
		if !ok {
			r.res.Status = Success
			return nil
		}
		if op.Length < 1 {
			return fmt.Errorf("trial: searcher operation of length %d", op.Length)
		}
		stop, err := r.trainOp(ctx, op)
		if err != nil || stop {
			return err
		}
		metric := r.res.Validation[r.info.Config.Searcher.Metric]
		if err := searcher.Complete(ctx, op, metric); err != nil {
			return fmt.Errorf("trial: searcher: %w", err)
		}
	}
}

// trainOp trains until op.Length batches, validating and checkpointing on
// the way. It returns stop true when the run was preempted.
func (r *runner) trainOp(ctx context.Context, op Operation) (stop bool, err error) {
	r.log.Info("training", "batches", r.steps, "until", op.Length,
		"batch_size", r.hp.GlobalBatchSize, "train_rows", r.train.Rows)
	period := r.info.Config.MinValidationPeriod.Batches
	for r.steps < op.Length {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		if err := r.step(op); err != nil {
			return true, err
		}
		if r.steps == op.Length || period > 0 && r.steps%period == 0 {
			if stop, err := r.validationPoint(ctx, op); err != nil || stop {
				return true, err
			}
		}
	}
	return false, nil
}

// step trains one batch.
func (r *runner) step(op Operation) error {
	lo, hi, next := nextBatch(r.pos, r.train.Rows, r.hp.GlobalBatchSize)
	cols := r.train.Cols
	x, y := r.train.X[lo*cols:hi*cols], r.train.Y[lo:hi]
	probs := r.probs[:hi-lo]
	loss, err := r.model.TrainBatchProbs(x, y, probs)
	if err != nil {
		return fmt.Errorf("trial: batch %d (rows %d-%d): %w", r.steps+1, lo, hi-1, err)
	}
	r.pos = next
	r.steps++
	r.sum.loss += loss
	r.sum.acc += NewConfusion(probs, y, r.thr).Accuracy()
	r.sum.n++
	r.observe(Event{Kind: EventBatch, Steps: r.steps, Total: op.Length,
		Metrics: r.sum.metrics()})
	return nil
}

// validationPoint reports, validates, checkpoints and asks about
// preemption.
func (r *runner) validationPoint(ctx context.Context, op Operation) (stop bool, err error) {
	if tm := r.sum.metrics(); tm != nil {
		if err := r.tc.ReportTraining(ctx, r.steps, tm); err != nil {
			return true, fmt.Errorf("trial: report training metrics: %w", err)
		}
		r.res.Training, r.sum = tm, trainSums{}
	}
	vm, err := r.validate()
	if err != nil {
		return true, err
	}
	if err := r.tc.ReportValidation(ctx, r.steps, vm); err != nil {
		return true, fmt.Errorf("trial: report validation metrics: %w", err)
	}
	r.res.Validation = vm
	id, err := r.store(ctx, vm)
	if err != nil {
		return true, err
	}
	if err := r.tc.ReportProgress(ctx, float64(r.steps)/float64(op.Length)); err != nil {
		return true, fmt.Errorf("trial: report progress: %w", err)
	}
	r.observe(Event{Kind: EventValidation, Steps: r.steps, Total: op.Length,
		Metrics: vm, Checkpoint: id})
	r.log.Info("validated", "batches", r.steps, "val_loss", vm[MetricValLoss],
		"val_acc", vm[MetricValAcc], "auc", vm[MetricAUC], "checkpoint", id)
	preempt, err := r.tc.ShouldPreempt(ctx)
	if err != nil {
		return true, fmt.Errorf("trial: preemption check: %w", err)
	}
	if preempt {
		r.res.Status = Preempted
		r.log.Info("preempted", "batches", r.steps, "checkpoint", id)
	}
	return preempt, nil
}

// validate scores the whole validation split.
func (r *runner) validate() (Metrics, error) {
	p, y := r.valProbs, r.val.Y
	if err := r.model.Predict(r.val.X, p); err != nil {
		return nil, fmt.Errorf("trial: validate at batch %d: %w", r.steps, err)
	}
	m := ClassMetrics(p, y, r.thr)
	m[MetricValLoss] = nn.BCE(p, y)
	r.res.ROC = NewROC(p, y)
	return m, nil
}

// store writes a checkpoint and tracks the latest and best.
func (r *runner) store(ctx context.Context, vm Metrics) (string, error) {
	metrics := maps.Clone(vm)
	maps.Copy(metrics, r.res.Training)
	meta := checkpoint.Metadata{
		StepsCompleted: r.steps,
		TrialID:        r.info.TrialID,
		Config:         RedactConfig(r.info.Config.Raw),
		Metrics:        metrics,
		Data:           r.data,
		Threshold:      r.thr,
	}
	id, err := r.tc.StoreCheckpoint(ctx, r.steps, func(dir string) error {
		return checkpoint.Write(dir, meta, r.model, r.spec)
	})
	if err != nil {
		return "", fmt.Errorf("trial: store checkpoint at batch %d: %w", r.steps, err)
	}
	ref := CheckpointRef{ID: id, Steps: r.steps, Metrics: metrics}
	r.res.Latest = ref
	if r.better(vm) {
		r.res.Best = ref
	}
	return id, nil
}

// better reports whether vm beats the best checkpoint's searcher metric.
func (r *runner) better(vm Metrics) bool {
	sc := r.info.Config.Searcher
	v, ok := vm[sc.Metric]
	if !ok {
		return false
	}
	best, ok := r.res.Best.Metrics[sc.Metric]
	switch {
	case r.res.Best.ID == "" || !ok:
		return true
	case sc.SmallerIsBetter:
		return v < best
	}
	return v > best
}
