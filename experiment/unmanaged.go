package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/churn-pdk/churn/trial"
)

// UnmanagedOptions configure NewUnmanagedContext.
type UnmanagedOptions struct {
	// Logger receives progress lines; nil discards.
	Logger *slog.Logger
	// ConfigText is the experiment config (YAML or JSON) sent to the master.
	ConfigText []byte
	// Config is ConfigText parsed.
	Config *trial.Config
	// ExternalExperimentID makes reruns report into the same experiment;
	// "" creates a new experiment every time.
	ExternalExperimentID string
	// ExternalTrialID likewise for the trial ("" creates a new trial).
	ExternalTrialID string
	// Storage says where checkpoint storage lives; UseHostPath is forced:
	// an unmanaged run writes shared_fs checkpoints at host_path itself.
	Storage StorageOptions
	// Heartbeat is the interval of trial heartbeats; 0 means 60s.
	Heartbeat time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// UnmanagedContext is trial.Context for a run outside the cluster that
// reports to a master (Determined's "unmanaged" or detached mode, masters
// 0.25 and later). Close it with the run's outcome.
type UnmanagedContext struct {
	run
	ExperimentID int
	searcher     *lengthSearcher
	// masterStorage is checkpoint_storage of the master's merged config.
	masterStorage map[string]any
	stopBeat      context.CancelFunc
	beatDone      chan struct{}
	closeOnce     sync.Once
}

var _ trial.Context = (*UnmanagedContext)(nil)

// NewUnmanagedContext registers an unmanaged experiment and trial with the
// master behind client (logged in as a user) and starts a run of it:
// PUT (or POST) the experiment, PUT (or POST) the trial, start it with
// resume, register the checkpoint storage, mark it RUNNING and start
// heartbeats.
func NewUnmanagedContext(ctx context.Context, client *Client, opts UnmanagedOptions) (
	*UnmanagedContext, error) {
	if opts.Config == nil || len(opts.ConfigText) == 0 {
		return nil, &ConfigError{Field: "config", Reason: "an unmanaged run needs its config"}
	}
	u := &UnmanagedContext{}
	u.client, u.log, u.now = client, opts.Logger, opts.Now
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	if err := u.register(ctx, opts); err != nil {
		return nil, err
	}
	u.startQueue(ctx)
	u.searcher = &lengthSearcher{length: opts.Config.Searcher.MaxLength.Batches}
	u.startHeartbeat(ctx, opts.Heartbeat)
	return u, nil
}

// register runs the master-side sequence up to the RUNNING state.
func (u *UnmanagedContext) register(ctx context.Context, opts UnmanagedOptions) error {
	proto, err := u.client.Protocol(ctx)
	if err != nil {
		return err
	}
	if !proto.Unmanaged || !proto.RunsStart {
		return fmt.Errorf("experiment: master %s does not support unmanaged runs (needs 0.29+)",
			proto.Version)
	}
	u.proto = proto
	hp, err := opts.Config.Hparams()
	if err != nil {
		return err
	}
	if err := u.createTrial(ctx, opts, hp); err != nil {
		return err
	}
	start, err := u.client.StartTrial(ctx, u.trialID)
	if err != nil {
		return err
	}
	u.runID = start.TrialRunID
	u.info = trial.Info{TrialID: strconv.Itoa(u.trialID), Hyperparameters: hp,
		Config: opts.Config, LatestCheckpoint: start.LatestCheckpoint,
		StepsCompleted: start.StepsCompleted}
	cs, _ := opts.Config.Raw["checkpoint_storage"].(map[string]any)
	if cs == nil {
		cs = u.masterStorage // the master's default, merged into its copy
	}
	so := opts.Storage
	so.UseHostPath = true
	if u.storage, err = NewStorage(cs, so); err != nil {
		return err
	}
	if u.storageID, err = u.client.RunsStart(ctx, u.trialID, cs); err != nil {
		return err
	}
	return u.client.PatchTrial(ctx, u.trialID, "STATE_RUNNING")
}

// createTrial creates (or finds) the experiment and the trial.
func (u *UnmanagedContext) createTrial(ctx context.Context, opts UnmanagedOptions,
	hp trial.Hyperparameters) error {
	req := CreateExperimentRequest{Config: string(opts.ConfigText), Unmanaged: true}
	var exp *CreateExperimentResponse
	var err error
	if opts.ExternalExperimentID != "" {
		exp, err = u.client.PutExperiment(ctx, opts.ExternalExperimentID, req)
	} else {
		exp, err = u.client.CreateExperiment(ctx, req)
	}
	if err != nil {
		return err
	}
	u.ExperimentID = exp.Experiment.ID
	u.masterStorage, _ = exp.Config["checkpoint_storage"].(map[string]any)
	var hpMap map[string]any
	b, _ := json.Marshal(hp)
	_ = json.Unmarshal(b, &hpMap)
	tr, err := u.client.CreateTrial(ctx, u.ExperimentID, hpMap, opts.ExternalTrialID)
	if err != nil {
		return err
	}
	u.trialID, u.taskID = tr.ID, tr.TaskID
	return nil
}

// startHeartbeat patches the trial every interval so the master sees it
// alive.
func (u *UnmanagedContext) startHeartbeat(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 60 * time.Second
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	u.stopBeat, u.beatDone = cancel, make(chan struct{})
	go func() {
		defer close(u.beatDone)
		for u.client.sleep(bctx, every) == nil {
			if err := u.client.PatchTrial(bctx, u.trialID, ""); err != nil && bctx.Err() == nil {
				u.log.WarnContext(bctx, "trial heartbeat failed", "error", err)
			}
		}
	}()
}

// TrialID returns the master's id of the trial.
func (u *UnmanagedContext) TrialID() int { return u.trialID }

// Searcher yields one operation of searcher.max_length.
func (u *UnmanagedContext) Searcher() trial.Searcher { return u.searcher }

// ReportProgress reports the fraction of training done.
func (u *UnmanagedContext) ReportProgress(ctx context.Context, fraction float64) error {
	// A lost progress report must not end a run that a master restart
	// interrupts: it rides out the outage like the metrics.
	p := reportPolicy.withDefaults()
	return u.client.reportProgress(ctx, u.proto, u.trialID, fraction, 0, &p)
}

// ShouldPreempt is always false: nobody preempts an unmanaged run.
func (u *UnmanagedContext) ShouldPreempt(context.Context) (bool, error) { return false, nil }

// Close stops the heartbeats, flushes the metrics and marks the trial
// COMPLETED, or ERROR when runErr is not nil.
func (u *UnmanagedContext) Close(ctx context.Context, runErr error) error {
	var err error
	u.closeOnce.Do(func() {
		u.stopBeat()
		<-u.beatDone
		err = u.queue.Close(ctx)
		state := "STATE_COMPLETED"
		if runErr != nil || err != nil {
			state = "STATE_ERROR"
		}
		if perr := u.client.PatchTrial(ctx, u.trialID, state); err == nil {
			err = perr
		}
	})
	return err
}
