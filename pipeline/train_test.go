package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const (
	dataRepo   = "customer-churn-data"
	pacToken   = "pac-secret-token-42"
	s3Endpoint = "http://10.0.0.9:30600"
)

// trainFixture is a training worker's world: the experiment directory of
// the pipeline image, the registry and the output directory.
type trainFixture struct {
	det    *fakeDet
	tr     *Trainer
	opts   TrainOptions
	logBuf bytes.Buffer
}

// experimentDir writes the model definition the pipeline image ships: the
// project's experiment config and an executable standing in for churn.
func experimentDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join("..", "experiment", "const.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "const.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "churn"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newTrainFixture(t *testing.T, job string) *trainFixture {
	f := &trainFixture{det: newFakeDet(t)}
	f.tr = &Trainer{
		Det: f.det,
		Getenv: workerEnv(trainPipeline, churnProject, job, EnvToken, pacToken,
			EnvS3Host, "10.0.0.9", EnvS3Port, "30600"),
		Logger: slog.New(slog.NewTextHandler(&f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	f.opts = TrainOptions{Config: filepath.Join(experimentDir(t), "const.yaml"), Repo: dataRepo,
		Model: churnModel, OutDir: t.TempDir()}
	return f
}

// submitted returns the data and searcher sections of experiment n's config.
func (f *trainFixture) submitted(t *testing.T, n int) (data, searcher map[string]any) {
	t.Helper()
	if len(f.det.configs) < n {
		t.Fatalf("%d experiments submitted, want %d", len(f.det.configs), n)
	}
	cfg := f.det.configs[n-1]
	data, _ = cfg["data"].(map[string]any)
	searcher, _ = cfg["searcher"].(map[string]any)
	return data, searcher
}

// Ensures the first training job trains a new model on every file of its
// commit, registers the best checkpoint under the job's name and writes
// the checkpoint and model-info.yaml into the output commit.
func TestTrainFirstVersion(t *testing.T) {
	job := commitID('1')
	f := newTrainFixture(t, job)
	ckpt := writeCheckpoint(t, 1)
	f.det.checkpoints["uuid-1"] = ckpt
	f.det.best = func(int) string { return "uuid-1" }
	res, err := f.tr.Train(context.Background(), f.opts)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	data, searcher := f.submitted(t, 1)
	wantData := map[string]any{"source": "pachyderm", "features": "", "pachyderm": map[string]any{
		"endpoint": s3Endpoint, "repo": dataRepo, "project": churnProject,
		"commit": job, "token_env": "PAC_TOKEN",
	}}
	if diff := cmp.Diff(wantData, data); diff != "" {
		t.Errorf("submitted data section (-want +got):\n%s", diff)
	}
	if _, ok := searcher["source_checkpoint_uuid"]; ok {
		t.Errorf("first experiment warm-starts: %v", searcher)
	}
	if got := f.det.configs[0]["labels"]; !cmp.Equal(got, []any{dataRepo, job, trainPipeline}) {
		t.Errorf("labels = %v", got)
	}
	paths := map[string]bool{}
	for _, file := range f.det.defs[0] {
		paths[file.Path] = true
	}
	if !paths["const.yaml"] || !paths["churn"] {
		t.Errorf("model definition holds %v, want const.yaml and churn", paths)
	}
	wantInfo := ModelInfo{Name: churnModel, Version: job, Pipeline: trainPipeline, Repo: dataRepo,
		Project: churnProject, Number: 1, DataCommit: job, Checkpoint: "uuid-1"}
	got, err := ReadModelInfo(filepath.Join(f.opts.OutDir, ModelInfoFile))
	if err != nil || *got != wantInfo || *res.Info != wantInfo {
		t.Errorf("model-info.yaml = %+v (%v), result %+v; want %+v", got, err, res.Info, wantInfo)
	}
	if diff, err := sameFiles(ckpt, filepath.Join(f.opts.OutDir, CheckpointDir)); diff != "" || err != nil {
		t.Errorf("output checkpoint: %s %v", diff, err)
	}
	v := f.det.versions[churnModel][0]
	if v.Name != job || v.Metadata["data_commit"] != job || v.Checkpoint.UUID != "uuid-1" {
		t.Errorf("registered version %+v", v)
	}
	f.assertNoToken(t)
}

// Ensures a later job warm-starts from the latest version's checkpoint and
// trains only on what changed since that version's data commit.
func TestTrainWarmStart(t *testing.T) {
	first, job := commitID('1'), commitID('2')
	f := newTrainFixture(t, job)
	f.det.addVersion(churnModel, first, "uuid-1", writeCheckpoint(t, 1),
		map[string]any{"data_commit": first})
	f.det.checkpoints["uuid-2"] = writeCheckpoint(t, 2)
	f.det.best = func(int) string { return "uuid-2" }
	res, err := f.tr.Train(context.Background(), f.opts)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	data, searcher := f.submitted(t, 1)
	pach := data["pachyderm"].(map[string]any)
	if pach["previous_commit"] != first || pach["commit"] != job {
		t.Errorf("data.pachyderm = %v, want previous_commit %s commit %s", pach, first, job)
	}
	if searcher["source_checkpoint_uuid"] != "uuid-1" || res.WarmStart != "uuid-1" {
		t.Errorf("searcher = %v, warm start %q; want source_checkpoint_uuid uuid-1", searcher, res.WarmStart)
	}
	if res.Info == nil || res.Info.Number != 2 || res.Info.Version != job {
		t.Errorf("result info %+v, want version 2 named %s", res.Info, job)
	}

	// --full still warm-starts but trains on every file.
	f2 := newTrainFixture(t, commitID('e'))
	f2.det = f.det
	f2.tr.Det = f.det
	f2.opts.Full = true
	if _, err := f2.tr.Train(context.Background(), f2.opts); err != nil {
		t.Fatalf("Train --full: %v", err)
	}
	data, searcher = f2.submitted(t, 2)
	if _, ok := data["pachyderm"].(map[string]any)["previous_commit"]; ok ||
		searcher["source_checkpoint_uuid"] != "uuid-2" {
		t.Errorf("--full: data %v searcher %v", data, searcher)
	}
}

// Ensures an experiment without a checkpoint ends the job successfully
// with nothing registered or written, and a failed one is an error.
func TestTrainOutcomes(t *testing.T) {
	f := newTrainFixture(t, commitID('3'))
	res, err := f.tr.Train(context.Background(), f.opts)
	if err != nil || res.Info != nil {
		t.Fatalf("Train without checkpoint = %+v, %v; want no info and no error", res, err)
	}
	if entries, _ := os.ReadDir(f.opts.OutDir); len(entries) != 0 {
		t.Errorf("output has %d entries, want none", len(entries))
	}
	if !strings.Contains(f.logBuf.String(), "no checkpoint") {
		t.Errorf("log does not say there was no checkpoint:\n%s", f.logBuf.String())
	}

	f = newTrainFixture(t, commitID('4'))
	f.det.state = "STATE_ERROR"
	_, err = f.tr.Train(context.Background(), f.opts)
	if err == nil || !strings.Contains(err.Error(), "ended in state STATE_ERROR") {
		t.Fatalf("Train with a failed experiment = %v, want the state in the error", err)
	}
	for _, c := range f.det.Calls() {
		if strings.HasPrefix(c, "RegisterVersion") {
			t.Errorf("registered after a failure: %v", f.det.Calls())
		}
	}
}

// badMetricConfig is a complete config but for a searcher metric the
// trial never reports.
const badMetricConfig = `name: churn
hyperparameters: {global_batch_size: 512, random_seed: 42, test_size: 0.2, lr: 0.0001, dense1: 32}
searcher: {name: single, metric: nope, max_length: {batches: 100}}
min_validation_period: {batches: 100}
`

// Ensures problems with the environment or the options stop the step
// before the master is contacted.
func TestTrainRejectsBadSetup(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *trainFixture)
		want string
	}{
		{"no job", func(f *trainFixture) { f.tr.Getenv = func(string) string { return "" } },
			"PACH_JOB_ID is not set"},
		{"no model", func(f *trainFixture) { f.opts.Model = "" }, "--model is required"},
		{"no config", func(f *trainFixture) { f.opts.Config = "/nonexistent/c.yaml" }, "no such file"},
		{"bad config", func(f *trainFixture) {
			os.WriteFile(f.opts.Config, []byte(badMetricConfig), 0o644)
		}, `searcher.metric: "nope" is not reported`},
		{"partial config", func(f *trainFixture) {
			os.WriteFile(f.opts.Config, []byte("searcher: {metric: val_acc}\n"), 0o644)
		}, "searcher.max_length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrainFixture(t, commitID('5'))
			tc.edit(f)
			_, err := f.tr.Train(context.Background(), f.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Train = %v, want an error containing %q", err, tc.want)
			}
			if c := f.det.Calls(); len(c) != 0 {
				t.Errorf("Determined calls: %v", c)
			}
		})
	}
	f := newTrainFixture(t, commitID('6'))
	f.tr.Getenv = workerEnv(trainPipeline, churnProject, commitID('6'))
	_, err := f.tr.Train(context.Background(), f.opts)
	if err == nil || !strings.Contains(err.Error(), "no S3 gateway address") {
		t.Errorf("Train without a gateway address = %v", err)
	}
}

// assertNoToken checks that the Pachyderm token reached neither the
// master, the output nor the log.
func (f *trainFixture) assertNoToken(t *testing.T) {
	t.Helper()
	for i, cfg := range f.det.configs {
		b, _ := yaml.Marshal(cfg)
		if strings.Contains(string(b), pacToken) {
			t.Errorf("experiment %d config holds the token", i+1)
		}
	}
	if strings.Contains(f.logBuf.String(), pacToken) {
		t.Error("the log holds the token")
	}
	b, _ := os.ReadFile(filepath.Join(f.opts.OutDir, ModelInfoFile))
	if strings.Contains(string(b), pacToken) {
		t.Error("model-info.yaml holds the token")
	}
}

// Ensures the config's own data.pachyderm keys are kept where the step
// does not set them, and a config carrying a token value is refused.
func TestTrainMergesDataSection(t *testing.T) {
	f := newTrainFixture(t, commitID('7'))
	f.det.checkpoints["uuid-1"] = writeCheckpoint(t, 1)
	f.det.best = func(int) string { return "uuid-1" }
	b, err := os.ReadFile(f.opts.Config)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), "  source: local\n",
		"  source: local\n  pachyderm: {pattern: \"part*.csv\", commit: stale, previous_commit: stale}\n", 1)
	if err := os.WriteFile(f.opts.Config, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tr.Train(context.Background(), f.opts); err != nil {
		t.Fatalf("Train: %v", err)
	}
	data, _ := f.submitted(t, 1)
	pach := data["pachyderm"].(map[string]any)
	if pach["pattern"] != "part*.csv" || pach["commit"] != commitID('7') {
		t.Errorf("data.pachyderm = %v, want the config's pattern and the job's commit", pach)
	}
	if _, ok := pach["previous_commit"]; ok {
		t.Errorf("data.pachyderm kept the config's previous_commit: %v", pach)
	}

	f = newTrainFixture(t, commitID('8'))
	edited = strings.Replace(string(b), "  source: local\n",
		"  source: local\n  pachyderm: {token: "+pacToken+"}\n", 1)
	if err := os.WriteFile(f.opts.Config, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.tr.Train(context.Background(), f.opts)
	if err == nil || !strings.Contains(err.Error(), `unknown field "token"`) ||
		strings.Contains(err.Error(), pacToken) {
		t.Errorf("Train with a token in the config = %v, want an unknown-field error without the value", err)
	}
}

// Ensures a retried datum whose job already registered its version writes
// that version's output without a second experiment or registration.
func TestTrainRetriedDatumResumes(t *testing.T) {
	job := commitID('9')
	f := newTrainFixture(t, job)
	ckpt := writeCheckpoint(t, 1)
	f.det.addVersion(churnModel, job, "uuid-9", ckpt, map[string]any{"data_commit": job})
	// What the failed attempt left behind.
	if err := os.MkdirAll(filepath.Join(f.opts.OutDir, CheckpointDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.opts.OutDir, CheckpointDir, "partial"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := f.tr.Train(context.Background(), f.opts)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	want := []string{"EnsureModel " + churnModel, "ModelVersion " + churnModel + " 0",
		"DownloadCheckpoint uuid-9"}
	if got := f.det.Calls(); !cmp.Equal(got, want) {
		t.Errorf("Determined calls %q, want %q", got, want)
	}
	if res.Info == nil || res.Info.Number != 1 || res.Info.Checkpoint != "uuid-9" {
		t.Errorf("result %+v, want version 1 with uuid-9", res.Info)
	}
	if diff, err := sameFiles(ckpt, filepath.Join(f.opts.OutDir, CheckpointDir)); diff != "" || err != nil {
		t.Errorf("output checkpoint: %s %v", diff, err)
	}
	if got, err := ReadModelInfo(filepath.Join(f.opts.OutDir, ModelInfoFile)); err != nil ||
		*got != *res.Info {
		t.Errorf("model-info.yaml = %+v, %v; want %+v", got, err, res.Info)
	}
}
