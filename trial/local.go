package trial

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/churn-pdk/churn/checkpoint"
)

// Files of a local run directory.
const (
	MetricsFile    = "metrics.jsonl"
	SummaryFile    = "run.json"
	CheckpointsDir = "checkpoints"
)

// Metric groups of a Record, as Determined names them.
const (
	GroupTraining   = "training"
	GroupValidation = "validation"
)

// Record is one metrics report: a line of metrics.jsonl.
type Record struct {
	Group   string    `json:"group"`
	Steps   int       `json:"steps"`
	Metrics Metrics   `json:"metrics"`
	Time    time.Time `json:"time"`
}

// LocalOptions configure a local run. The zero value trains from scratch.
type LocalOptions struct {
	// TrialID names the run; empty means the run directory's name.
	TrialID string
	// Checkpoint is a checkpoint directory to start from; empty means none.
	Checkpoint string
	// Resume continues Checkpoint's run at its steps (same data); false
	// warm-starts from it (steps count from 0).
	Resume bool
	// Logger receives the context's log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Local is the Context of a run on this machine. Its directory holds
//
//	metrics.jsonl           one Record per report
//	checkpoints/<uuid>/     checkpoints, in checkpoint.Write's layout
//	loss.png, accuracy.png, roc.png
//	run.json                the Summary, written last by Finish
//
// so a run directory is complete only when run.json exists. Its searcher
// yields one operation of the config's searcher.max_length, and it never
// asks to preempt: cancel Run's context to stop a local run.
type Local struct {
	dir  string
	info Info
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex // guards the fields below
	metrics *os.File
	records []Record
	done    bool // the searcher's one operation was handed out
}

// NewLocal prepares run directory dir for cfg. dir must be absent, empty,
// or hold only the remains of a run that died before its first checkpoint.
// With opts.Resume and a checkpoint of dir itself, the run continues in
// dir: half-written checkpoints are removed and metrics.jsonl keeps the
// records up to the checkpoint's steps, to which the run appends. With
// opts.Resume and another run's checkpoint, that run's records up to its
// steps are copied in, so that curves and plots cover the whole trial.
func NewLocal(dir string, cfg *Config, opts *LocalOptions) (*Local, error) {
	var o LocalOptions
	if opts != nil {
		o = *opts
	}
	hp, err := cfg.Hparams()
	if err != nil {
		return nil, err
	}
	l := &Local{dir: dir, log: o.Logger, now: o.Now}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.info = Info{TrialID: o.TrialID, Hyperparameters: hp, Config: cfg}
	if l.info.TrialID == "" {
		l.info.TrialID = filepath.Base(filepath.Clean(dir))
	}
	if err := l.startFrom(o); err != nil {
		return nil, err
	}
	if continuesInPlace(dir, o) {
		if err := l.reopenRunDir(l.info.StepsCompleted); err != nil {
			return nil, err
		}
		return l, l.openMetricsFile()
	}
	if err := makeRunDir(dir, l.log); err != nil {
		return nil, err
	}
	return l, l.openMetrics(o)
}

// startFrom records the starting checkpoint in Info.
func (l *Local) startFrom(o LocalOptions) error {
	if o.Checkpoint == "" {
		return nil
	}
	meta, err := checkpoint.ReadMetadata(o.Checkpoint)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	l.info.LatestCheckpoint = o.Checkpoint
	if o.Resume {
		if meta.StepsCompleted == 0 {
			return fmt.Errorf("trial: resume: checkpoint %s has no batches trained",
				o.Checkpoint)
		}
		l.info.StepsCompleted = meta.StepsCompleted
	}
	return nil
}

// makeRunDir creates dir, refusing one that holds anything but the
// remains of a run that died before its first checkpoint (which are
// cleared).
func makeRunDir(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		if !reusableRunDir(dir, entries) {
			return fmt.Errorf("trial: run directory %s is not empty", dir)
		}
		log.Info("starting afresh in a run directory that has no checkpoint", "dir", dir)
		if err := clearRunDir(dir, entries); err != nil {
			return err
		}
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("trial: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, CheckpointsDir), 0o755); err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	return nil
}

// clearRunDir removes what reusableRunDir accepted.
func clearRunDir(dir string, entries []os.DirEntry) error {
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("trial: %w", err)
		}
	}
	return nil
}

