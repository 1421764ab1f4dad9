//go:build !predictor

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
	"github.com/churn-pdk/churn/pipeline/pachyderm/pachydermtest"
)

// Distinctive secrets of the pipeline steps.
const (
	secretPac      = "PAC-SECRET-tok-3e9d"
	secretWrongPac = "PAC-SECRET-wrong-77c"
	secretKube     = "KUBE-SECRET-bearer-1x4"
	secretAWS      = "AWS-SECRET-key-9qW2"
	storeAccessKey = "AKIAPIPELINE"
	pipeRepo       = "customer-churn-data"
	pipeProject    = "pdk-customer-churn"
)

// pipeWorld is the pipeline steps' surroundings on loopback: a real S3
// server laid out like the gateway, the fake master running `churn trial`
// in process, a fake Kubernetes API for InferenceServices behind a bearer
// token, and a real S3 model store that checks its access key.
type pipeWorld struct {
	gw       *pachydermtest.Gateway
	master   *detfake.Master
	kube     *fakeKube
	store    *s3mem.Backend
	storeURL string
	dir      string
	inputs   map[string]bool
	// trialPac is the PAC_TOKEN trial containers get.
	trialPac string
	trialMu  sync.Mutex
	trialOut lockedBuffer
	kubeconf string
	modelDef string
	outDirs  []string
}

