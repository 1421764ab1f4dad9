package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/pipeline/pachyderm"
	"github.com/churn-pdk/churn/trial"
)

// ErrExperimentFailed means the train step's experiment ended in a state
// other than COMPLETED.
var ErrExperimentFailed = errors.New("pipeline: train: experiment did not complete")

// Experiment states the train step tells apart.
const stateCompleted = "STATE_COMPLETED"

// TrainOptions configure the train step.
type TrainOptions struct {
	// Config is the experiment config file; its directory is uploaded as
	// the model definition. Required.
	Config string
	// Repo is the data repository. Required.
	Repo string
	// Project is the data repository's project; "" means the worker's.
	Project string
	// Branch is the data branch; "" means master.
	Branch string
	// Model is the registry model's name. Required.
	Model string
	// Input is the pipeline's pfs input name; "" means "data".
	Input string
	// S3Endpoint is the S3 gateway address as trial containers reach it;
	// "" means the one pachd's service links give the worker.
	S3Endpoint string
	// TokenEnv names the variable that holds the Pachyderm token in the
	// worker and in trial containers; "" means PAC_TOKEN. The config
	// records the name only when the worker has a value for it.
	TokenEnv string
	// Full trains on every file even when an earlier version exists (it
	// still warm-starts from that version).
	Full bool
	// OutDir is the output directory; "" means /pfs/out.
	OutDir string
	// PollInterval is the experiment polling interval; 0 means 5s.
	PollInterval time.Duration
}

func (o *TrainOptions) defaults() {
	if o.Input == "" {
		o.Input = "data"
	}
	if o.TokenEnv == "" {
		o.TokenEnv = EnvToken
	}
	if o.OutDir == "" {
		o.OutDir = "/pfs/out"
	}
}

// Validate checks the options that do not depend on the environment.
func (o TrainOptions) Validate() error {
	for _, f := range [][2]string{{"--config", o.Config}, {"--repo", o.Repo}, {"--model", o.Model}} {
		if f[1] == "" {
			return fmt.Errorf("pipeline: train: %s is required", f[0])
		}
	}
	return nil
}

// Trainer runs the train step.
type Trainer struct {
	// Det is the Determined master. Required.
	Det Determined
	// Getenv reads the worker environment; nil means os.Getenv.
	Getenv func(string) string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// TrainResult says what the train step did.
type TrainResult struct {
	// Experiment is the experiment it ran.
	Experiment int
	// WarmStart is the checkpoint it started from ("" for a fresh model).
	WarmStart string
	// PreviousCommit is the data commit of the version it continued from;
	// only files changed since then were trained on ("" when all were).
	PreviousCommit string
	// Info is what it wrote into model-info.yaml; nil when the experiment
	// produced no checkpoint and nothing was registered.
	Info *ModelInfo
}

// Train runs one training job: submit, wait, register, write the output.
// An experiment that does not complete is an error; one that completes
// without a checkpoint is not (Info is nil).
func (t *Trainer) Train(ctx context.Context, opts TrainOptions) (*TrainResult, error) {
	opts.defaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := t.logger()
	env, err := ReadWorkerEnv(t.getenv, opts.Input)
	if err != nil {
		return nil, err
	}
	if opts.Project == "" {
		opts.Project = env.Project
	}
	log.Info("training step", "pipeline", env.Pipeline, "job", env.JobID,
		"repo", opts.Repo, "data_commit", env.InputCommit, "model", opts.Model)
	raw, err := t.loadConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	_, err = t.Det.EnsureModel(ctx, experiment.CreateModelRequest{
		Name: opts.Model, Description: "customer churn classifier trained by " + env.Pipeline,
		Labels:   []string{env.Pipeline, opts.Repo},
		Metadata: map[string]any{"pipeline": env.Pipeline, "repository": opts.Repo},
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: train: model %q: %w", opts.Model, err)
	}
	latest, err := t.latestVersion(ctx, opts.Model)
	if err != nil {
		return nil, err
	}
	if latest != nil && latest.Name == env.JobID {
		return t.resume(ctx, opts, env, latest)
	}
	res, err := t.prepare(raw, opts, env, latest)
	if err != nil {
		return nil, err
	}
	if err := t.run(ctx, raw, opts, res); err != nil {
		return res, err
	}
	return res, t.register(ctx, opts, env, res)
}

func (t *Trainer) getenv(k string) string {
	if t.Getenv == nil {
		return os.Getenv(k)
	}
	return t.Getenv(k)
}

func (t *Trainer) logger() *slog.Logger {
	if t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}

// loadConfig reads the experiment config, checks it the way the trial
// will, and returns the whole document for editing.
func (t *Trainer) loadConfig(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: train: %w", err)
	}
	c, err := trial.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("pipeline: train: %s: %w", path, err)
	}
	return c.Raw, nil
}

