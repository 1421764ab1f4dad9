package trial

import "context"

// Metrics are named metric values for one report.
type Metrics map[string]float64

// Context is what the training loop needs from where it runs: a local run
// directory (Local) or a Determined trial container. Steps are batches
// trained in all, as Determined's steps_completed. Run calls the methods
// from one goroutine, in the order of Determined's Core API: at each
// validation point ReportTraining, ReportValidation, StoreCheckpoint,
// ReportProgress, then ShouldPreempt.
type Context interface {
	// Info describes the run: hyperparameters, config, latest checkpoint.
	Info() Info
	// Searcher yields the training lengths to reach, one operation at a time.
	Searcher() Searcher
	// ReportTraining records training metrics at steps.
	ReportTraining(ctx context.Context, steps int, m Metrics) error
	// ReportValidation records validation metrics at steps.
	ReportValidation(ctx context.Context, steps int, m Metrics) error
	// ReportProgress records the fraction of the current operation's
	// length done (steps / Operation.Length).
	ReportProgress(ctx context.Context, fraction float64) error
	// StoreCheckpoint calls write with a fresh local directory path, which
	// either does not exist yet or is empty (checkpoint.Write handles
	// both), then stores what write left there as a checkpoint at steps
	// and returns its id. When write fails nothing is stored.
	StoreCheckpoint(ctx context.Context, steps int, write func(dir string) error) (string, error)
	// RestoreCheckpoint makes checkpoint id (as Info.LatestCheckpoint
	// names it) readable in a local directory; release frees what it took
	// (a downloaded copy) and must be called once the files are read.
	RestoreCheckpoint(ctx context.Context, id string) (dir string, release func(), err error)
	// ShouldPreempt reports whether the run must stop now at a safe point
	// (after a checkpoint); it acknowledges the request to the cluster.
	// Run then returns with status Preempted and no error.
	ShouldPreempt(ctx context.Context) (bool, error)
}

// Info describes a run.
type Info struct {
	// TrialID identifies the trial (Determined's id, or the run directory's).
	TrialID string
	// Hyperparameters are the run's hyperparameters.
	Hyperparameters Hyperparameters
	// Config is the experiment configuration.
	Config *Config
	// LatestCheckpoint is the checkpoint to start from, if any.
	LatestCheckpoint string
	// StepsCompleted is the latest checkpoint's steps when resuming the
	// same trial, 0 when warm-starting from another run's checkpoint.
	// Resuming restores weights, optimiser state and the data position;
	// a warm start keeps the checkpoint's weights, optimiser state and
	// feature spec, and counts steps from 0.
	StepsCompleted int
}

// Searcher hands out training operations: 0.38-style searchers yield one
// operation of the configured length; older Determined masters hand out
// several, each with an absolute length in batches.
type Searcher interface {
	// Next returns the next operation, or ok false when training is done.
	Next(ctx context.Context) (op Operation, ok bool, err error)
	// Complete reports op done with the searcher metric's value.
	Complete(ctx context.Context, op Operation, metric float64) error
}

// Operation asks to train until Length batches in all.
type Operation struct {
	Length int
}

// Hyperparameters of the churn trial, named as in experiment/const.yaml.
type Hyperparameters struct {
	GlobalBatchSize int     `json:"global_batch_size"`
	RandomSeed      int64   `json:"random_seed"`
	TestSize        float64 `json:"test_size"`
	LR              float64 `json:"lr"`
	Dense1          int     `json:"dense1"`
}