func newPipeWorld(t *testing.T) *pipeWorld {
	t.Helper()
	w := &pipeWorld{gw: pachydermtest.New(t, pipeRepo, "master", pipeProject, secretPac),
		dir: t.TempDir(), inputs: map[string]bool{}, trialPac: secretPac}
	w.master = detfake.New(t, detfake.Options{Password: secretPass, TokenSalt: secretSalt,
		Launch: func(_ context.Context, env map[string]string) int {
			w.trialMu.Lock()
			env["PAC_TOKEN"] = w.trialPac
			w.trialMu.Unlock()
			return runTrialVerbTo(env, &w.trialOut)
		}})
	w.kube = newFakeKube(t, secretKube)
	w.store = s3mem.New()
	if err := w.store.CreateBucket("models"); err != nil {
		t.Fatal(err)
	}
	s3 := gofakes3.New(w.store).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+storeAccessKey+"/") {
			rw.WriteHeader(http.StatusForbidden)
			fmt.Fprint(rw, `<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key `+
				`Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		s3.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.storeURL = srv.URL
	w.writeInputs(t)
	return w
}

// writeInputs writes the model definition and the kubeconfig: files the
// test wrote itself, not checked for leaks (the kubeconfig holds a token).
func (w *pipeWorld) writeInputs(t *testing.T) {
	t.Helper()
	w.modelDef = filepath.Join(w.dir, "def")
	b, err := os.ReadFile(filepath.Join("..", "..", "experiment", "const.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["hyperparameters"].(map[string]any)["global_batch_size"] = 32
	cfg["searcher"].(map[string]any)["max_length"] = map[string]any{"batches": 20}
	cfg["min_validation_period"] = map[string]any{"batches": 10}
	cfg["checkpoint_storage"] = map[string]any{"type": "directory",
		"container_path": filepath.Join(w.dir, "ckpts")}
	cfg["data"].(map[string]any)["features"] = filepath.Join(w.modelDef, "features.json")
	text, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\n"+
		"clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]\n"+
		"users: [{name: u, user: {token: %s}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"+
		"current-context: x\n", w.kube.srv.URL, secretKube)
	w.kubeconf = filepath.Join(w.dir, "kubeconfig")
	files := map[string][]byte{filepath.Join(w.modelDef, "const.yaml"): text,
		filepath.Join(w.modelDef, "churn"): []byte("#!/bin/sh\n"), w.kubeconf: []byte(kc)}
	if err := os.Mkdir(w.modelDef, 0o755); err != nil {
		t.Fatal(err)
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		w.inputs[p] = true
	}
	spec := filepath.Join(w.modelDef, "features.json")
	if err := dataset.PDKSpec().WriteFile(spec); err != nil {
		t.Fatal(err)
	}
	w.inputs[spec] = true
}

// commit adds a data file and makes the worker's environment that of the
// job it triggers.
func (w *pipeWorld) commit(t *testing.T, name string, seed int64) string {
	t.Helper()
	var b bytes.Buffer
	if err := dataset.Generate(&b, 300, seed); err != nil {
		t.Fatal(err)
	}
	id := w.gw.Commit(map[string][]byte{name: b.Bytes()})
	t.Setenv("PACH_JOB_ID", id)
	t.Setenv("data_COMMIT", id)
	return id
}

// trainArgs are the training pipeline's command line, writing to a new
// output directory.
func (w *pipeWorld) trainArgs(t *testing.T, extra ...string) []string {
	t.Helper()
	out := filepath.Join(w.dir, fmt.Sprintf("out-%d", len(w.outDirs)))
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	w.outDirs = append(w.outDirs, out)
	return append([]string{"pipeline", "train", "--config", filepath.Join(w.modelDef, "const.yaml"),
		"--repo", pipeRepo, "--project", pipeProject, "--model", "customer-churn",
		"--s3-endpoint", w.gw.URL, "--out", out, "--poll-interval", "10ms"}, extra...)
}

func (w *pipeWorld) deployArgs(input string, extra ...string) []string {
	return append([]string{"pipeline", "deploy", "--deployment-name", "customer-churn",
		"--namespace", "models", "--input-dir", input, "--k8s-config-file", w.kubeconf,
		"--model-store", "s3://models/churn", "--store-endpoint", w.storeURL,
		"--store-region", "us-east-1", "--wait", "--poll-interval", "10ms",
		"--wait-timeout", "5s"}, extra...)
}

// ensures no secret of the pipeline steps (PAC_TOKEN, a wrong one, the
// Determined password, user token and the session and allocation tokens,
// the S3 secret key, the Kubernetes bearer token) reaches a log line
// (debug level), stdout or stderr, an error, model-info.yaml, a
// checkpoint's metadata.json, the experiment config sent to the master,
// the InferenceService, the model store or any file written: a train and
// deploy that work, a trial whose gateway auth fails, a model store that
// refuses the key, and a master that echoes credentials into its errors.
func TestPipelineSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	w := newPipeWorld(t)
	lw := &leakWatch{secrets: []string{secretPac, secretWrongPac, secretKube, secretAWS,
		secretPass, secretUserTok, secretSalt,
		experiment.HashPassword(experiment.NewSecret(secretPass)).Reveal()}}
	for k, v := range map[string]string{"DET_MASTER": w.master.URL(), "DET_USER": "admin",
		"DET_PASSWORD": secretPass, "DET_PASS": "", "DET_USER_TOKEN": "",
		"PPS_PIPELINE_NAME": "customer-churn-train", "PPS_PROJECT_NAME": pipeProject,
		"PAC_TOKEN": secretPac, "KSERVE_NAMESPACE": "models",
		"AWS_ACCESS_KEY_ID": storeAccessKey, "AWS_SECRET_ACCESS_KEY": secretAWS} {
		t.Setenv(k, v)
	}
	t.Chdir(w.dir)

	// The training pipeline's first job, then the deployment pipeline's.
	w.commit(t, "data_part1.csv", 1)
	if out := lw.churn(t, 0, w.trainArgs(t)...); !strings.Contains(out, "registered customer-churn version 1") {
		t.Fatalf("train says %q", out)
	}
	trained := w.outDirs[0]
	out := lw.churn(t, 0, w.deployArgs(trained)...)
	if !strings.Contains(out, "http://customer-churn.models.example.com") {
		t.Errorf("deploy printed %q, want the service URL", out)
	}
	if !strings.Contains(out, kubeWarning) || !strings.Contains(out, "source=client-go") {
		t.Errorf("deploy's log lacks client-go's warning, through our logger:\n%s", out)
	}

	// A trial whose token the gateway refuses: the job fails.
	w.commit(t, "data_part2.csv", 2)
	w.trialMu.Lock()
	w.trialPac = secretWrongPac
	w.trialMu.Unlock()
	if out := lw.churn(t, exitExperimentFailed, w.trainArgs(t)...); !strings.Contains(out, "ended in state") {
		t.Errorf("train with a refused token says %q", out)
	}
	if !bytes.Contains(w.trialOut.Bytes(), []byte("Access Denied")) {
		t.Errorf("the trial did not meet the refused token:\n%s", w.trialOut.Bytes())
	}

	// A model store that refuses the key, and masters echoing credentials.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAWRONG")
	if out := lw.churn(t, 1, w.deployArgs(trained)...); !strings.Contains(out, "s3://models/churn/") {
		t.Errorf("deploy with a refused key says %q, want the location named", out)
	}
	echo := echoMaster(t)
	t.Setenv("DET_PASSWORD", "")
	t.Setenv("DET_PASS", secretPass)
	lw.churn(t, 1, w.trainArgs(t, "--master", echo.URL)...)
	t.Setenv("DET_PASS", "")
	t.Setenv("DET_PASSWORD", secretPass)
	lw.churn(t, 1, w.deployArgs(trained, "--master", echo.URL)...)
	t.Setenv("DET_USER_TOKEN", secretUserTok)
	out = lw.churn(t, 1, w.deployArgs(trained, "--master", echo.URL)...)
	if !strings.Contains(out, "[REDACTED]") {
		t.Errorf("the echoing master's error reads %q; want the token cut out", out)
	}

	lw.check(t, "the steps' output", lw.out.Bytes())
	lw.check(t, "the trials' output", w.trialOut.Bytes())
	if n := lw.checkTree(t, w.dir, w.inputs); n < 8 {
		t.Errorf("only %d files written were checked", n)
	}
	for _, name := range []string{"model-info.yaml", "checkpoint/metadata.json"} {
		if _, err := os.Stat(filepath.Join(trained, name)); err != nil {
			t.Errorf("the train step wrote no %s: %v", name, err)
		}
	}
	w.checkMaster(t, lw)
	w.kube.check(t, lw)
	if n := checkBucket(t, lw, w.store, "models"); n < 3 {
		t.Errorf("the model store holds %d objects, want a checkpoint's files", n)
	}
	if !strings.Contains(lw.out.String(), "level=DEBUG") ||
		!bytes.Contains(w.trialOut.Bytes(), []byte("level=DEBUG")) {
		t.Error("the steps or the trials logged nothing at debug level: the check would be empty")
	}
}

// checkMaster checks every experiment config submitted to the master.
func (w *pipeWorld) checkMaster(t *testing.T, lw *leakWatch) {
	t.Helper()
	n := 0
	for _, r := range w.master.Requests() {
		if r.Method == http.MethodPost && r.Path == "/api/v1/experiments" {
			lw.check(t, "the experiment sent to the master", r.Body)
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d experiments submitted, want 2", n)
	}
}

// checkBucket checks every object of a bucket and returns their number.
func checkBucket(t *testing.T, lw *leakWatch, b *s3mem.Backend, bucket string) int {
	t.Helper()
	list, err := b.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Contents {
		obj, err := b.GetObject(bucket, c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		lw.check(t, "s3://"+bucket+"/"+c.Key, body)
	}
	return len(list.Contents)
}

// fakeKube is a Kubernetes API server holding InferenceServices: it
// checks the bearer token, answers 404 for a missing object, creates on
// POST, replaces on PUT (bumping the generation) and reports every stored
// generation Ready.
type fakeKube struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu     sync.Mutex
	objs   map[string]*v1beta1.InferenceService
	bodies [][]byte
	// stuck, when set, keeps every generation from being observed.
	stuck bool
}

const isvcPath = "/apis/serving.kserve.io/v1beta1/namespaces/"

// kubeWarning is the warning every answer of the fake API server carries.
const kubeWarning = "fake API server: InferenceService v1beta1 is under test"

func newFakeKube(t *testing.T, token string) *fakeKube {
	k := &fakeKube{t: t, token: token, objs: map[string]*v1beta1.InferenceService{}}
	// TLS: client-go sends a bearer token only over https.
	k.srv = httptest.NewTLSServer(http.HandlerFunc(k.serve))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *fakeKube) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+k.token {
		k.status(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, isvcPath)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[1] != "inferenceservices" {
		k.t.Errorf("fake kube: unexpected %s %s", r.Method, r.URL.Path)
		k.status(w, http.StatusNotFound, "NotFound", "")
		return
	}
	body, _ := io.ReadAll(r.Body)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.bodies = append(k.bodies, body)
	switch {
	case r.Method == http.MethodGet && len(parts) == 3:
		obj, ok := k.objs[parts[2]]
		if !ok {
			k.status(w, http.StatusNotFound, "NotFound", parts[2])
			return
		}
		if k.stuck {
			k.write(w, http.StatusOK, obj.DeepCopy())
			return
		}
		k.write(w, http.StatusOK, ready(obj))
	case r.Method == http.MethodPost && len(parts) == 2:
		k.store(w, body, http.StatusCreated, 1)
	case r.Method == http.MethodPut && len(parts) == 3:
		k.store(w, body, http.StatusOK, k.objs[parts[2]].Generation+1)
	default:
		k.t.Errorf("fake kube: unexpected %s %s", r.Method, r.URL.Path)
		k.status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "")
	}
}

// store keeps the object of body at generation gen.
func (k *fakeKube) store(w http.ResponseWriter, body []byte, code int, gen int64) {
	var obj v1beta1.InferenceService
	if err := json.Unmarshal(body, &obj); err != nil {
		k.t.Errorf("fake kube: body: %v", err)
		k.status(w, http.StatusBadRequest, "BadRequest", "")
		return
	}
	obj.Generation = gen
	obj.ResourceVersion = fmt.Sprint(gen)
	k.objs[obj.Name] = &obj
	k.write(w, code, &obj)
}

// ready returns obj as the controller would report it once its
// generation is up.
func ready(obj *v1beta1.InferenceService) *v1beta1.InferenceService {
	out := obj.DeepCopy()
	out.Status.ObservedGeneration = obj.Generation
	out.Status.URL, _ = apis.ParseURL("http://" + obj.Name + "." + obj.Namespace + ".example.com")
	for _, c := range []apis.ConditionType{"Ready", "PredictorReady", "IngressReady"} {
		out.Status.Conditions = append(out.Status.Conditions,
			apis.Condition{Type: c, Status: corev1.ConditionTrue})
	}
	return out
}

func (k *fakeKube) write(w http.ResponseWriter, code int, obj *v1beta1.InferenceService) {
	obj.APIVersion, obj.Kind = "serving.kserve.io/v1beta1", "InferenceService"
	w.Header().Set("Content-Type", "application/json")
	// An API server's warning, which client-go logs through klog.
	w.Header().Set("Warning", `299 - "`+kubeWarning+`"`)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(obj)
}

func (k *fakeKube) status(w http.ResponseWriter, code int, reason, name string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",`+
		`"message":"inferenceservices.serving.kserve.io %q: %s","reason":%q,"code":%d,`+
		`"details":{"name":%q,"group":"serving.kserve.io","kind":"inferenceservices"}}`,
		name, reason, reason, code, name)
}

