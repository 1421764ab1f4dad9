package experiment

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/churn-pdk/churn/trial"
)

// ClusterOptions configure NewClusterContext. The zero value is usable.
type ClusterOptions struct {
	// Logger receives progress lines; nil discards.
	Logger *slog.Logger
	// Client configures the REST client (HTTP client, retries, sleep).
	Client Options
	// Storage says where checkpoint storage is mounted.
	Storage StorageOptions
	// PreemptRetry is the wait after a failed preemption poll; 0 means 10s.
	PreemptRetry time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ClusterContext is trial.Context inside a Determined trial container:
// metrics and checkpoints go to the master and checkpoint storage, the
// preemption signal comes from a long poll. Close it before exiting.
type ClusterContext struct {
	run
	env      *TrialEnv
	searcher trial.Searcher
	preempt  *preemptWatcher
}

var _ trial.Context = (*ClusterContext)(nil)

// NewClusterContext builds the context of the trial env describes: it asks
// the master for its version, registers the checkpoint storage (0.29+),
// tells a resume from a warm start, and starts the preemption watcher.
func NewClusterContext(ctx context.Context, env *TrialEnv, opts *ClusterOptions) (
	*ClusterContext, error) {
	if opts == nil {
		opts = &ClusterOptions{}
	}
	copts := opts.Client
	if copts.Retry == (RetryPolicy{}) {
		// Every call of a running trial rides out a master restart.
		copts.Retry = reportPolicy
	}
	if copts.Logger == nil {
		copts.Logger = opts.Logger
	}
	if copts.HTTPClient == nil {
		hc, err := tlsClient(env)
		if err != nil {
			return nil, err
		}
		copts.HTTPClient = hc
	}
	client, err := NewClient(env.Master, AllocationToken(env.SessionToken), &copts)
	if err != nil {
		return nil, err
	}
	c := &ClusterContext{env: env}
	if err := c.init(ctx, client, opts); err != nil {
		return nil, err
	}
	c.startQueue(ctx)
	c.preempt = newPreemptWatcher(ctx, client, env.AllocationID, opts.PreemptRetry, c.log)
	c.log.InfoContext(ctx, "trial context ready", "trial_id", c.trialID, "run", c.runID,
		"master_version", c.proto.Version.String(), "latest_checkpoint", c.info.LatestCheckpoint,
		"steps_completed", c.info.StepsCompleted)
	return c, nil
}

// init fills the run from env and the master.
func (c *ClusterContext) init(ctx context.Context, client *Client, opts *ClusterOptions) error {
	env := c.env
	c.client, c.log, c.now = client, opts.Logger, opts.Now
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.trialID, c.runID, c.taskID = env.TrialID, env.TrialRunID, env.TaskID
	alloc := env.AllocationID
	c.allocationID = &alloc
	proto, err := client.Protocol(ctx)
	if err != nil {
		return err
	}
	c.proto = proto
	cfg, err := trialConfig(env)
	if err != nil {
		return err
	}
	if err := c.initStorage(ctx, opts.Storage); err != nil {
		return err
	}
	if err := c.initInfo(ctx, cfg); err != nil {
		return err
	}
	c.searcher = newSearcher(c, cfg)
	return nil
}

// trialConfig parses DET_EXPERIMENT_CONFIG with the sampled
// hyperparameters of DET_HPARAMS in place of their definitions.
func trialConfig(env *TrialEnv) (*trial.Config, error) {
	raw := make(map[string]any, len(env.Config))
	for k, v := range env.Config {
		raw[k] = v
	}
	raw["hyperparameters"] = env.Hparams
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("experiment: DET_EXPERIMENT_CONFIG: %w", err)
	}
	cfg, err := trial.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("experiment: DET_EXPERIMENT_CONFIG with DET_HPARAMS: %w",
			hpCause(err))
	}
	return cfg, nil
}

func (c *ClusterContext) initStorage(ctx context.Context, so StorageOptions) error {
	cs, _ := c.env.Config["checkpoint_storage"].(map[string]any)
	st, err := NewStorage(cs, so)
	if err != nil {
		return err
	}
	c.storage = st
	if c.proto.RunsStart {
		c.storageID, err = c.client.RunsStart(ctx, c.trialID, cs)
	}
	return err
}

// initInfo resolves the hyperparameters and tells a resume of this trial
// (steps kept) from a warm start off another trial's checkpoint (steps 0).
func (c *ClusterContext) initInfo(ctx context.Context, cfg *trial.Config) error {
	hp, err := cfg.Hparams()
	if err != nil {
		return fmt.Errorf("experiment: DET_HPARAMS: %w", hpCause(err))
	}
	steps := c.env.StepsCompleted
	if c.env.LatestCheckpoint != "" && steps > 0 {
		same, err := sameTrial(ctx, c.client, c.env.LatestCheckpoint, c.trialID)
		if err != nil {
			return err
		}
		if !same {
			steps = 0
		}
	}
	c.info = trial.Info{TrialID: strconv.Itoa(c.trialID), Hyperparameters: hp, Config: cfg,
		LatestCheckpoint: c.env.LatestCheckpoint, StepsCompleted: steps}
	return nil
}

// tlsClient builds the HTTP client for a TLS master from
// DET_MASTER_CERT_FILE / DET_MASTER_CERT_NAME.
func tlsClient(env *TrialEnv) (*http.Client, error) {
	if env.MasterCertFile == "" && env.MasterCertName == "" {
		return &http.Client{}, nil
	}
	cfg := &tls.Config{ServerName: env.MasterCertName, MinVersion: tls.VersionTLS12}
	switch env.MasterCertFile {
	case "":
	case "noverify":
		cfg.InsecureSkipVerify = true // the operator asked for it
	default:
		pem, err := os.ReadFile(env.MasterCertFile)
		if err != nil {
			return nil, &ConfigError{Field: "DET_MASTER_CERT_FILE", Reason: err.Error()}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Field: "DET_MASTER_CERT_FILE", Reason: "no PEM certificate"}
		}
		cfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

// Searcher yields the training operations.
func (c *ClusterContext) Searcher() trial.Searcher { return c.searcher }

// ReportProgress reports the fraction of training done.
func (c *ClusterContext) ReportProgress(ctx context.Context, fraction float64) error {
	units := fraction * float64(c.info.Config.Searcher.MaxLength.Batches)
	if s, ok := c.searcher.(*opSearcher); ok {
		units = fraction * float64(s.length)
	}
	return c.client.ReportProgress(ctx, c.proto, c.trialID, fraction, units)
}

// ShouldPreempt reports (and acknowledges) a preemption request. The first
// call waits for the master's first answer.
func (c *ClusterContext) ShouldPreempt(ctx context.Context) (bool, error) {
	return c.preempt.should(ctx)
}

// ExitInvalidHP tells the master the trial ends early because its
// hyperparameters or data cannot train; the process then exits 0.
func (c *ClusterContext) ExitInvalidHP(ctx context.Context) error {
	return c.client.EarlyExitInvalidHP(ctx, c.trialID)
}

// Client returns the context's REST client.
func (c *ClusterContext) Client() *Client { return c.client }

// Close stops the preemption watcher and flushes the metrics; call it
// before the process exits, with a deadline.
func (c *ClusterContext) Close(ctx context.Context) error {
	c.preempt.stop()
	return c.queue.Close(ctx)
}
