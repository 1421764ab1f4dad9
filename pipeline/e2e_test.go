package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kserve/kserve/pkg/client/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
	"github.com/churn-pdk/churn/pipeline"
	"github.com/churn-pdk/churn/pipeline/pachyderm"
	"github.com/churn-pdk/churn/pipeline/pachyderm/pachydermtest"
)

// The tutorial's names; the data commit buckets are 78 characters long.
const (
	e2eRepo     = "customer-churn-data"
	e2eProject  = "pdk-customer-churn"
	e2eTrain    = "customer-churn-train"
	e2eDeploy   = "customer-churn-deploy"
	e2eModel    = "customer-churn"
	e2eToken    = "pach-token-e2e"
	e2eNS       = "models"
	e2eRows1    = 600
	e2eRows2    = 400
	e2eMaxSteps = 30
)

// e2e is the whole PDK loop on loopback: a real S3 server laid out like
// Pachyderm's gateway, the fake Determined master running real churn
// trials in process, and the fake KServe clientset.
type e2e struct {
	gw      *pachydermtest.Gateway
	master  *detfake.Master
	det     *experiment.Client
	cs      *fake.Clientset
	expDir  string
	outRoot string
}

// newE2E starts the parts. Trials run in this process through the fake
// master's Launch: the real experiment.RunTrial with the Pachyderm data
// source, with the token only in the trial's environment.
func newE2E(t *testing.T) *e2e {
	e := &e2e{gw: pachydermtest.New(t, e2eRepo, "master", e2eProject, e2eToken),
		cs: fake.NewSimpleClientset(), outRoot: t.TempDir()}
	trialEnv := func(k string) string {
		if k == pipeline.EnvToken {
			return e2eToken
		}
		return ""
	}
	e.master = detfake.New(t, detfake.Options{Launch: func(ctx context.Context, env map[string]string) int {
		te, err := experiment.ReadTrialEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Errorf("trial environment: %v", err)
			return 1
		}
		_, err = experiment.RunTrial(ctx, te, &experiment.TrialOptions{
			Cluster: experiment.ClusterOptions{Storage: experiment.StorageOptions{UseHostPath: true}},
			Data:    pachyderm.Data(&pachyderm.Source{Getenv: trialEnv}),
		})
		if err != nil {
			t.Errorf("trial: %v", err)
			return 1
		}
		return 0
	}})
	var err error
	e.det, err = experiment.NewClient(e.master.URL(),
		experiment.UserToken(experiment.NewSecret(e.master.UserToken())), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.expDir = e2eExperimentDir(t)
	return e
}

