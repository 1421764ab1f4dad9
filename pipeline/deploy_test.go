package pipeline

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/kserve/kserve/pkg/client/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/experiment"
)

// The tutorial's names.
const (
	trainPipeline  = "customer-churn-train"
	deployPipeline = "customer-churn-deploy"
	churnProject   = "pdk-customer-churn"
	churnModel     = "customer-churn"
)

// isvcResource is the InferenceService resource in the fake's tracker.
var isvcResource = v1beta1.SchemeGroupVersion.WithResource("inferenceservices")

// deployFixture is a deploy worker's world: its input (model-info.yaml
// and the checkpoint, as the train step wrote them), the registry and
// the cluster.
type deployFixture struct {
	det      *fakeDet
	cs       *fake.Clientset
	inputDir string
	job      string // the training job: the model version's name
	d        *Deployer
	out      bytes.Buffer
}

func newDeployFixture(t *testing.T) *deployFixture {
	t.Helper()
	f := &deployFixture{det: newFakeDet(t), cs: fake.NewSimpleClientset(),
		inputDir: t.TempDir(), job: commitID('a')}
	ckpt := writeCheckpoint(t, 1)
	f.det.addVersion(churnModel, f.job, "uuid-1", ckpt, nil)
	if err := os.CopyFS(filepath.Join(f.inputDir, CheckpointDir), os.DirFS(ckpt)); err != nil {
		t.Fatal(err)
	}
	info := ModelInfo{Name: churnModel, Version: f.job, Pipeline: trainPipeline,
		Repo: "customer-churn-data", Project: churnProject, Number: 1}
	if err := WriteModelInfo(filepath.Join(f.inputDir, ModelInfoFile), info); err != nil {
		t.Fatal(err)
	}
	f.d = &Deployer{
		Det:      f.det,
		Services: func(ns string) InferenceServices { return f.cs.ServingV1beta1().InferenceServices(ns) },
		Getenv: workerEnv(deployPipeline, churnProject, commitID('b'),
			"data_COMMIT", f.job, EnvKServeNamespace, "models"),
		Stdout: &f.out,
	}
	return f
}

// options are the deployment pipeline's flags.
func (f *deployFixture) options(t *testing.T) DeployOptions {
	t.Helper()
	tol, err := ParseTolerations("gpu=true")
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseResources("--resource-requests", "cpu=2,memory=4Gi")
	if err != nil {
		t.Fatal(err)
	}
	lim, err := ParseResources("--resource-limits", "cpu=10,memory=8Gi")
	if err != nil {
		t.Fatal(err)
	}
	return DeployOptions{Name: churnModel, ServiceAccount: "pach-deploy", Tolerations: tol,
		Resources: corev1.ResourceRequirements{Requests: req, Limits: lim},
		Image:     "registry.example/churn:1", InputDir: f.inputDir, PollInterval: time.Millisecond}
}

// wantCreated is the InferenceService the deploy step must create, written
// out in full.
const wantCreated = `
metadata:
  name: customer-churn
  namespace: models
  annotations:
    pach_id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    sidecar.istio.io/inject: "false"
spec:
  predictor:
    serviceAccountName: pach-deploy
    tolerations:
    - {key: gpu, operator: Equal, value: "true", effect: NoSchedule}
    containers:
    - name: kserve-container
      image: registry.example/churn:1
      args: [--model=/mnt/models, --model_name=customer-churn, --http_port=8080]
      env:
      - name: STORAGE_URI
        value: s3://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.master.customer-churn-train.pdk-customer-churn/checkpoint
      - {name: PROTOCOL, value: v1}
      ports:
      - {containerPort: 8080, protocol: TCP}
      resources:
        requests: {cpu: "2", memory: 4Gi}
        limits: {cpu: "10", memory: 8Gi}
      readinessProbe:
        httpGet: {path: /v1/models/customer-churn, port: 8080}
      livenessProbe:
        httpGet: {path: /, port: 8080}
`

// parseISVC decodes an InferenceService written as YAML.
func parseISVC(t *testing.T, s string) *v1beta1.InferenceService {
	t.Helper()
	var isvc v1beta1.InferenceService
	if err := yaml.UnmarshalStrict([]byte(s), &isvc); err != nil {
		t.Fatalf("expected object: %v", err)
	}
	return &isvc
}

// diffISVC compares two whole objects in their serialised form.
func diffISVC(t *testing.T, got, want *v1beta1.InferenceService) string {
	t.Helper()
	g, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := yaml.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return cmp.Diff(strings.Split(string(w), "\n"), strings.Split(string(g), "\n"))
}

