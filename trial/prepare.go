package trial

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// resuming reports whether the run continues its own checkpoint.
func (r *runner) resuming() bool {
	return r.info.LatestCheckpoint != "" && r.info.StepsCompleted > 0
}

// restore reads the starting checkpoint, if any.
func (r *runner) restore(ctx context.Context) error {
	id := r.info.LatestCheckpoint
	if id == "" {
		return nil
	}
	dir, release, err := r.tc.RestoreCheckpoint(ctx, id)
	if err != nil {
		return fmt.Errorf("trial: restore checkpoint %s: %w", id, err)
	}
	defer release()
	ck, err := checkpoint.Read(dir)
	if err != nil {
		return fmt.Errorf("trial: restore checkpoint %s: %w", id, err)
	}
	r.ck, r.spec = ck, ck.Spec
	if got := ck.Model.Config().Hidden; got != r.hp.Dense1 {
		return fmt.Errorf("trial: checkpoint %s has %d hidden units but dense1 is %d",
			id, got, r.hp.Dense1)
	}
	if r.resuming() {
		return r.restoreSteps(id)
	}
	// A warm start trains at its own configuration's rate; Adam's moments
	// carry over with the weights.
	old := ck.Model.Config().LR
	if err := ck.Model.SetLR(r.hp.LR); err != nil {
		return fmt.Errorf("trial: warm start from %s: %w", id, err)
	}
	r.log.Info("warm start", "checkpoint", id, "checkpoint_batches",
		ck.Metadata.StepsCompleted, "checkpoint_lr", old, "lr", r.hp.LR)
	return nil
}

// restoreSteps positions a resumed run at its checkpoint's steps.
func (r *runner) restoreSteps(id string) error {
	meta := r.ck.Metadata
	if meta.StepsCompleted != r.info.StepsCompleted {
		return fmt.Errorf("trial: resume: checkpoint %s is at batch %d, not %d",
			id, meta.StepsCompleted, r.info.StepsCompleted)
	}
	r.steps, r.res.StartSteps = meta.StepsCompleted, meta.StepsCompleted
	ref := CheckpointRef{ID: id, Steps: meta.StepsCompleted, Metrics: meta.Metrics}
	r.res.Latest = ref
	if _, ok := meta.Metrics[r.info.Config.Searcher.Metric]; ok {
		r.res.Best = ref
	}
	r.res.Validation = meta.Metrics
	r.log.Info("resume", "checkpoint", id, "batches", meta.StepsCompleted)
	return nil
}

// load reads, splits and preprocesses the data.
func (r *runner) load(ctx context.Context) error {
	src, err := r.dataSource()
	if err != nil {
		return err
	}
	if r.spec == nil {
		r.spec = r.s.Spec
	}
	if r.spec == nil {
		if r.spec, err = r.infer(ctx, src); err != nil {
			return err
		}
	} else if r.ck != nil && r.s.Spec != nil {
		r.log.Warn("the checkpoint's feature spec is used; the one given is ignored")
	}
	table, rep, err := r.loadTable(ctx, src)
	if err != nil {
		return err
	}
	if err := r.checkSameData(); err != nil {
		return err
	}
	// The split sides are views of the table, and the runner keeps only
	// the matrices: the table is garbage once they are made.
	train, val, err := dataset.Split(table, r.hp.TestSize, r.hp.RandomSeed)
	if err != nil {
		return err
	}
	if r.train, err = dataset.Preprocess(r.spec, train, rep); err != nil {
		return err
	}
	if r.val, err = dataset.Preprocess(r.spec, val, rep); err != nil {
		return err
	}
	if err := r.checkSplit(rep); err != nil {
		return err
	}
	// The table, about as large as both matrices, is garbage now. One
	// collection here sets the heap's next goal from what training keeps;
	// left to run when it would, the collector can take its goal from the
	// load's peak (table and matrices) and let training's garbage grow the
	// heap to twice that: 62,009 rows peaked anywhere from 135 to 212 MB RSS
	// by the timing, and at 141-143 MB with this (BenchmarkTrainPeakRSS).
	runtime.GC()
	r.res.Report, r.res.TrainRows, r.res.ValRows = rep, r.train.Rows, r.val.Rows
	r.res.Data = r.data
	r.observe(Event{Kind: EventData, Report: rep, TrainRows: r.train.Rows, ValRows: r.val.Rows})
	r.log.Info("data loaded", "rows", rep.Rows, "train_rows", r.train.Rows,
		"val_rows", r.val.Rows, "inputs", r.train.Cols)
	return nil
}