// check checks every body sent to the API server and the stored objects.
func (k *fakeKube) check(t *testing.T, lw *leakWatch) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, b := range k.bodies {
		lw.check(t, "a request to the Kubernetes API", b)
	}
	if len(k.objs) != 1 {
		t.Errorf("%d InferenceServices stored, want 1", len(k.objs))
	}
	for name, obj := range k.objs {
		b, _ := json.Marshal(obj)
		lw.check(t, "InferenceService "+name, b)
	}
}

// Ensures a deploy whose new generation never becomes ready exits
// exitNotReady and leaves the previous version's InferenceService and
// model files as they were.
func TestPipelineDeployNotReadyRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	w := newPipeWorld(t)
	for k, v := range map[string]string{"DET_MASTER": w.master.URL(), "DET_USER": "admin",
		"DET_PASSWORD": secretPass, "DET_USER_TOKEN": "",
		"PPS_PIPELINE_NAME": "customer-churn-train", "PPS_PROJECT_NAME": pipeProject,
		"PAC_TOKEN": secretPac, "AWS_ACCESS_KEY_ID": storeAccessKey,
		"AWS_SECRET_ACCESS_KEY": secretAWS} {
		t.Setenv(k, v)
	}
	lw := &leakWatch{}
	v1 := w.commit(t, "data_part1.csv", 1)
	lw.churn(t, 0, w.trainArgs(t)...)
	lw.churn(t, 0, w.deployArgs(w.outDirs[0])...)
	before := bucketHashes(t, w.store, "models")
	old := w.kube.objs["customer-churn"].DeepCopy()

	w.commit(t, "data_part2.csv", 2)
	lw.churn(t, 0, w.trainArgs(t)...)
	w.kube.mu.Lock()
	w.kube.stuck = true
	w.kube.mu.Unlock()
	out := lw.churn(t, exitNotReady, w.deployArgs(w.outDirs[1], "--wait-timeout", "100ms")...)
	if !strings.Contains(out, "not ready") || !strings.Contains(out, "rolled back to version \""+v1) {
		t.Errorf("deploy says %q, want not ready and rolled back to %s", out, v1)
	}
	w.kube.mu.Lock()
	now := w.kube.objs["customer-churn"].DeepCopy()
	w.kube.mu.Unlock()
	if now.Annotations["pach_id"] != v1 || now.Generation != old.Generation+2 {
		t.Errorf("pach_id %q generation %d, want %s at %d (the deploy, the roll back)",
			now.Annotations["pach_id"], now.Generation, v1, old.Generation+2)
	}
	if got, want := now.Spec.Predictor.Containers[0].Env, old.Spec.Predictor.Containers[0].Env; got[0] != want[0] {
		t.Errorf("STORAGE_URI %v, want the previous %v", got[0], want[0])
	}
	after := bucketHashes(t, w.store, "models")
	for k, v := range before {
		if after[k] != v {
			t.Errorf("model file %s of the served version changed", k)
		}
	}
	if len(after) != 2*len(before) {
		t.Errorf("the store holds %d files, want %d (both versions, side by side)",
			len(after), 2*len(before))
	}
}

// bucketHashes maps every object of a bucket to its content.
func bucketHashes(t *testing.T, b *s3mem.Backend, bucket string) map[string]string {
	t.Helper()
	list, err := b.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list.Contents {
		obj, err := b.GetObject(bucket, c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		out[c.Key] = string(body)
	}
	return out
}
