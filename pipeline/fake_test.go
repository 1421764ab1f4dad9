package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/nn"
)

// fakeDet is an in-memory Determined for the unit tests of the steps; the
// end-to-end test uses the fake master of package detfake instead.
type fakeDet struct {
	t *testing.T
	// checkpoints maps a uuid to a checkpoint directory on disk.
	checkpoints map[string]string
	// state is the state experiments end in ("" = completed).
	state string
	// best returns the best checkpoint of an experiment ("" = none).
	best func(expID int) string

	mu       sync.Mutex // guards the fields below
	models   map[string]experiment.CreateModelRequest
	versions map[string][]experiment.ModelVersion
	configs  []map[string]any
	defs     [][]experiment.File
	calls    []string
}

func newFakeDet(t *testing.T) *fakeDet {
	return &fakeDet{t: t, checkpoints: map[string]string{},
		models:   map[string]experiment.CreateModelRequest{},
		versions: map[string][]experiment.ModelVersion{}}
}

func (f *fakeDet) record(format string, args ...any) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeDet) EnsureModel(_ context.Context, req experiment.CreateModelRequest) (
	*experiment.Model, error) {
	f.record("EnsureModel %s", req.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.models[req.Name]; !ok {
		f.models[req.Name] = req
	}
	return &experiment.Model{Name: req.Name, Labels: req.Labels, Metadata: req.Metadata}, nil
}

func (f *fakeDet) ModelVersion(_ context.Context, model string, n int) (
	*experiment.ModelVersion, error) {
	f.record("ModelVersion %s %d", model, n)
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.versions[model]
	if n <= 0 && len(vs) > 0 {
		v := vs[len(vs)-1]
		return &v, nil
	}
	if n > 0 && n <= len(vs) {
		v := vs[n-1]
		return &v, nil
	}
	return nil, fmt.Errorf("%w: model %q version %d", experiment.ErrNotFound, model, n)
}

func (f *fakeDet) CreateExperiment(_ context.Context, req experiment.CreateExperimentRequest) (
	*experiment.CreateExperimentResponse, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(req.Config), &cfg); err != nil {
		f.t.Errorf("CreateExperiment: config is not YAML: %v", err)
	}
	f.mu.Lock()
	f.configs = append(f.configs, cfg)
	f.defs = append(f.defs, req.ModelDefinition)
	id := len(f.configs)
	f.mu.Unlock()
	f.record("CreateExperiment %d", id)
	return &experiment.CreateExperimentResponse{Experiment: experiment.Experiment{ID: id}}, nil
}

func (f *fakeDet) WaitExperiment(_ context.Context, id int, _ experiment.WaitOptions) (string, error) {
	f.record("WaitExperiment %d", id)
	if f.state != "" {
		return f.state, nil
	}
	return stateCompleted, nil
}

func (f *fakeDet) BestCheckpoint(_ context.Context, id int) (*experiment.Checkpoint, error) {
	f.record("BestCheckpoint %d", id)
	uuid := ""
	if f.best != nil {
		uuid = f.best(id)
	}
	if uuid == "" {
		return nil, fmt.Errorf("%w: experiment %d has no completed checkpoint", experiment.ErrNotFound, id)
	}
	return &experiment.Checkpoint{UUID: uuid, State: "STATE_COMPLETED"}, nil
}

func (f *fakeDet) RegisterVersion(_ context.Context, req experiment.RegisterRequest) (
	*experiment.ModelVersion, error) {
	f.record("RegisterVersion %s %s %s", req.ModelName, req.CheckpointUUID, req.Name)
	f.mu.Lock()
	defer f.mu.Unlock()
	v := experiment.ModelVersion{
		Version: len(f.versions[req.ModelName]) + 1, Name: req.Name, Notes: req.Notes,
		Metadata: req.Metadata, Checkpoint: experiment.Checkpoint{UUID: req.CheckpointUUID},
	}
	f.versions[req.ModelName] = append(f.versions[req.ModelName], v)
	return &v, nil
}

func (f *fakeDet) DownloadCheckpoint(_ context.Context, uuid, dir string) error {
	f.record("DownloadCheckpoint %s", uuid)
	src, ok := f.checkpoints[uuid]
	if !ok {
		return fmt.Errorf("%w: checkpoint %s", experiment.ErrNotFound, uuid)
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	return os.CopyFS(dir, os.DirFS(src))
}

// addVersion registers checkpoint dir as the next version of model.
func (f *fakeDet) addVersion(model, name, uuid, dir string, meta map[string]any) {
	f.checkpoints[uuid] = dir
	_, err := f.RegisterVersion(context.Background(), experiment.RegisterRequest{
		ModelName: model, CheckpointUUID: uuid, Name: name, Metadata: meta,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.calls = nil
}

func (f *fakeDet) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// writeCheckpoint writes a small real checkpoint (PDK spec, untrained
// network seeded with seed) into a new directory and returns it.
func writeCheckpoint(t *testing.T, seed int64) string {
	t.Helper()
	spec := dataset.PDKSpec()
	net, err := nn.New(nn.Config{Inputs: spec.Width(), Hidden: 4, LR: 1e-3, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := checkpoint.Write(dir, checkpoint.Metadata{StepsCompleted: 10, Threshold: 0.5},
		net, spec); err != nil {
		t.Fatal(err)
	}
	return dir
}

// workerEnv returns a getenv for a worker of pipeline in project, run by
// job; extra entries are added.
func workerEnv(pipeline, project, job string, extra ...string) func(string) string {
	m := map[string]string{EnvJobID: job, EnvPipeline: pipeline, EnvProject: project,
		"data_COMMIT": job}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

// commitID returns a 32-hex commit id made of r.
func commitID(r rune) string { return strings.Repeat(string(r), 32) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