// checkSplit refuses training data a useful model cannot come from, and
// warns when validation cannot measure both classes.
func (r *runner) checkSplit(rep *dataset.Report) error {
	pos, neg := classCounts(r.train.Y)
	if pos == 0 || neg == 0 {
		return fmt.Errorf("trial: the training split holds %d rows of %q=%q and %d of %q; "+
			"a classifier needs both classes", pos, r.spec.Label, r.spec.Positive, neg,
			r.spec.Negative)
	}
	if bs := r.hp.GlobalBatchSize; bs > r.train.Rows {
		return fmt.Errorf("trial: hyperparameters.%s %d exceeds the %d training rows; "+
			"lower it to at most %d", HPGlobalBatchSize, bs, r.train.Rows, r.train.Rows)
	}
	pos, neg = classCounts(r.val.Y)
	if pos == 0 || neg == 0 {
		msg := fmt.Sprintf("the validation split holds %d rows of %q=%q and %d of %q: "+
			"auc is undefined and val_acc says little", pos, r.spec.Label, r.spec.Positive,
			neg, r.spec.Negative)
		rep.Warnings = append(rep.Warnings, msg)
		r.log.Warn("validation split lacks a class", "positives", pos, "negatives", neg)
	}
	return nil
}

// classCounts counts the positive (1) and negative labels of y.
func classCounts(y []float32) (pos, neg int) {
	for _, v := range y {
		if v == 1 {
			pos++
		}
	}
	return pos, len(y) - pos
}

func (r *runner) dataSource() (DataSource, error) {
	if r.s.Data != nil {
		return r.s.Data, nil
	}
	return DataSourceFor(r.info.Config.Data)
}

// infer fits a spec on the training split of the data, reading it once;
// an empty positive value is picked from the label's values by Infer.
func (r *runner) infer(ctx context.Context, src DataSource) (*dataset.Spec, error) {
	opts := r.s.Infer
	opts.TestSize, opts.Seed = r.hp.TestSize, r.hp.RandomSeed
	if opts.Label == "" {
		return nil, errors.New("trial: no feature spec, and no label column to fit one")
	}
	return r.inferOnce(ctx, src, opts)
}

func (r *runner) inferOnce(ctx context.Context, src DataSource,
	opts dataset.InferOptions) (*dataset.Spec, error) {
	srcs, release, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	spec, rep, err := dataset.Infer(opts, srcs...)
	if err != nil {
		return nil, err
	}
	for _, d := range rep.Dropped {
		r.log.Info("column left out of the fitted spec", "column", d.Column, "reason", d.Reason)
	}
	r.log.Info("feature spec fitted", "train_rows", rep.TrainRows, "inputs", spec.Width(),
		"positive", spec.Positive)
	return spec, nil
}

// loadTable reads the data against the spec and records its provenance.
func (r *runner) loadTable(ctx context.Context, src DataSource) (*dataset.Table,
	*dataset.Report, error) {
	srcs, release, err := src.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	table, rep, err := dataset.LoadReaders(r.spec, true, srcs...)
	if err != nil {
		return nil, nil, err
	}
	_, local := src.(Files)
	r.data = make([]checkpoint.DataFile, len(rep.Files))
	for i, f := range rep.Files {
		r.data[i] = checkpoint.DataFile{Name: f.Name, SHA256: f.SHA256}
		if local {
			r.data[i].Path = absPath(f.Name)
		}
	}
	return table, rep, nil
}

// absPath is name made absolute, or "" when it cannot be.
func absPath(name string) string {
	p, err := filepath.Abs(name)
	if err != nil {
		return ""
	}
	return p
}

// checkSameData refuses to resume on data other than the checkpoint's:
// the batches would differ and the run would not be the same trial.
func (r *runner) checkSameData() error {
	if !r.resuming() || len(r.ck.Metadata.Data) == 0 {
		return nil
	}
	sums := func(files []checkpoint.DataFile) []string {
		s := make([]string, len(files))
		for i, f := range files {
			s[i] = f.SHA256
		}
		return s
	}
	if !slices.Equal(sums(r.data), sums(r.ck.Metadata.Data)) {
		return fmt.Errorf("trial: resume: the data differ from the checkpoint's "+
			"(sha256 %v, checkpoint %v); warm-start to train on new data",
			shortSums(r.data), shortSums(r.ck.Metadata.Data))
	}
	return nil
}

func shortSums(files []checkpoint.DataFile) []string {
	s := make([]string, len(files))
	for i, f := range files {
		s[i] = f.Name + ":" + f.SHA256[:min(12, len(f.SHA256))]
	}
	return s
}

// build creates the model, or takes the checkpoint's.
func (r *runner) build(context.Context) error {
	if r.ck != nil {
		r.model, r.ck.Model = r.ck.Model, nil
	} else {
		m, err := nn.New(nn.Config{Inputs: r.spec.Width(), Hidden: r.hp.Dense1,
			LR: r.hp.LR, Seed: r.hp.RandomSeed})
		if err != nil {
			return fmt.Errorf("trial: %w", err)
		}
		r.model = m
	}
	r.probs = make([]float32, r.hp.GlobalBatchSize)
	r.valProbs = make([]float32, r.val.Rows)
	r.pos = positionAfter(r.steps, r.train.Rows, r.hp.GlobalBatchSize)
	return nil
}
