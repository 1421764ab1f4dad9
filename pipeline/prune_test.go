package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/minio/minio-go/v7"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// Ensures --keep-versions deletes, once the new version is ready, the
// version folders beyond the most recent ones, keeping the version served
// and the one it replaced, and nothing outside the model's version
// folders.
func TestDeployPrunesOldVersions(t *testing.T) {
	w := newFailWorld(t) // the store holds oldVersion, which the service runs
	loc := StoreLocation{Scheme: "s3", Bucket: "models", Prefix: "churn"}
	ctx := context.Background()
	publish := func(sub string) {
		t.Helper()
		if _, err := publishDir(ctx, w.d.Store, loc, sub, writeCheckpoint(t, 3),
			discard()); err != nil {
			t.Fatal(err)
		}
	}
	stale, newer := commitID('d'), commitID('e')
	// Distinct seconds: the store's times have a resolution of one.
	time.Sleep(1100 * time.Millisecond)
	publish(churnModel + "/" + stale)
	time.Sleep(1100 * time.Millisecond)
	publish(churnModel + "/" + newer)
	publish("other-model/" + stale)
	loose := filepath.Join(t.TempDir(), "NOTES")
	if err := os.WriteFile(loose, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := w.d.Store.FPutObject(ctx, "models", "churn/"+churnModel+"/NOTES", loose,
		minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	w.readyAfterUpdate(t)

	opts := w.options(t)
	opts.WaitTimeout, opts.KeepVersions = 5*time.Second, 2
	res, err := w.d.Deploy(ctx, opts)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !slices.Equal(res.Pruned, []string{stale}) {
		t.Errorf("pruned %v, want [%s]", res.Pruned, stale)
	}
	dirs := map[string]bool{} // model/version folders, and loose objects
	for key := range w.objects(t) {
		parts := strings.SplitN(strings.TrimPrefix(key, "churn/"), "/", 3)
		dirs[strings.Join(parts[:min(2, len(parts))], "/")] = true
	}
	for _, want := range []string{churnModel + "/" + w.job, churnModel + "/" + newer,
		churnModel + "/" + oldVersion, "other-model/" + stale, churnModel + "/NOTES"} {
		if !dirs[want] {
			t.Errorf("%s is gone from the store; left: %v", want, dirs)
		}
	}
	if dirs[churnModel+"/"+stale] {
		t.Errorf("%s/%s is still in the store", churnModel, stale)
	}
}

// readyAfterUpdate makes the service report its updated generation ready.
func (w *failWorld) readyAfterUpdate(t *testing.T) {
	w.cs.PrependReactor("get", "inferenceservices",
		func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj, err := w.cs.Tracker().Get(isvcResource, "models", churnModel)
			if err != nil {
				return true, nil, err
			}
			isvc := obj.(*v1beta1.InferenceService).DeepCopy()
			isvc.Status = readyStatus(isvc.Generation, "http://customer-churn.models.example.com")
			return true, isvc, nil
		})
}

// Ensures --keep-versions is refused without a wait, with the pfs store,
// or below 0.
func TestKeepVersionsChecks(t *testing.T) {
	f := newDeployFixture(t)
	bucket, err := ParseStoreLocation("s3://models/churn")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		keep  int
		wait  bool
		store StoreLocation
		want  string
	}{
		{-1, true, bucket, "--keep-versions -1"},
		{2, false, bucket, "needs --wait"},
		{2, true, StoreLocation{Scheme: StorePFS}, "a bucket --model-store"},
	} {
		opts := f.options(t)
		opts.KeepVersions, opts.Wait, opts.Store = tc.keep, tc.wait, tc.store
		if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("keep %d, wait %v, store %q: %v; want an error containing %q",
				tc.keep, tc.wait, tc.store.Scheme, err, tc.want)
		}
	}
	opts := f.options(t)
	opts.KeepVersions, opts.Wait, opts.Store = 3, true, bucket
	if err := opts.Validate(); err != nil {
		t.Errorf("keep 3 with a wait and a bucket: %v", err)
	}
}