// latestVersion returns the model's latest version, nil when it has none.
func (t *Trainer) latestVersion(ctx context.Context, model string) (
	*experiment.ModelVersion, error) {
	v, err := t.Det.ModelVersion(ctx, model, 0)
	if errors.Is(err, experiment.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: train: latest version of %q: %w", model, err)
	}
	return v, nil
}

var commitPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// dataCommitOf returns the data commit a version was trained up to: its
// data_commit metadata, else its name when that is a commit ID (versions
// are named by the training job, whose ID is the data commit's).
func dataCommitOf(v *experiment.ModelVersion) string {
	if c, ok := v.Metadata["data_commit"].(string); ok && commitPattern.MatchString(c) {
		return c
	}
	if commitPattern.MatchString(v.Name) {
		return v.Name
	}
	return ""
}

// prepare edits the config in place: the Pachyderm data section, labels
// and, when a version exists, the warm start.
func (t *Trainer) prepare(raw map[string]any, opts TrainOptions, env WorkerEnv,
	latest *experiment.ModelVersion) (*TrainResult, error) {
	endpoint := opts.S3Endpoint
	if endpoint == "" {
		endpoint = env.S3Endpoint
	}
	if endpoint == "" {
		return nil, fmt.Errorf("pipeline: train: no S3 gateway address: set --s3-endpoint "+
			"(%s and %s are not set)", EnvS3Host, EnvS3Port)
	}
	s := pachyderm.Settings{
		Endpoint: endpoint, Repo: opts.Repo, Branch: opts.Branch, Project: opts.Project,
		Commit: env.InputCommit,
	}
	if t.getenv(opts.TokenEnv) != "" {
		s.TokenEnv = opts.TokenEnv
	}
	res := &TrainResult{}
	if latest != nil {
		res.WarmStart = latest.Checkpoint.UUID
		if !opts.Full {
			s.PreviousCommit = dataCommitOf(latest)
		}
		searcher, _ := raw["searcher"].(map[string]any)
		if searcher == nil {
			return nil, errors.New("pipeline: train: config has no searcher section")
		}
		searcher["source_checkpoint_uuid"] = res.WarmStart
	}
	if s.PreviousCommit == s.Commit {
		s.PreviousCommit = ""
	}
	res.PreviousCommit = s.PreviousCommit
	data, _ := raw["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	pach, err := mergeSettings(data["pachyderm"], s)
	if err != nil {
		return nil, err
	}
	data["source"] = trial.SourcePachyderm
	data["pachyderm"] = pach
	delete(data, "files")
	raw["data"] = data
	raw["labels"] = appendLabels(raw["labels"], opts.Repo, env.JobID, env.Pipeline)
	return res, nil
}

// ownedKeys are the data.pachyderm keys the train step sets; the config
// may set the others (mount, pattern).
var ownedKeys = []string{"endpoint", "repo", "branch", "commit", "project", "previous_commit",
	"token_env"}

// mergeSettings puts the step's settings over the config's own
// data.pachyderm section and checks the result.
func mergeSettings(cfg any, s pachyderm.Settings) (map[string]any, error) {
	m := map[string]any{}
	if old, ok := cfg.(map[string]any); ok {
		for k, v := range old {
			m[k] = v
		}
	}
	for _, k := range ownedKeys {
		delete(m, k)
	}
	for k, v := range s.Map() {
		m[k] = v
	}
	if _, err := pachyderm.ParseSettings(m); err != nil {
		return nil, fmt.Errorf("pipeline: train: config: %w", err)
	}
	return m, nil
}

// appendLabels adds labels to a config's labels list, once each.
func appendLabels(v any, labels ...string) []any {
	old, _ := v.([]any)
	out := append([]any(nil), old...)
	for _, l := range labels {
		seen := false
		for _, o := range out {
			seen = seen || o == l
		}
		if !seen {
			out = append(out, l)
		}
	}
	return out
}

// run submits the experiment and waits for it to end.
func (t *Trainer) run(ctx context.Context, raw map[string]any, opts TrainOptions,
	res *TrainResult) error {
	log := t.logger()
	text, err := yaml.Marshal(raw)
	if err != nil {
		return fmt.Errorf("pipeline: train: config: %w", err)
	}
	files, err := experiment.PackModelDefinition(filepath.Dir(opts.Config),
		experiment.MaxModelDefinitionBytes)
	if err != nil {
		return fmt.Errorf("pipeline: train: model definition: %w", err)
	}
	if err := experiment.CheckEntrypoint(text, files); err != nil {
		return fmt.Errorf("pipeline: train: %s: %w", opts.Config, err)
	}
	created, err := t.Det.CreateExperiment(ctx, experiment.CreateExperimentRequest{
		Config: string(text), ModelDefinition: files, Activate: true,
	})
	if err != nil {
		return fmt.Errorf("pipeline: train: create experiment: %w", err)
	}
	res.Experiment = created.Experiment.ID
	log.Info("experiment created", "experiment", res.Experiment, "warm_start", res.WarmStart,
		"previous_commit", res.PreviousCommit, "warnings", len(created.Warnings))
	state, err := t.Det.WaitExperiment(ctx, res.Experiment, experiment.WaitOptions{
		Interval: opts.PollInterval,
		OnState: func(s string) {
			log.Info("experiment state", "experiment", res.Experiment, "state", s)
		},
	})
	if err != nil {
		return fmt.Errorf("pipeline: train: experiment %d: %w", res.Experiment, err)
	}
	if state != stateCompleted {
		return fmt.Errorf("%w: experiment %d ended in state %s, not %s",
			ErrExperimentFailed, res.Experiment, state, stateCompleted)
	}
	return nil
}

// register registers the best checkpoint as the version named by the job
// and writes the checkpoint and model-info.yaml into the output.
func (t *Trainer) register(ctx context.Context, opts TrainOptions, env WorkerEnv,
	res *TrainResult) error {
	log := t.logger()
	best, err := t.Det.BestCheckpoint(ctx, res.Experiment)
	if errors.Is(err, experiment.ErrNotFound) {
		log.Warn("no checkpoint: the experiment found nothing to train on; "+
			"no model version registered", "experiment", res.Experiment)
		return nil
	}
	if err != nil {
		return fmt.Errorf("pipeline: train: best checkpoint of experiment %d: %w",
			res.Experiment, err)
	}
	v, err := t.Det.RegisterVersion(ctx, experiment.RegisterRequest{
		ModelName: opts.Model, CheckpointUUID: best.UUID, Name: env.JobID,
		Notes: fmt.Sprintf("pipeline %s job %s, data %s@%s", env.Pipeline, env.JobID,
			opts.Repo, env.InputCommit),
		Metadata: map[string]any{
			"data_commit": env.InputCommit, "previous_commit": res.PreviousCommit,
			"pipeline": env.Pipeline, "repo": opts.Repo, "project": opts.Project,
			"experiment_id": res.Experiment,
		},
	})
	if err != nil {
		return fmt.Errorf("pipeline: train: register checkpoint %s: %w", best.UUID, err)
	}
	log.Info("version registered", "model", opts.Model, "version", v.Version, "name", env.JobID,
		"checkpoint", best.UUID)
	info := ModelInfo{
		Name: opts.Model, Version: env.JobID, Pipeline: env.Pipeline, Repo: opts.Repo,
		Project: opts.Project, Number: v.Version, DataCommit: env.InputCommit,
		Checkpoint: best.UUID,
	}
	if err := t.writeOutput(ctx, opts.OutDir, info); err != nil {
		return err
	}
	res.Info = &info
	return nil
}

// resume finishes a retried datum whose job already registered its
// version (the step failed while writing the output): it writes that
// version's output instead of training again.
func (t *Trainer) resume(ctx context.Context, opts TrainOptions, env WorkerEnv,
	v *experiment.ModelVersion) (*TrainResult, error) {
	t.logger().Warn("this job already registered a version; writing its output without "+
		"training again", "model", opts.Model, "version", v.Version, "name", v.Name,
		"checkpoint", v.Checkpoint.UUID)
	info := ModelInfo{
		Name: opts.Model, Version: env.JobID, Pipeline: env.Pipeline, Repo: opts.Repo,
		Project: opts.Project, Number: v.Version, DataCommit: env.InputCommit,
		Checkpoint: v.Checkpoint.UUID,
	}
	if err := t.writeOutput(ctx, opts.OutDir, info); err != nil {
		return nil, err
	}
	return &TrainResult{Info: &info}, nil
}

// writeOutput downloads the checkpoint into <out>/checkpoint and writes
// model-info.yaml last, so that a reader seeing it finds the checkpoint.
func (t *Trainer) writeOutput(ctx context.Context, out string, info ModelInfo) error {
	dir := filepath.Join(out, CheckpointDir)
	// A retried datum may have left a copy behind.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("pipeline: train: %w", err)
	}
	if err := t.Det.DownloadCheckpoint(ctx, info.Checkpoint, dir); err != nil {
		return fmt.Errorf("pipeline: train: download checkpoint %s: %w", info.Checkpoint, err)
	}
	return WriteModelInfo(filepath.Join(out, ModelInfoFile), info)
}