func (f *deployFixture) stored(t *testing.T) *v1beta1.InferenceService {
	t.Helper()
	got, err := f.cs.ServingV1beta1().InferenceServices("models").Get(context.Background(),
		churnModel, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get stored InferenceService: %v", err)
	}
	return got
}

// Ensures a first deploy creates exactly the expected InferenceService,
// pointing at the finished training output commit.
func TestDeployCreates(t *testing.T) {
	f := newDeployFixture(t)
	res, err := f.d.Deploy(context.Background(), f.options(t))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Applied.Replaced {
		t.Error("Deploy replaced; want a creation")
	}
	if diff := diffISVC(t, f.stored(t), parseISVC(t, wantCreated)); diff != "" {
		t.Errorf("created InferenceService (-want +got):\n%s", diff)
	}
	wantCalls := []string{"ModelVersion customer-churn 1", "DownloadCheckpoint uuid-1"}
	if got := f.det.Calls(); !cmp.Equal(got, wantCalls) {
		t.Errorf("Determined calls = %q, want %q", got, wantCalls)
	}
}

// Ensures a deploy over an existing service replaces its spec and our
// annotations and keeps the rest of its metadata.
func TestDeployReplaces(t *testing.T) {
	f := newDeployFixture(t)
	old := parseISVC(t, `
metadata:
  name: customer-churn
  namespace: models
  resourceVersion: "7"
  labels: {team: ml}
  annotations: {pach_id: old, owner: ops}
  finalizers: [inferenceservice.finalizers]
spec:
  predictor:
    containers:
    - {name: kserve-container, image: old-image}
`)
	if err := f.cs.Tracker().Add(old); err != nil {
		t.Fatal(err)
	}
	res, err := f.d.Deploy(context.Background(), f.options(t))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !res.Applied.Replaced {
		t.Error("Deploy created; want a replacement")
	}
	want := parseISVC(t, wantCreated)
	want.ResourceVersion = "7"
	want.Labels = map[string]string{"team": "ml"}
	want.Annotations["owner"] = "ops"
	want.Finalizers = []string{"inferenceservice.finalizers"}
	if diff := diffISVC(t, f.stored(t), want); diff != "" {
		t.Errorf("replaced InferenceService (-want +got):\n%s", diff)
	}
}

// Ensures an update that meets a conflict is retried on a fresh read.
func TestDeployRetriesConflict(t *testing.T) {
	f := newDeployFixture(t)
	if err := f.cs.Tracker().Add(parseISVC(t, wantCreated)); err != nil {
		t.Fatal(err)
	}
	var updates, gets atomic.Int32
	f.cs.PrependReactor("get", "inferenceservices",
		func(k8stesting.Action) (bool, runtime.Object, error) {
			gets.Add(1)
			return false, nil, nil
		})
	f.cs.PrependReactor("update", "inferenceservices",
		func(k8stesting.Action) (bool, runtime.Object, error) {
			if updates.Add(1) == 1 {
				return true, nil, apierrors.NewConflict(v1beta1.Resource("inferenceservices"),
					churnModel, errors.New("the object has been modified"))
			}
			return false, nil, nil
		})
	if _, err := f.d.Deploy(context.Background(), f.options(t)); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if updates.Load() != 2 || gets.Load() != 3 {
		t.Errorf("updates %d gets %d, want 2 and 3 (a first read, one retry after the conflict)",
			updates.Load(), gets.Load())
	}
	if diff := diffISVC(t, f.stored(t), parseISVC(t, wantCreated)); diff != "" {
		t.Errorf("InferenceService after retry (-want +got):\n%s", diff)
	}
}

// Ensures --wait returns only once the current generation is Ready: an
// earlier revision's Ready=True does not count. It prints the URL.
func TestDeployWaitsForGeneration(t *testing.T) {
	f := newDeployFixture(t)
	// What the API server would have stored: generation 2 after our update.
	var polls atomic.Int32
	f.cs.PrependReactor("update", "inferenceservices",
		func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj := a.(k8stesting.UpdateAction).GetObject().(*v1beta1.InferenceService).DeepCopy()
			obj.Generation = 2
			return true, obj, f.cs.Tracker().Update(isvcResource, obj, "models")
		})
	old := parseISVC(t, wantCreated)
	old.Generation = 1
	if err := f.cs.Tracker().Add(old); err != nil {
		t.Fatal(err)
	}
	f.cs.PrependReactor("get", "inferenceservices",
		func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj, err := f.cs.Tracker().Get(isvcResource, "models", churnModel)
			if err != nil {
				return true, nil, err
			}
			isvc := obj.(*v1beta1.InferenceService).DeepCopy()
			switch n := polls.Add(1); {
			case n <= 2: // the deploy's and the apply's reads
			case n <= 4: // the previous revision is still the ready one
				isvc.Status = readyStatus(1, "http://old.example")
			default:
				isvc.Status = readyStatus(2, "http://customer-churn.models.example.com")
			}
			return true, isvc, nil
		})
	opts := f.options(t)
	opts.Wait = true
	res, err := f.d.Deploy(context.Background(), opts)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if want := "http://customer-churn.models.example.com"; res.URL != want || f.out.String() != want+"\n" {
		t.Errorf("URL %q, printed %q; want %q", res.URL, f.out.String(), want)
	}
	if n := polls.Load(); n != 5 {
		t.Errorf("gets = %d, want 5 (deploy, apply, two stale-ready polls, ready)", n)
	}
}

