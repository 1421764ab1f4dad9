package experiment_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
	"github.com/churn-pdk/churn/trial"
)

// testLogger writes log lines to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// cluster is a fake master whose trials run the real churn trial in
// process, with shared_fs checkpoint storage in a temporary directory.
type cluster struct {
	master  *detfake.Master
	client  *experiment.Client
	hostDir string
	csv     string
	codes   []int
	// sleeps records the trial clients' backoff waits (none is slept).
	sleeps sleeps
}

// newCluster starts the fake master; version "" means 0.38.1.
func newCluster(t *testing.T, version string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{hostDir: filepath.Join(dir, "checkpoints"), csv: filepath.Join(dir, "data.csv")}
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, 600, 11); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.csv, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c.master = detfake.New(t, detfake.Options{Version: version, Launch: c.launch(t)})
	client, err := experiment.NewClient(c.master.URL(), experiment.Credentials{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Login(context.Background(), "admin", experiment.NewSecret(detfake.Password)); err != nil {
		t.Fatalf("Login: %v", err)
	}
	c.client = client
	return c
}

// launch runs one trial allocation the way `churn trial` does.
func (c *cluster) launch(t *testing.T) func(context.Context, map[string]string) int {
	return func(ctx context.Context, env map[string]string) int {
		te, err := experiment.ReadTrialEnv(func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		})
		if err != nil {
			t.Errorf("ReadTrialEnv: %v", err)
			return 1
		}
		opts := &experiment.TrialOptions{
			Cluster: experiment.ClusterOptions{Logger: testLogger(t),
				Client:  experiment.Options{Sleep: c.sleeps.sleep},
				Storage: experiment.StorageOptions{SharedFSRoot: c.hostDir}},
			Settings: trial.Settings{Spec: dataset.PDKSpec()},
		}
		_, err = experiment.RunTrial(ctx, te, opts)
		code := 0
		if err != nil {
			t.Logf("trial run %s ended: %v", env["DET_TRIAL_RUN_ID"], err)
			code = 1
		}
		c.codes = append(c.codes, code)
		return code
	}
}

// config is a small churn experiment config for the cluster.
func (c *cluster) config(batches int, extra string) string {
	return fmt.Sprintf(`name: churn-test
entrypoint: ./churn trial
hyperparameters: {global_batch_size: 32, random_seed: 42, test_size: 0.2, lr: 0.001, dense1: 8}
searcher: {name: single, metric: val_acc, smaller_is_better: false, max_length: {batches: %d}}
min_validation_period: {batches: 100}
max_restarts: 0
checkpoint_storage: {type: shared_fs, host_path: %s}
data: {source: local, files: [%s]}
%s`, batches, c.hostDir, c.csv, extra)
}

