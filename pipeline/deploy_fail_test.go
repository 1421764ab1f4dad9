package pipeline

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/churn-pdk/churn/experiment"
)

// oldVersion is the version the running service serves before each test.
var oldVersion = commitID('c')

// failWorld is a deploy over a running service whose model files live in
// a real S3 server, with switches that make one step fail.
type failWorld struct {
	*deployFixture
	backend *s3mem.Backend
	// failPut makes every object upload fail with 403.
	failPut atomic.Bool
	old     *v1beta1.InferenceService
	oldURI  string
	oldObjs map[string]string
}

func newFailWorld(t *testing.T) *failWorld { return newFailWorldOn(t, s3mem.New()) }

// newFailWorldOn is newFailWorld with the bucket store's backend given.
func newFailWorldOn(t *testing.T, backend *s3mem.Backend) *failWorld {
	t.Helper()
	w := &failWorld{deployFixture: newDeployFixture(t), backend: backend}
	if err := w.backend.CreateBucket("models"); err != nil {
		t.Fatal(err)
	}
	s3 := gofakes3.New(w.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && w.failPut.Load() {
			rw.WriteHeader(http.StatusForbidden)
			rw.Write([]byte(`<Error><Code>AccessDenied</Code><Message>denied</Message></Error>`))
			return
		}
		s3.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	store, err := NewS3Store(S3StoreConfig{Endpoint: srv.URL, Scheme: "s3", AccessKey: "k",
		SecretKey: experiment.NewSecret("s"), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	w.d.Store = store
	w.d.Getenv = func(k string) string { return map[string]string{EnvKServeNamespace: "models"}[k] }
	// The running version: its files uploaded by an earlier deploy, and the
	// service pointing at them, ready at generation 1.
	oldDir := writeCheckpoint(t, 7)
	w.oldURI, err = publishDir(context.Background(), store, StoreLocation{Scheme: "s3",
		Bucket: "models", Prefix: "churn"}, churnModel+"/"+oldVersion, oldDir, discard())
	if err != nil {
		t.Fatal(err)
	}
	w.oldObjs = w.objects(t)
	w.old = InferenceService(ServiceSpec{Name: churnModel, Namespace: "models",
		ModelName: churnModel, Image: "registry.example/churn:0", StorageURI: w.oldURI,
		PachID: oldVersion})
	w.old.Generation = 1
	w.old.Status = readyStatus(1, "http://customer-churn.models.example.com")
	if err := w.cs.Tracker().Add(w.old.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	// As the API server does: a spec change bumps the generation.
	w.cs.PrependReactor("update", "inferenceservices",
		func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj := a.(k8stesting.UpdateAction).GetObject().(*v1beta1.InferenceService).DeepCopy()
			cur, err := w.cs.Tracker().Get(isvcResource, "models", obj.Name)
			if err != nil {
				return true, nil, err
			}
			obj.Generation = cur.(*v1beta1.InferenceService).Generation + 1
			return true, obj, w.cs.Tracker().Update(isvcResource, obj, "models")
		})
	return w
}

func (w *failWorld) options(t *testing.T) DeployOptions {
	opts := w.deployFixture.options(t)
	var err error
	if opts.Store, err = ParseStoreLocation("s3://models/churn"); err != nil {
		t.Fatal(err)
	}
	opts.Wait, opts.WaitTimeout = true, 50*time.Millisecond
	return opts
}

// objects maps every object key of the bucket to its sha256.
func (w *failWorld) objects(t *testing.T) map[string]string {
	t.Helper()
	list, err := w.backend.ListBucket("models", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list.Contents {
		obj, err := w.backend.GetObject("models", c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[c.Key], err = hashReader(obj.Contents)
		obj.Contents.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// assertOldServing checks the running version's files are untouched and,
// when spec is set, that the service still names it.
func (w *failWorld) assertOldServing(t *testing.T, spec bool) {
	t.Helper()
	now := w.objects(t)
	for k, v := range w.oldObjs {
		if now[k] != v {
			t.Errorf("old model file %s changed or went away", k)
		}
	}
	if !spec {
		return
	}
	got := w.stored(t)
	if diff := cmp.Diff(w.old.Spec, got.Spec); diff != "" {
		t.Errorf("InferenceService spec is not the previous one (-old +now):\n%s", diff)
	}
	if got.Annotations[AnnotationPachID] != oldVersion {
		t.Errorf("pach_id = %q, want the previous %q", got.Annotations[AnnotationPachID], oldVersion)
	}
}

// updates counts the update calls the cluster saw.
func (w *failWorld) updates() int {
	n := 0
	for _, a := range w.cs.Actions() {
		if a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

// Ensures an upload that fails leaves the service and its files alone.
func TestDeployUploadFailureKeepsService(t *testing.T) {
	w := newFailWorld(t)
	w.failPut.Store(true)
	_, err := w.d.Deploy(context.Background(), w.options(t))
	wantKey := "s3://models/churn/customer-churn/" + w.job + "/"
	if err == nil || !strings.Contains(err.Error(), wantKey) {
		t.Fatalf("Deploy = %v, want an upload error naming %s", err, wantKey)
	}
	if n := w.updates(); n != 0 {
		t.Errorf("%d updates after a failed upload, want none", n)
	}
	w.assertOldServing(t, true)
}

// Ensures a Determined download that fails changes nothing.
func TestDeployDownloadFailureKeepsService(t *testing.T) {
	w := newFailWorld(t)
	delete(w.det.checkpoints, "uuid-1")
	_, err := w.d.Deploy(context.Background(), w.options(t))
	if !errors.Is(err, experiment.ErrNotFound) || !strings.Contains(err.Error(), "uuid-1") {
		t.Fatalf("Deploy = %v, want the download error naming the checkpoint", err)
	}
	if a := w.cs.Actions(); len(a) != 0 {
		t.Errorf("cluster actions after a failed download: %v", a)
	}
	w.assertOldServing(t, true)
}

// Ensures a store location holding other bytes is never overwritten, and
// the service is not pointed at it.
func TestDeployRefusesToOverwrite(t *testing.T) {
	w := newFailWorld(t)
	key := "churn/customer-churn/" + w.job + "/model.bin"
	meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := w.backend.PutObject("models", key, meta, strings.NewReader("other"), 5,
		nil); err != nil {
		t.Fatal(err)
	}
	_, err := w.d.Deploy(context.Background(), w.options(t))
	if !errors.Is(err, ErrWouldOverwrite) || !strings.Contains(err.Error(), key) {
		t.Fatalf("Deploy = %v, want ErrWouldOverwrite naming %s", err, key)
	}
	if got := w.objects(t)[key]; got != sha256Hex("other") {
		t.Errorf("%s was overwritten", key)
	}
	if n := w.updates(); n != 0 {
		t.Errorf("%d updates, want none", n)
	}
	w.assertOldServing(t, true)
}

// Ensures an update the API server refuses leaves the previous object
// and files, and a retried deploy reuses the files already uploaded.
func TestDeployUpdateFailureKeepsService(t *testing.T) {
	w := newFailWorld(t)
	var refuse atomic.Bool
	refuse.Store(true)
	w.cs.PrependReactor("update", "inferenceservices",
		func(k8stesting.Action) (bool, runtime.Object, error) {
			if refuse.Load() {
				return true, nil, apierrors.NewInternalError(errors.New("etcd unavailable"))
			}
			return false, nil, nil
		})
	_, err := w.d.Deploy(context.Background(), w.options(t))
	if err == nil || !strings.Contains(err.Error(), "apply InferenceService models/customer-churn") {
		t.Fatalf("Deploy = %v, want the apply error", err)
	}
	w.assertOldServing(t, true)
	newKey := "churn/customer-churn/" + w.job + "/model.bin"
	if _, ok := w.objects(t)[newKey]; !ok {
		t.Fatalf("the new version's files are not in their own location %s", newKey)
	}

	// The datum's retry: the files are kept, not uploaded again.
	refuse.Store(false)
	w.failPut.Store(true)
	opts := w.options(t)
	opts.Wait = false
	res, err := w.d.Deploy(context.Background(), opts)
	if err != nil {
		t.Fatalf("retried Deploy: %v", err)
	}
	if want := "s3://models/churn/customer-churn/" + w.job; res.StorageURI != want ||
		w.stored(t).Annotations[AnnotationPachID] != w.job {
		t.Errorf("retried deploy: storage URI %q pach_id %q, want %q and %q", res.StorageURI,
			w.stored(t).Annotations[AnnotationPachID], want, w.job)
	}
	w.assertOldServing(t, false)
}

// Ensures a new generation that never becomes ready fails the deploy with
// ErrNotReady and puts the previous spec back; with KeepFailed it stays.
func TestDeployNeverReadyRollsBack(t *testing.T) {
	w := newFailWorld(t)
	_, err := w.d.Deploy(context.Background(), w.options(t))
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "rolled back to version \""+
		oldVersion+"\" (generation 3)") || !strings.Contains(err.Error(), "generation 2 not yet observed") {
		t.Fatalf("Deploy = %v, want ErrNotReady, the reason and the roll back", err)
	}
	if n := w.updates(); n != 2 {
		t.Errorf("%d updates, want 2 (the deploy, the roll back)", n)
	}
	w.assertOldServing(t, true)

	w = newFailWorld(t)
	opts := w.options(t)
	opts.KeepFailed = true
	_, err = w.d.Deploy(context.Background(), opts)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "--keep-failed") {
		t.Fatalf("Deploy --keep-failed = %v, want ErrNotReady saying the spec stays", err)
	}
	if got := w.stored(t).Annotations[AnnotationPachID]; got != w.job {
		t.Errorf("--keep-failed: pach_id %q, want the new %q", got, w.job)
	}
	w.assertOldServing(t, false)
}

// Ensures the roll back leaves alone a service someone changed after the
// failed deploy.
func TestRollBackLeavesNewerChange(t *testing.T) {
	w := newFailWorld(t)
	prev := w.stored(t)
	_, err := RollBack(context.Background(), w.cs.ServingV1beta1().InferenceServices("models"),
		prev, 5)
	if err == nil || !strings.Contains(err.Error(), "at generation 1, not 5") {
		t.Fatalf("RollBack = %v, want a refusal naming the generations", err)
	}
	if n := w.updates(); n != 0 {
		t.Errorf("%d updates, want none", n)
	}
}

func sha256Hex(s string) string {
	h, _ := hashReader(strings.NewReader(s))
	return h
}

// Ensures the readiness wait rides out API server errors and stops at
// once when the service is gone.
func TestWaitReadyTransientErrors(t *testing.T) {
	w := newFailWorld(t)
	var gets atomic.Int32
	w.cs.PrependReactor("get", "inferenceservices",
		func(k8stesting.Action) (bool, runtime.Object, error) {
			if gets.Add(1) <= 2 {
				return true, nil, apierrors.NewInternalError(errors.New("etcd leader changed"))
			}
			return false, nil, nil
		})
	svc := w.cs.ServingV1beta1().InferenceServices("models")
	got, err := WaitReady(context.Background(), svc, churnModel, 1, time.Millisecond,
		time.Second, discard())
	if err != nil || got.Annotations[AnnotationPachID] != oldVersion || gets.Load() != 3 {
		t.Fatalf("WaitReady = %v after %d reads, want the ready service on the third", err,
			gets.Load())
	}
	_, err = WaitReady(context.Background(), svc, "gone", 1, time.Millisecond, time.Second,
		discard())
	if !apierrors.IsNotFound(err) || errors.Is(err, ErrNotReady) {
		t.Errorf("WaitReady(missing) = %v, want NotFound at once", err)
	}
}