// Ensures a wait that never sees the generation ready times out with the
// reason.
func TestWaitReadyTimeout(t *testing.T) {
	cs := fake.NewSimpleClientset()
	isvc := parseISVC(t, wantCreated)
	isvc.Generation = 3
	isvc.Status = readyStatus(2, "http://old.example")
	if err := cs.Tracker().Add(isvc); err != nil {
		t.Fatal(err)
	}
	_, err := WaitReady(context.Background(), cs.ServingV1beta1().InferenceServices("models"),
		churnModel, 3, time.Millisecond, 20*time.Millisecond, discard())
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "generation 3 not yet observed") {
		t.Errorf("WaitReady = %v, want ErrNotReady naming the unobserved generation", err)
	}
}

func readyStatus(observed int64, url string) v1beta1.InferenceServiceStatus {
	u, _ := apis.ParseURL(url)
	var s v1beta1.InferenceServiceStatus
	s.ObservedGeneration = observed
	s.URL = u
	for _, c := range []apis.ConditionType{"Ready", "PredictorReady", "IngressReady"} {
		s.Conditions = append(s.Conditions, apis.Condition{Type: c, Status: corev1.ConditionTrue})
	}
	s.Address = &duckv1.Addressable{URL: u}
	return s
}

// Ensures bad input is refused with a clear error before the master or
// the cluster is contacted.
func TestDeployRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(f *deployFixture, o *DeployOptions)
		wants string
	}{
		{"no name", func(_ *deployFixture, o *DeployOptions) { o.Name = "" }, "--deployment-name is required"},
		{"bad name", func(_ *deployFixture, o *DeployOptions) { o.Name = "Churn_1" }, `--deployment-name "Churn_1"`},
		{"bad namespace", func(_ *deployFixture, o *DeployOptions) { o.Namespace = "a.b" }, `--namespace "a.b"`},
		{"request over limit", func(_ *deployFixture, o *DeployOptions) {
			o.Resources.Requests = o.Resources.Limits.DeepCopy()
			o.Resources.Limits = nil
			o.Resources.Limits, _ = ParseResources("--resource-limits", "cpu=1")
		}, "--resource-requests cpu=10 is above --resource-limits cpu=1"},
		{"missing model info", func(f *deployFixture, _ *DeployOptions) {
			os.Remove(filepath.Join(f.inputDir, ModelInfoFile))
		}, "model-info.yaml does not exist"},
		{"incomplete model info", func(f *deployFixture, _ *DeployOptions) {
			os.WriteFile(filepath.Join(f.inputDir, ModelInfoFile), []byte("name: x\n"), 0o644)
		}, `field "version" is missing`},
		{"unknown model info field", func(f *deployFixture, _ *DeployOptions) {
			os.WriteFile(filepath.Join(f.inputDir, ModelInfoFile),
				[]byte("name: x\nversion: v\npipeline: p\nrepo: r\nextra: 1\n"), 0o644)
		}, `unknown field "extra"`},
		{"no worker env", func(f *deployFixture, _ *DeployOptions) {
			f.d.Getenv = func(string) string { return "" }
		}, "PACH_JOB_ID is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDeployFixture(t)
			opts := f.options(t)
			tc.edit(f, &opts)
			_, err := f.d.Deploy(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("Deploy = %v, want an error containing %q", err, tc.wants)
			}
			if a := f.cs.Actions(); len(a) != 0 {
				t.Errorf("cluster actions before the error: %v", a)
			}
			if c := f.det.Calls(); len(c) != 0 {
				t.Errorf("Determined calls before the error: %v", c)
			}
		})
	}
}

