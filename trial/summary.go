package trial

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/churn-pdk/churn/checkpoint"
)

// Summary is run.json, the last file of a complete local run.
type Summary struct {
	TrialID string `json:"trial_id"`
	Status  string `json:"status"`
	// Batches is the number of batches trained in all; StartBatches those
	// of the checkpoint a resumed run started from.
	Batches      int `json:"batches"`
	StartBatches int `json:"start_batches,omitempty"`
	// StartedFrom is the checkpoint the run resumed or warm-started from.
	StartedFrom string `json:"started_from,omitempty"`
	Resumed     bool   `json:"resumed,omitempty"`
	// Metric and SmallerIsBetter say how Best was chosen.
	Metric          string `json:"searcher_metric"`
	SmallerIsBetter bool   `json:"smaller_is_better"`
	// Best and Latest are checkpoints; BestDir and LatestDir their paths.
	Best       CheckpointRef         `json:"best"`
	BestDir    string                `json:"best_dir"`
	Latest     CheckpointRef         `json:"latest"`
	LatestDir  string                `json:"latest_dir"`
	Training   Metrics               `json:"training"`
	Validation Metrics               `json:"validation"`
	Data       []checkpoint.DataFile `json:"data"`
	TrainRows  int                   `json:"train_rows"`
	ValRows    int                   `json:"val_rows"`
	Seconds    float64               `json:"seconds"`
	Finished   time.Time             `json:"finished"`
}

// ReadSummary reads run.json of run directory dir; a run without it is
// not complete.
func ReadSummary(dir string) (*Summary, error) {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, fmt.Errorf("trial: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("trial: %s: %w", filepath.Join(dir, SummaryFile), err)
	}
	return &s, nil
}

// Finish ends the run: it closes metrics.jsonl, draws the plots and, when
// res.Status is Success, writes run.json (whole or not at all). A run that
// ended early is left without run.json: it can be resumed from its latest
// checkpoint.
func (l *Local) Finish(res *Result) error {
	if err := l.closeMetrics(); err != nil {
		return err
	}
	auc := res.Validation[MetricAUC]
	if err := WritePlots(l.dir, l.Records(), res.ROC, auc); err != nil {
		return err
	}
	if res.Status != Success {
		return nil
	}
	return l.writeSummary(l.summary(res))
}

func (l *Local) summary(res *Result) *Summary {
	sc := l.info.Config.Searcher
	return &Summary{
		TrialID: l.info.TrialID, Status: res.Status.String(),
		Batches: res.Steps, StartBatches: res.StartSteps,
		StartedFrom: l.info.LatestCheckpoint, Resumed: l.info.StepsCompleted > 0,
		Metric: sc.Metric, SmallerIsBetter: sc.SmallerIsBetter,
		Best: res.Best, BestDir: l.CheckpointDir(res.Best.ID),
		Latest: res.Latest, LatestDir: l.CheckpointDir(res.Latest.ID),
		Training: res.Training, Validation: res.Validation,
		Data: res.Data, TrainRows: res.TrainRows, ValRows: res.ValRows,
		Seconds: res.Elapsed.Seconds(), Finished: l.now().UTC(),
	}
}

// writeSummary writes run.json through a synced temporary file.
func (l *Local) writeSummary(s *Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	f, err := os.CreateTemp(l.dir, "."+SummaryFile+".partial-")
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: write %s: %w", SummaryFile, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(l.dir, SummaryFile)); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: %w", err)
	}
	return nil
}

// Abort ends a run that failed: it closes metrics.jsonl and removes the
// run directory when no checkpoint was stored in it (nothing worth
// keeping); otherwise the directory stays, without run.json.
func (l *Local) Abort() error {
	if err := l.closeMetrics(); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(l.dir, CheckpointsDir))
	if err != nil || len(entries) > 0 {
		return nil
	}
	return os.RemoveAll(l.dir)
}

// closeMetrics syncs and closes metrics.jsonl once.
func (l *Local) closeMetrics() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.metrics == nil {
		return nil
	}
	f := l.metrics
	l.metrics = nil
	serr := f.Sync()
	if err := firstErr(serr, f.Close()); err != nil {
		return fmt.Errorf("trial: %s: %w", MetricsFile, err)
	}
	return nil
}