// e2eExperimentDir is the model definition of the pipeline image: the
// project's config made small (few steps, shared_fs storage in a temp
// dir), the feature spec and a stand-in for the churn binary.
func e2eExperimentDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "experiment", "const.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["hyperparameters"].(map[string]any)["global_batch_size"] = 64
	cfg["searcher"].(map[string]any)["max_length"] = map[string]any{"batches": e2eMaxSteps}
	cfg["min_validation_period"] = map[string]any{"batches": 10}
	cfg["checkpoint_storage"] = map[string]any{"type": "shared_fs", "host_path": t.TempDir(),
		"storage_path": "checkpoints"}
	features, err := os.ReadFile(filepath.Join("..", "experiment", "features.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg["data"].(map[string]any)["features"] = filepath.Join(dir, "features.json")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"const.yaml": out, "features.json": features,
		"churn": []byte("#!/bin/true\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// csv returns rows synthetic churn rows in the original schema.
func csv(t *testing.T, rows int, seed int64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := dataset.Generate(&b, rows, seed); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// worker returns the environment of a pipeline worker of job (its global
// ID, also the input commit's).
func worker(pipelineName, job string) func(string) string {
	env := map[string]string{pipeline.EnvJobID: job, pipeline.EnvPipeline: pipelineName,
		pipeline.EnvProject: e2eProject, "data_COMMIT": job, pipeline.EnvToken: e2eToken,
		pipeline.EnvKServeNamespace: e2eNS}
	return func(k string) string { return env[k] }
}

// train runs the train step of job into a fresh output directory.
func (e *e2e) train(t *testing.T, job string) (*pipeline.TrainResult, string) {
	t.Helper()
	out := filepath.Join(e.outRoot, "train-"+job)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	tr := &pipeline.Trainer{Det: e.det, Getenv: worker(e2eTrain, job)}
	res, err := tr.Train(context.Background(), pipeline.TrainOptions{
		Config: filepath.Join(e.expDir, "const.yaml"), Repo: e2eRepo, Project: e2eProject,
		Model: e2eModel, S3Endpoint: e.gw.URL, OutDir: out, PollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("train %s: %v", job, err)
	}
	if res.Info == nil {
		t.Fatalf("train %s registered no version", job)
	}
	return res, out
}

// deploy runs the deploy step on a train step's output.
func (e *e2e) deploy(t *testing.T, job, input string) *pipeline.DeployResult {
	t.Helper()
	d := &pipeline.Deployer{Det: e.det, Getenv: worker(e2eDeploy, job),
		Services: func(ns string) pipeline.InferenceServices {
			return e.cs.ServingV1beta1().InferenceServices(ns)
		}}
	res, err := d.Deploy(context.Background(), pipeline.DeployOptions{Name: e2eModel,
		ServiceAccount: "pach-deploy", InputDir: input})
	if err != nil {
		t.Fatalf("deploy %s: %v", job, err)
	}
	return res
}

// submittedConfig returns the config of the n-th experiment created.
func (e *e2e) submittedConfig(t *testing.T, n int) map[string]any {
	t.Helper()
	var seen int
	for _, r := range e.master.Requests() {
		if r.Method != "POST" || r.Path != "/api/v1/experiments" {
			continue
		}
		if seen++; seen < n {
			continue
		}
		var body struct{ Config string }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Header.Get("Authorization")+string(r.Body), e2eToken) {
			t.Errorf("experiment %d: the Pachyderm token reached the master", n)
		}
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(body.Config), &cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Fatalf("no experiment %d was created", n)
	return nil
}

// Ensures the whole loop: commit part 1 -> train on everything ->
// model-info.yaml -> deploy creates the service; commit part 2 -> train on
// the new file only, warm-started from version 1 -> deploy replaces it.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	e := newE2E(t)
	ctx := context.Background()

	c1 := e.gw.Commit(map[string][]byte{"data_part1.csv": csv(t, e2eRows1, 1)})
	res1, out1 := e.train(t, c1)
	info1, err := pipeline.ReadModelInfo(filepath.Join(out1, pipeline.ModelInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	want1 := pipeline.ModelInfo{Name: e2eModel, Version: c1, Pipeline: e2eTrain, Repo: e2eRepo,
		Project: e2eProject, Number: 1, DataCommit: c1, Checkpoint: res1.Info.Checkpoint}
	if *info1 != want1 {
		t.Errorf("model-info.yaml after part 1 = %+v, want %+v", *info1, want1)
	}
	pach1 := e.submittedConfig(t, 1)["data"].(map[string]any)["pachyderm"].(map[string]any)
	if pach1["commit"] != c1 || pach1["previous_commit"] != nil || res1.WarmStart != "" {
		t.Errorf("first experiment: data.pachyderm %v, warm start %q", pach1, res1.WarmStart)
	}

	dep1 := e.deploy(t, c1, out1)
	isvc, err := e.cs.ServingV1beta1().InferenceServices(e2eNS).Get(ctx, e2eModel, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("InferenceService after the first deploy: %v", err)
	}
	wantURI := "s3://" + c1 + ".master." + e2eTrain + "." + e2eProject + "/checkpoint"
	if dep1.Applied.Replaced || isvc.Annotations[pipeline.AnnotationPachID] != c1 ||
		isvc.Spec.Predictor.Containers[0].Env[0].Value != wantURI {
		t.Errorf("first deploy: replaced %v, pach_id %q, STORAGE_URI %q; want a creation with %q and %q",
			dep1.Applied.Replaced, isvc.Annotations[pipeline.AnnotationPachID],
			isvc.Spec.Predictor.Containers[0].Env[0].Value, c1, wantURI)
	}

	c2 := e.gw.Commit(map[string][]byte{"data_part2.csv": csv(t, e2eRows2, 2)})
	e.gw.ResetRequests()
	res2, out2 := e.train(t, c2)
	var gets []string
	for _, r := range e.gw.Requests() {
		if strings.HasPrefix(r, "GET ") && !strings.Contains(r, "?") {
			gets = append(gets, r)
		}
	}
	if want := []string{"GET /" + e.gw.Bucket(c2) + "/data_part2.csv"}; !slices.Equal(gets, want) {
		t.Errorf("second trial downloaded %v, want only %v", gets, want)
	}
	cfg2 := e.submittedConfig(t, 2)
	pach2 := cfg2["data"].(map[string]any)["pachyderm"].(map[string]any)
	src := cfg2["searcher"].(map[string]any)["source_checkpoint_uuid"]
	if pach2["previous_commit"] != c1 || pach2["commit"] != c2 || src != res1.Info.Checkpoint {
		t.Errorf("second experiment: data.pachyderm %v, source_checkpoint_uuid %v; want "+
			"previous_commit %s and the first version's checkpoint %s", pach2, src, c1, res1.Info.Checkpoint)
	}
	if res2.Info.Number != 2 || res2.Info.Version != c2 || res2.Info.Checkpoint == res1.Info.Checkpoint {
		t.Errorf("second version %+v, want number 2 named %s with a new checkpoint", *res2.Info, c2)
	}

	meta, err := checkpoint.ReadMetadata(filepath.Join(out2, pipeline.CheckpointDir))
	if err != nil {
		t.Fatal(err)
	}
	wantData := e2eProject + "/" + e2eRepo + "@master=" + c2 + ":/data_part2.csv"
	if len(meta.Data) != 1 || meta.Data[0].Name != wantData {
		t.Errorf("second checkpoint was trained on %+v, want only %s", meta.Data, wantData)
	}
	dep2 := e.deploy(t, c2, out2)
	isvc, err = e.cs.ServingV1beta1().InferenceServices(e2eNS).Get(ctx, e2eModel, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantURI = strings.ReplaceAll(wantURI, c1, c2)
	if !dep2.Applied.Replaced || isvc.Annotations[pipeline.AnnotationPachID] != c2 ||
		isvc.Spec.Predictor.Containers[0].Env[0].Value != wantURI {
		t.Errorf("second deploy: replaced %v, pach_id %q, STORAGE_URI %q; want a replacement with %q and %q",
			dep2.Applied.Replaced, isvc.Annotations[pipeline.AnnotationPachID],
			isvc.Spec.Predictor.Containers[0].Env[0].Value, c2, wantURI)
	}
}