// openMetricsFile opens metrics.jsonl for appending.
func (l *Local) openMetricsFile() error {
	f, err := os.OpenFile(filepath.Join(l.dir, MetricsFile),
		os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	l.metrics = f
	return nil
}

// openMetrics creates metrics.jsonl, seeded with the resumed run's records.
func (l *Local) openMetrics(o LocalOptions) error {
	if err := l.openMetricsFile(); err != nil {
		return err
	}
	if !o.Resume {
		return nil
	}
	prev := filepath.Join(filepath.Dir(filepath.Dir(filepath.Clean(o.Checkpoint))), MetricsFile)
	records, err := ReadRecords(prev)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		l.log.Warn("earlier metrics not copied", "file", prev, "error", err)
		return nil
	}
	for _, rec := range records {
		if rec.Steps <= l.info.StepsCompleted {
			if err := l.append(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadRecords reads a metrics.jsonl file.
func ReadRecords(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("trial: %s:%d: %w", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trial: %s: %w", path, err)
	}
	return recs, nil
}

// Dir returns the run directory.
func (l *Local) Dir() string { return l.dir }

// Info implements Context.
func (l *Local) Info() Info { return l.info }

// Searcher implements Context: one operation of searcher.max_length.
func (l *Local) Searcher() Searcher { return localSearcher{l} }

type localSearcher struct{ l *Local }

// Next hands out the one operation, then reports the end.
func (s localSearcher) Next(context.Context) (Operation, bool, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.done {
		return Operation{}, false, nil
	}
	s.l.done = true
	return Operation{Length: s.l.info.Config.Searcher.MaxLength.Batches}, true, nil
}

// Complete logs the operation's searcher metric.
func (s localSearcher) Complete(_ context.Context, op Operation, metric float64) error {
	s.l.log.Info("searcher operation done", "batches", op.Length,
		s.l.info.Config.Searcher.Metric, metric)
	return nil
}

// ReportTraining implements Context.
func (l *Local) ReportTraining(_ context.Context, steps int, m Metrics) error {
	return l.report(GroupTraining, steps, m)
}

// ReportValidation implements Context.
func (l *Local) ReportValidation(_ context.Context, steps int, m Metrics) error {
	return l.report(GroupValidation, steps, m)
}

func (l *Local) report(group string, steps int, m Metrics) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.append(Record{Group: group, Steps: steps, Metrics: m, Time: l.now().UTC()})
}

// append writes one record; l.mu is held or l is not shared yet.
func (l *Local) append(r Record) error {
	if l.metrics == nil {
		return fmt.Errorf("trial: run %s is finished", l.dir)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("trial: record metrics: %w", err)
	}
	if _, err := l.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("trial: record metrics: %w", err)
	}
	l.records = append(l.records, r)
	return nil
}

// Records returns the reports so far.
func (l *Local) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Record(nil), l.records...)
}

// ReportProgress implements Context; a local run shows progress through
// Settings.Observer instead.
func (l *Local) ReportProgress(context.Context, float64) error { return nil }

// StoreCheckpoint implements Context: write fills checkpoints/<uuid>
// (which does not exist yet); on error nothing is left there.
func (l *Local) StoreCheckpoint(_ context.Context, steps int, write func(string) error) (
	string, error) {
	id := uuid.NewString()
	dir := l.CheckpointDir(id)
	if err := write(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	l.log.Debug("checkpoint stored", "checkpoint", id, "batches", steps)
	return id, nil
}

// CheckpointDir returns the directory of checkpoint id: a uuid of this
// run, or a directory path as given.
func (l *Local) CheckpointDir(id string) string {
	if id == "" || strings.ContainsRune(id, os.PathSeparator) {
		return id
	}
	if _, err := uuid.Parse(id); err != nil {
		return id
	}
	return filepath.Join(l.dir, CheckpointsDir, id)
}

// RestoreCheckpoint implements Context: id is a checkpoint directory or a
// checkpoint of this run; it is read in place.
func (l *Local) RestoreCheckpoint(_ context.Context, id string) (string, func(), error) {
	dir := l.CheckpointDir(id)
	if _, err := os.Stat(dir); err != nil {
		return "", nil, fmt.Errorf("trial: checkpoint %s: %w", id, err)
	}
	return dir, func() {}, nil
}

// ShouldPreempt implements Context: a local run is never preempted.
func (l *Local) ShouldPreempt(context.Context) (bool, error) { return false, nil }