// submit creates an experiment from a model definition holding a churn
// binary stand-in, and waits for it.
func (c *cluster) submit(t *testing.T, config string) (int, string) {
	t.Helper()
	def := t.TempDir()
	if err := os.WriteFile(filepath.Join(def, "churn"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := experiment.PackModelDefinition(def, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := c.client.CreateExperiment(ctx, experiment.CreateExperimentRequest{
		Config: config, ModelDefinition: files, Activate: true})
	if err != nil {
		t.Fatalf("CreateExperiment: %v", err)
	}
	id := resp.Experiment.ID
	state, err := c.client.WaitExperiment(ctx, id, experiment.WaitOptions{Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("WaitExperiment(%d): %v", id, err)
	}
	return id, state
}

// finalModel returns model.bin of the trial's checkpoint at steps.
func (c *cluster) finalModel(t *testing.T, trialID, steps int) []byte {
	t.Helper()
	for _, u := range c.master.Trial(trialID).Checkpoints {
		meta := c.master.Checkpoint(u)["metadata"].(map[string]any)
		if meta["steps_completed"] == float64(steps) {
			b, err := os.ReadFile(filepath.Join(c.hostDir, u, checkpoint.ModelFile))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("trial %d has no checkpoint at %d", trialID, steps)
	return nil
}

// TestTrialLifecycle ensures a managed trial preempted at batch 300 acks,
// restarts from its checkpoint and ends bit-identical to an uninterrupted
// one, and that the best checkpoint can be registered and downloaded.
func TestTrialLifecycle(t *testing.T) {
	c := newCluster(t, "")
	c.master.OnMetric(func(m detfake.Metric) {
		if m.Group == "training" && m.Steps >= 300 && m.TrialRunID == 1 && m.TrialID == 1 {
			c.master.Preempt(m.TrialID)
		}
	})
	expID, state := c.submit(t, c.config(500, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("preempted experiment ended %s, want STATE_COMPLETED", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	info := c.master.Trial(tid)
	if info.Runs != 2 || info.State != "STATE_COMPLETED" {
		t.Fatalf("trial = %+v, want 2 runs and COMPLETED", info)
	}
	ack := c.master.Count("POST", fmt.Sprintf("/api/v1/allocations/%s.1/signals/ack_preemption",
		c.master.ExperimentTaskID(tid)))
	if ack != 1 {
		t.Errorf("ack_preemption of run 1 sent %d times, want 1", ack)
	}
	checkResumedMetrics(t, c.master.Metrics(tid))

	otherID, state := c.submit(t, c.config(500, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("uninterrupted experiment ended %s", state)
	}
	other := c.master.TrialIDs(otherID)[0]
	if c.master.Trial(other).Runs != 1 {
		t.Fatalf("uninterrupted trial ran %d times", c.master.Trial(other).Runs)
	}
	if !bytes.Equal(c.finalModel(t, tid, 500), c.finalModel(t, other, 500)) {
		t.Fatal("model.bin at batch 500 differs between the preempted and uninterrupted trials")
	}
	registerAndDownload(t, c, expID)
}

// checkResumedMetrics ensures run 2 reported only past its checkpoint.
func checkResumedMetrics(t *testing.T, ms []detfake.Metric) {
	t.Helper()
	first2 := -1
	for _, m := range ms {
		if m.TrialRunID == 2 && first2 < 0 {
			first2 = m.Steps
		}
	}
	if first2 <= 300 || first2 > 500 {
		t.Errorf("run 2 first reported at step %d, want after its resume point (>300)", first2)
	}
	last := ms[len(ms)-1]
	if last.Steps != 500 || last.TrialRunID != 2 {
		t.Errorf("last report = %+v, want step 500 of run 2", last)
	}
}

// registerAndDownload registers the best checkpoint and reads it back.
func registerAndDownload(t *testing.T, c *cluster, expID int) {
	t.Helper()
	ctx := context.Background()
	mv, err := c.client.RegisterBest(ctx, experiment.RegisterOptions{Model: "churn",
		Experiment: expID, VersionName: "v-test", Notes: "from the lifecycle test"})
	if err != nil {
		t.Fatalf("RegisterBest: %v", err)
	}
	best, err := c.client.BestCheckpoint(ctx, expID)
	if err != nil || mv.Checkpoint.UUID != best.UUID || mv.Version != 1 {
		t.Fatalf("registered %s v%d, best %v (%v)", mv.Checkpoint.UUID, mv.Version, best, err)
	}
	latest, err := c.client.ModelVersion(ctx, "churn", 0)
	if err != nil || latest.Version != 1 || latest.Name != "v-test" {
		t.Fatalf("ModelVersion(latest) = %+v, %v", latest, err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := c.client.DownloadCheckpoint(ctx, best.UUID, dir); err != nil {
		t.Fatalf("DownloadCheckpoint: %v", err)
	}
	ck, err := checkpoint.Read(dir)
	if err != nil {
		t.Fatalf("checkpoint.Read(downloaded): %v", err)
	}
	if ck.Metadata.StepsCompleted != best.StepsCompleted() {
		t.Errorf("downloaded steps %d, want %d", ck.Metadata.StepsCompleted, best.StepsCompleted())
	}
	want, _ := os.ReadFile(filepath.Join(c.hostDir, best.UUID, checkpoint.ModelFile))
	got, _ := os.ReadFile(filepath.Join(dir, checkpoint.ModelFile))
	if !bytes.Equal(got, want) {
		t.Error("downloaded model.bin differs from the stored one")
	}
}

func parseConfig(t *testing.T, text string) *trial.Config {
	t.Helper()
	cfg, err := trial.ParseConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func pdkSettings() trial.Settings { return trial.Settings{Spec: dataset.PDKSpec()} }
