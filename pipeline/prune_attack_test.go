package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/minio/minio-go/v7"
)

// Ensures keys that share the model's name as a prefix, loose objects and
// other store prefixes survive; only the stale folder goes.
func TestPruneNameCollisions(t *testing.T) {
	w := newPruneWorld(t, "churn")
	stale := commitID('d')
	w.publish(t, churnModel+"/"+stale, writeCheckpoint(t, 3))
	w.tick()
	survivors := []string{
		"churn/customer-churn",                       // the model name as an object
		"churn/customer-churn-v2/" + stale + "/x",    // a longer model name
		"churn/customer-churn2/" + stale + "/x",      // another
		"churn/customer-churn/NOTES",                 // loose object
		"churn/customer-churn/.keep",                 // loose object
		"churnX/customer-churn/" + stale + "/x",      // another store prefix
		"customer-churn/" + stale + "/x",             // no store prefix
		"churn/" + stale + "/x",                      // no model
		"churn/Customer-Churn/" + stale + "/x",       // case
		"other/churn/customer-churn/" + stale + "/x", // nested deeper
	}
	for _, k := range survivors {
		w.put(t, k)
	}
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 1), stale)
	keys := w.keys(t)
	for _, k := range survivors {
		if !slices.Contains(keys, k) {
			t.Errorf("%s was deleted", k)
		}
	}
	w.wantKept(t, churnModel, w.job, oldVersion)
	w.wantGone(t, churnModel, stale)
}

// Ensures an empty store prefix prunes only the model's own folders.
func TestPruneEmptyPrefix(t *testing.T) {
	w := newPruneWorld(t, "")
	stale := commitID('d')
	w.publish(t, churnModel+"/"+stale, writeCheckpoint(t, 3))
	w.publish(t, "other-model/"+stale, writeCheckpoint(t, 4))
	w.put(t, "README")
	w.put(t, churnModel+"/README")
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 1), stale)
	keys := w.keys(t)
	for _, k := range []string{"README", churnModel + "/README"} {
		if !slices.Contains(keys, k) {
			t.Errorf("%s was deleted", k)
		}
	}
	w.wantKept(t, churnModel, w.job, oldVersion)
	w.wantKept(t, "other-model", stale)
	w.wantGone(t, churnModel, stale)
}

// putMany stores n objects in the version folder of model, one tick
// after the previous write.
func (w *pruneWorld) putMany(t *testing.T, version string, n int) {
	t.Helper()
	w.tick()
	for i := range n {
		w.put(t, fmt.Sprintf("%s%04d.bin", w.folder(churnModel, version), i))
	}
}

// Ensures listings over several pages (1000 keys each) are read whole:
// every object of a big stale folder goes, every object of a big kept
// folder stays.
func TestPrunePagination(t *testing.T) {
	w := newPruneWorld(t, "churn")
	stale, kept := commitID('d'), commitID('e')
	w.putMany(t, stale, 1500)
	w.putMany(t, kept, 1200)
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 2), stale)
	keys := w.keys(t)
	if n := countUnder(keys, w.folder(churnModel, stale)); n != 0 {
		t.Errorf("%d of 1500 stale objects left", n)
	}
	if n := countUnder(keys, w.folder(churnModel, kept)); n != 1200 {
		t.Errorf("%d of 1200 kept objects left", n)
	}
	w.wantKept(t, churnModel, w.job, oldVersion)
}

// Ensures keys with spaces, '+', '%', '?', '#', unicode, ';', '~', '='
// and '&' are deleted in stale folders and left alone in kept ones.
func TestPruneOddKeys(t *testing.T) {
	w := newPruneWorld(t, "churn")
	odd := []string{"a b", "a+b", "a%2Fb", "q?x=1", "h#x", "ünï", "s;c", "t~1", "e=&"}
	w.tick()
	for _, v := range odd {
		w.put(t, w.folder(churnModel, v)+"f "+v+".bin")
	}
	w.tick()
	newest := w.folder(churnModel, "n+e w%20") + "f+1 %2B.bin"
	w.put(t, newest)
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 2), odd...)
	w.wantGone(t, churnModel, odd...)
	if keys := w.keys(t); !slices.Contains(keys, newest) {
		t.Errorf("kept odd key %q deleted; left %q", newest, keys)
	}
}

// Ensures re-deploying an old version (its objects keep their old
// LastModified) never deletes it, nor the replaced version, with keep 1.
func TestPruneRedeployOld(t *testing.T) {
	w := newPruneWorld(t, "churn")
	// The deployed version's files were uploaded long ago, same bytes.
	w.publish(t, churnModel+"/"+w.job, filepath.Join(w.inputDir, CheckpointDir))
	n1, n2 := commitID('d'), commitID('e')
	w.publish(t, churnModel+"/"+n1, writeCheckpoint(t, 3))
	w.publish(t, churnModel+"/"+n2, writeCheckpoint(t, 4))
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 1), n1) // n2 is the most recent
	w.wantKept(t, churnModel, w.job, oldVersion, n2)
}

