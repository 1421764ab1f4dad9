package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// ErrInvalidHP marks hyperparameters (or data) a trial cannot train with:
// the trial reports an early exit and ends with status 0.
var ErrInvalidHP = errors.New("experiment: invalid hyperparameters")

// DataFunc returns the data source a config's data section names.
type DataFunc func(ctx context.Context, cfg *trial.Config) (trial.DataSource, error)

// TrialOptions configure RunTrial.
type TrialOptions struct {
	// Cluster configures the cluster context.
	Cluster ClusterOptions
	// Data picks the data source; nil means trial.DataSourceFor (local
	// files). The Pachyderm source plugs in here.
	Data DataFunc
	// Settings are passed to trial.Run; a nil Data or Spec is filled from
	// the config (data.features, else features.json in the working
	// directory when present).
	Settings trial.Settings
	// CloseTimeout bounds the final metrics flush; 0 means 2 minutes.
	CloseTimeout time.Duration
}

// RunTrial is the body of a trial container: it builds the cluster
// context from env, runs the churn training loop in it and ends as the
// master expects. A nil error means exit 0: the run completed, was
// preempted (and acknowledged) after a checkpoint, or stopped early on
// invalid hyperparameters or missing data (reported to the master).
func RunTrial(ctx context.Context, env *TrialEnv, opts *TrialOptions) (*trial.Result, error) {
	if opts == nil {
		opts = &TrialOptions{}
	}
	tc, err := NewClusterContext(ctx, env, &opts.Cluster)
	if errors.Is(err, ErrInvalidHP) {
		return nil, exitInvalidHP(ctx, env, opts, err)
	}
	if err != nil {
		return nil, err
	}
	res, runErr := runLoop(ctx, tc, opts)
	if runErr != nil && (errors.Is(runErr, trial.ErrNoData) || errors.Is(runErr, ErrInvalidHP)) {
		tc.log.WarnContext(ctx, "trial cannot train; exiting early", "error", runErr)
		if err := tc.ExitInvalidHP(ctx); err != nil {
			runErr = errors.Join(runErr, err)
		} else {
			runErr = nil
		}
	}
	timeout := opts.CloseTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := tc.Close(cctx); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
}

// runLoop fills the settings and runs the training loop.
func runLoop(ctx context.Context, tc *ClusterContext, opts *TrialOptions) (*trial.Result, error) {
	s := opts.Settings
	cfg := tc.Info().Config
	if s.Logger == nil {
		s.Logger = tc.log
	}
	if s.Data == nil {
		pick := opts.Data
		if pick == nil {
			pick = func(_ context.Context, c *trial.Config) (trial.DataSource, error) {
				return trial.DataSourceFor(c.Data)
			}
		}
		ds, err := pick(ctx, cfg)
		if err != nil {
			return nil, err
		}
		s.Data = ds
	}
	if s.Spec == nil {
		spec, err := specFor(cfg)
		if err != nil {
			return nil, err
		}
		s.Spec = spec
	}
	res, err := trial.Run(ctx, tc, &s)
	if err == nil && res.Status == trial.Preempted {
		tc.log.InfoContext(ctx, "trial preempted after a checkpoint", "steps", res.Steps)
	}
	return res, err
}

// specFor reads the config's feature spec file, else features.json in
// the working directory; nil (fit one) when neither is given.
func specFor(cfg *trial.Config) (*dataset.Spec, error) {
	path := cfg.Data.Features
	if path == "" {
		if _, err := os.Stat("features.json"); err != nil {
			return nil, nil
		}
		path = "features.json"
	}
	spec, err := dataset.LoadSpec(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: data.features: %w", err)
	}
	return spec, nil
}

// exitInvalidHP reports an early exit for a trial whose context could not
// even be built because of its hyperparameters.
func exitInvalidHP(ctx context.Context, env *TrialEnv, opts *TrialOptions, cause error) error {
	copts := opts.Cluster.Client
	c, err := NewClient(env.Master, AllocationToken(env.SessionToken), &copts)
	if err != nil {
		return errors.Join(cause, err)
	}
	if err := c.EarlyExitInvalidHP(ctx, env.TrialID); err != nil {
		return errors.Join(cause, err)
	}
	if opts.Cluster.Logger != nil {
		opts.Cluster.Logger.WarnContext(ctx, "invalid hyperparameters; exited early",
			"error", cause)
	}
	return nil
}

// hpCause wraps a config error on hyperparameters with ErrInvalidHP.
func hpCause(err error) error {
	var ce *trial.ConfigError
	if errors.As(err, &ce) && strings.HasPrefix(ce.Field, "hyperparameters") {
		return fmt.Errorf("%w: %w", ErrInvalidHP, err)
	}
	return err
}
