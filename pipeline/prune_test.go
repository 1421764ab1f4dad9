package pipeline

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// pruneWorld is a failWorld whose S3 server runs on a clock the test
// moves, so that version folders get distinct LastModified times without
// sleeping, with the model store at loc.
type pruneWorld struct {
	*failWorld
	clock gofakes3.TimeSourceAdvancer
	loc   StoreLocation
}

// newPruneWorld returns a pruneWorld whose store prefix is prefix and
// whose store holds, written first, the version the service runs.
func newPruneWorld(t *testing.T, prefix string) *pruneWorld {
	t.Helper()
	start := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	clock := gofakes3.FixedTimeSource(start)
	w := newFailWorldOn(t, s3mem.New(s3mem.WithTimeSource(clock)))
	pw := &pruneWorld{failWorld: w, clock: clock,
		loc: StoreLocation{Scheme: "s3", Bucket: "models", Prefix: prefix}}
	if prefix != "churn" { // failWorld put the running version under churn/ only
		pw.publish(t, churnModel+"/"+oldVersion, writeCheckpoint(t, 7))
	}
	return pw
}

// tick moves the store's clock on by two seconds, past the one-second
// resolution of the times S3 lists.
func (w *pruneWorld) tick() { w.clock.Advance(2 * time.Second) }

// publish uploads the checkpoint folder dir as sub of the store, one tick
// after the previous write.
func (w *pruneWorld) publish(t *testing.T, sub, dir string) {
	t.Helper()
	w.tick()
	if _, err := publishDir(context.Background(), w.d.Store, w.loc, sub, dir,
		discard()); err != nil {
		t.Fatal(err)
	}
}

// put stores one small object at key straight in the backend, at the
// clock's current time.
func (w *pruneWorld) put(t *testing.T, key string) {
	t.Helper()
	body := []byte("x:" + key)
	if _, err := w.backend.PutObject("models", key, nil, bytes.NewReader(body),
		int64(len(body)), nil); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

// keys returns every object key of the bucket, sorted.
func (w *pruneWorld) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	for k := range w.objects(t) {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// opts are the deploy's flags with the world's store, a wait long enough
// for the service to get ready, and --keep-versions keep.
func (w *pruneWorld) opts(t *testing.T, keep int) DeployOptions {
	t.Helper()
	o := w.options(t)
	o.Store = w.loc
	o.WaitTimeout, o.KeepVersions = 5*time.Second, keep
	return o
}

// deploy runs a deploy keeping keep versions one tick after the last
// write, so that the deployed folder is the newest, and fails the test
// when it fails.
func (w *pruneWorld) deploy(t *testing.T, keep int) *DeployResult {
	t.Helper()
	w.tick()
	res, err := w.d.Deploy(context.Background(), w.opts(t, keep))
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return res
}

// folder is the key prefix of model/version under the world's prefix.
func (w *pruneWorld) folder(model, version string) string {
	if w.loc.Prefix == "" {
		return model + "/" + version + "/"
	}
	return w.loc.Prefix + "/" + model + "/" + version + "/"
}

// countUnder counts the keys that start with prefix.
func countUnder(keys []string, prefix string) int {
	n := 0
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// wantKept checks every version folder of model still holds objects.
func (w *pruneWorld) wantKept(t *testing.T, model string, versions ...string) {
	t.Helper()
	keys := w.keys(t)
	for _, v := range versions {
		if countUnder(keys, w.folder(model, v)) == 0 {
			t.Errorf("version folder %s is gone", w.folder(model, v))
		}
	}
}

// wantGone checks no object is left in the version folders of model.
func (w *pruneWorld) wantGone(t *testing.T, model string, versions ...string) {
	t.Helper()
	keys := w.keys(t)
	for _, v := range versions {
		if n := countUnder(keys, w.folder(model, v)); n != 0 {
			t.Errorf("%d objects left in %q", n, w.folder(model, v))
		}
	}
}

// wantPruned checks the deploy reports exactly the versions want pruned,
// in any order.
func wantPruned(t *testing.T, res *DeployResult, want ...string) {
	t.Helper()
	got := slices.Sorted(slices.Values(res.Pruned))
	if want = slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
		t.Errorf("pruned %q, want %q", got, want)
	}
}

// Ensures --keep-versions deletes, once the new version is ready, the
// version folders beyond the most recent ones, keeping the version served
// and the one it replaced, and nothing outside the model's version
// folders.
func TestDeployPrunesOldVersions(t *testing.T) {
	w := newPruneWorld(t, "churn") // the store holds oldVersion, which the service runs
	stale, newer := commitID('d'), commitID('e')
	w.publish(t, churnModel+"/"+stale, writeCheckpoint(t, 3))
	w.publish(t, churnModel+"/"+newer, writeCheckpoint(t, 3))
	w.publish(t, "other-model/"+stale, writeCheckpoint(t, 3))
	w.put(t, "churn/"+churnModel+"/NOTES")
	w.readyAfterUpdate(t)

	res := w.deploy(t, 2)
	wantPruned(t, res, stale)
	w.wantKept(t, churnModel, w.job, newer, oldVersion)
	w.wantKept(t, "other-model", stale)
	w.wantGone(t, churnModel, stale)
	if !slices.Contains(w.keys(t), "churn/"+churnModel+"/NOTES") {
		t.Errorf("the loose object %s/NOTES is gone", churnModel)
	}
}

// readyAfterUpdate makes the service report its updated generation ready.
func (w *failWorld) readyAfterUpdate(t *testing.T) { w.reportReady(nil) }

// reportReady makes every read of the service report the generation it
// holds ready; change, when set, may first replace the stored object (as
// another client's update would) and returns what is stored then.
func (w *failWorld) reportReady(
	change func(*v1beta1.InferenceService) (*v1beta1.InferenceService, error)) {
	w.cs.PrependReactor("get", "inferenceservices",
		func(a k8stesting.Action) (bool, runtime.Object, error) {
			obj, err := w.cs.Tracker().Get(isvcResource, "models", churnModel)
			if err != nil {
				return true, nil, err
			}
			isvc := obj.(*v1beta1.InferenceService).DeepCopy()
			if change != nil {
				if isvc, err = change(isvc); err != nil {
					return true, nil, err
				}
			}
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