// Ensures nothing is deleted when the new version does not become ready
// (rolled back, or kept with --keep-failed), nor without a wait, even
// when Apply is called without Validate.
func TestPruneNothingUnlessReady(t *testing.T) {
	for _, mode := range []string{"rollback", "keep-failed", "no-wait"} {
		t.Run(mode, func(t *testing.T) {
			w := newPruneWorld(t, "churn")
			for i, r := range "defg" {
				w.publish(t, churnModel+"/"+commitID(r), writeCheckpoint(t, int64(10+i)))
			}
			before := w.keys(t)
			opts := w.opts(t, 1)
			opts.WaitTimeout = 50 * time.Millisecond
			switch mode {
			case "keep-failed":
				opts.KeepFailed = true
			case "no-wait":
				opts.Wait = false
				w.readyAfterUpdate(t)
			}
			p := &DeployPlan{Options: opts, Info: w.info(t)}
			res, err := w.d.Apply(context.Background(), p)
			if mode != "no-wait" && err == nil {
				t.Fatal("a deploy that never gets ready succeeded")
			}
			if res != nil && len(res.Pruned) != 0 {
				t.Errorf("pruned %v", res.Pruned)
			}
			if missing := w.missing(t, before); len(missing) != 0 {
				t.Errorf("deleted %q", missing)
			}
		})
	}
}

// info reads the model info the deploy's input holds.
func (w *pruneWorld) info(t *testing.T) *ModelInfo {
	t.Helper()
	m, err := ReadModelInfo(filepath.Join(w.inputDir, ModelInfoFile))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// missing returns the keys of before that the bucket no longer holds.
func (w *pruneWorld) missing(t *testing.T, before []string) []string {
	t.Helper()
	now := w.keys(t)
	var out []string
	for _, k := range before {
		if !slices.Contains(now, k) {
			out = append(out, k)
		}
	}
	return out
}

// landOtherDeploy makes the service, once this deploy has updated it to
// generation 2, be updated again by another deploy to version other, and
// report whatever generation it holds ready.
func (w *pruneWorld) landOtherDeploy(other string) {
	var landed atomic.Bool
	w.reportReady(func(isvc *v1beta1.InferenceService) (*v1beta1.InferenceService, error) {
		if isvc.Generation != 2 || landed.Swap(true) {
			return isvc, nil
		}
		next := InferenceService(ServiceSpec{Name: churnModel, Namespace: "models",
			ModelName: churnModel, Image: "registry.example/churn:1",
			StorageURI: w.loc.URI(churnModel + "/" + other), PachID: other})
		next.ResourceVersion, next.Generation = isvc.ResourceVersion, 3
		return next, w.cs.Tracker().Update(isvcResource, next, "models")
	})
}

// Ensures that when another deploy of the same service lands while this
// one waits (the wait follows the newest generation), the version the
// ready service then serves, the other deploy's, is not deleted.
func TestPruneConcurrentDeployKeepsServed(t *testing.T) {
	w := newPruneWorld(t, "churn")
	other := commitID('d')
	// The other deploy placed its files first, then updated the service
	// after this deploy did.
	w.publish(t, churnModel+"/"+other, writeCheckpoint(t, 3))
	w.landOtherDeploy(other)
	res := w.deploy(t, 1)
	if served := w.stored(t).Annotations[AnnotationPachID]; served != other {
		t.Fatalf("setup: the service names %s, want %s", served, other)
	}
	if len(res.Pruned) != 0 {
		t.Errorf("pruned %q; the only older versions are served or replaced", res.Pruned)
	}
	w.wantKept(t, churnModel, other, w.job, oldVersion)
}

// Ensures a replaced service without the pach_id annotation (created by
// hand or by another tool) keeps the version folder its storageUri
// points into: the roll-back target.
func TestPruneReplacedWithoutAnnotation(t *testing.T) {
	w := newPruneWorld(t, "churn")
	obj, err := w.cs.Tracker().Get(isvcResource, "models", churnModel)
	if err != nil {
		t.Fatal(err)
	}
	isvc := obj.(*v1beta1.InferenceService).DeepCopy()
	delete(isvc.Annotations, AnnotationPachID)
	if err := w.cs.Tracker().Update(isvcResource, isvc, "models"); err != nil {
		t.Fatal(err)
	}
	stale := commitID('d')
	w.publish(t, churnModel+"/"+stale, writeCheckpoint(t, 3))
	w.readyAfterUpdate(t)
	wantPruned(t, w.deploy(t, 1), stale)
	w.wantKept(t, churnModel, oldVersion, w.job)
}

// listFailStore is a store whose listing of one prefix fails.
type listFailStore struct {
	ObjectStore
	prefix string
}

// ListObjects lists as the store does, but answers an error for the
// prefix s fails.
func (s listFailStore) ListObjects(ctx context.Context, bucket string,
	opts minio.ListObjectsOptions) <-chan minio.ObjectInfo {
	if opts.Prefix != s.prefix {
		return s.ObjectStore.ListObjects(ctx, bucket, opts)
	}
	ch := make(chan minio.ObjectInfo, 1)
	ch <- minio.ObjectInfo{Err: errors.New("AccessDenied: list refused")}
	close(ch)
	return ch
}

// Ensures a prune that cannot list the model's folders says so in the
// log, deletes nothing, and leaves the deploy itself a success.
func TestPruneListFailureIsLogged(t *testing.T) {
	w := newPruneWorld(t, "churn")
	w.publish(t, churnModel+"/"+commitID('d'), writeCheckpoint(t, 3))
	w.d.Store = listFailStore{ObjectStore: w.d.Store, prefix: "churn/" + churnModel + "/"}
	var buf bytes.Buffer
	w.d.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	w.readyAfterUpdate(t)
	if res := w.deploy(t, 1); len(res.Pruned) != 0 {
		t.Errorf("pruned %q without a listing", res.Pruned)
	}
	w.wantKept(t, churnModel, commitID('d'))
	if !strings.Contains(buf.String(), "list refused") {
		t.Errorf("the failed listing left no trace in the log:\n%s", buf.String())
	}
}