// Ensures the deploy step refuses an input checkpoint that is not the
// registered version, without touching the cluster.
func TestDeployRejectsMismatchedCheckpoint(t *testing.T) {
	f := newDeployFixture(t)
	other := writeCheckpoint(t, 2)
	in := filepath.Join(f.inputDir, CheckpointDir, "model.bin")
	b, err := os.ReadFile(filepath.Join(other, "model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = f.d.Deploy(context.Background(), f.options(t))
	if err == nil || !strings.Contains(err.Error(), "model.bin differs") {
		t.Fatalf("Deploy = %v, want an error naming model.bin", err)
	}
	if a := f.cs.Actions(); len(a) != 0 {
		t.Errorf("cluster actions: %v", a)
	}
}

// Ensures flag values are parsed or refused naming the entry.
func TestParseK8sFlags(t *testing.T) {
	tol, err := ParseTolerations(" a=b , gpu=true")
	want := []corev1.Toleration{
		{Key: "a", Operator: "Equal", Value: "b", Effect: "NoSchedule"},
		{Key: "gpu", Operator: "Equal", Value: "true", Effect: "NoSchedule"},
	}
	if err != nil || !cmp.Equal(tol, want) {
		t.Errorf("ParseTolerations = %v, %v; want %v", tol, err, want)
	}
	for _, s := range []string{"a", "=b", "a=b,,c=d", "a b=c"} {
		if _, err := ParseTolerations(s); err == nil || !strings.Contains(err.Error(), "--tolerations") {
			t.Errorf("ParseTolerations(%q) = %v, want a --tolerations error", s, err)
		}
	}
	rl, err := ParseResources("--resource-limits", "cpu=500m,memory=4Gi,nvidia.com/gpu=1")
	if err != nil || len(rl) != 3 || rl.Cpu().MilliValue() != 500 || rl.Memory().Value() != 4<<30 {
		t.Errorf("ParseResources = %v, %v", rl, err)
	}
	for s, msg := range map[string]string{
		"cpu":           "want name=quantity",
		"cpu=lots":      `cpu="lots": not a quantity`,
		"cpu=-1":        "negative",
		"cpu=1,cpu=2":   "given twice",
		"memory=4Gi,=1": "entry 2",
		"bad name!=1":   `resource "bad name!"`,
	} {
		if _, err := ParseResources("--resource-limits", s); err == nil ||
			!strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "--resource-limits") {
			t.Errorf("ParseResources(%q) = %v, want an error containing %q", s, err, msg)
		}
	}
}

// Ensures --model-store s3://bucket/prefix uploads the registered version
// to a real S3 server under <prefix>/<model>/<version> and points the
// service there.
func TestDeployToBucket(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("models"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	store, err := NewS3Store(S3StoreConfig{Endpoint: srv.URL, Scheme: "s3", AccessKey: "k",
		SecretKey: experiment.NewSecret("s"), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	f := newDeployFixture(t)
	f.d.Store = store
	f.d.Getenv = func(k string) string { return map[string]string{EnvKServeNamespace: "models"}[k] }
	opts := f.options(t)
	if opts.Store, err = ParseStoreLocation("s3://models/churn/"); err != nil {
		t.Fatal(err)
	}
	res, err := f.d.Deploy(context.Background(), opts)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	wantURI := "s3://models/churn/customer-churn/" + f.job
	if res.StorageURI != wantURI {
		t.Errorf("storage URI %q, want %q", res.StorageURI, wantURI)
	}
	if env := f.stored(t).Spec.Predictor.Containers[0].Env[0]; env.Value != wantURI {
		t.Errorf("STORAGE_URI = %q, want %q", env.Value, wantURI)
	}
	local, err := treeHashes(filepath.Join(f.inputDir, CheckpointDir))
	if err != nil {
		t.Fatal(err)
	}
	list, err := backend.ListBucket("models", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	uploaded := map[string]string{}
	for _, c := range list.Contents {
		obj, err := backend.GetObject("models", c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := hashReader(obj.Contents)
		obj.Contents.Close()
		if err != nil {
			t.Fatal(err)
		}
		uploaded[strings.TrimPrefix(c.Key, "churn/customer-churn/"+f.job+"/")] = sum
	}
	if diff := cmp.Diff(local, uploaded); diff != "" {
		t.Errorf("uploaded files (-want +got):\n%s", diff)
	}
}

// Ensures --model-store values are parsed or refused.
func TestParseStoreLocation(t *testing.T) {
	for in, want := range map[string]StoreLocation{
		"":            {Scheme: StorePFS},
		"pfs":         {Scheme: StorePFS},
		"s3://b":      {Scheme: "s3", Bucket: "b"},
		"gs://b/p/q/": {Scheme: "gs", Bucket: "b", Prefix: "p/q"},
	} {
		got, err := ParseStoreLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseStoreLocation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"ftp://b", "s3://", "s3://b?x=1", "/local/dir"} {
		if _, err := ParseStoreLocation(in); err == nil || !strings.Contains(err.Error(), "--model-store") {
			t.Errorf("ParseStoreLocation(%q) = %v, want a --model-store error", in, err)
		}
	}
}
