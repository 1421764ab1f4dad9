package experiment_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/churn-pdk/churn/experiment"
)

// TestS3Storage ensures checkpoints go to <prefix>/<uuid>/<relpath> in a
// real (in-process) S3 server and come back whole.
func TestS3Storage(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("ckpt"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer srv.Close()
	st, err := experiment.NewStorage(map[string]any{"type": "s3", "bucket": "ckpt",
		"endpoint_url": srv.URL, "access_key": "ak", "secret_key": "sk", "prefix": "/runs//x/"},
		experiment.StorageOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const id = "5eb08ec2-c834-4b20-8070-f3806e62e821"
	dir, err := st.Begin(id)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"model.bin": "weights", "sub/features.json": "{}",
		"metadata.json": `{"steps_completed":3}`})
	if err := st.Commit(ctx, id, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("local copy %s kept after upload (%v)", dir, err)
	}
	objs, err := backend.ListBucket("ckpt", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs.Contents {
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	want := "runs/x/" + id + "/metadata.json runs/x/" + id + "/model.bin runs/x/" + id +
		"/sub/features.json"
	if strings.Join(keys, " ") != want {
		t.Errorf("keys = %v, want %s", keys, want)
	}
	got, release, err := st.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(got, "sub", "features.json"))
	m, _ := os.ReadFile(filepath.Join(got, "model.bin"))
	if string(b) != "{}" || string(m) != "weights" {
		t.Errorf("restored files: %q, %q", b, m)
	}
	release()
	if _, err := os.Stat(got); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("release kept %s", got)
	}
	if _, _, err := st.Open(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(unknown) = %v, want not exist", err)
	}
}

// TestStorageConfigErrors ensures bad checkpoint_storage blocks name the field.
func TestStorageConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   map[string]any
		field string
	}{
		{map[string]any{"type": "gcs", "bucket": "b"}, "checkpoint_storage.type"},
		{map[string]any{"type": "shared_fs"}, "checkpoint_storage.host_path"},
		{map[string]any{"type": "shared_fs", "host_path": "/mnt", "storage_path": "/etc"},
			"checkpoint_storage.storage_path"},
		{map[string]any{"type": "shared_fs", "host_path": "/mnt", "storage_path": "../x"},
			"checkpoint_storage.storage_path"},
		{map[string]any{"type": "directory"}, "checkpoint_storage.container_path"},
		{map[string]any{"type": "s3"}, "checkpoint_storage.bucket"},
	} {
		_, err := experiment.NewStorage(tc.cfg, experiment.StorageOptions{})
		var ce *experiment.ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("NewStorage(%v) = %v, want an error on %s", tc.cfg, err, tc.field)
		}
	}
}

// TestSharedFSLayout ensures shared_fs checkpoints land in
// <root>/<storage_path>/<uuid> and appear only when committed.
func TestSharedFSLayout(t *testing.T) {
	root := t.TempDir()
	st, err := experiment.NewStorage(map[string]any{"type": "shared_fs", "host_path": "/mnt/ck",
		"storage_path": "/mnt/ck/det"}, experiment.StorageOptions{SharedFSRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := st.Begin("u1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Open(context.Background(), "u1"); err == nil {
		t.Error("an uncommitted checkpoint is visible")
	}
	writeTree(t, dir, map[string]string{"model.bin": "w"})
	if err := st.Commit(context.Background(), "u1", dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "det", "u1", "model.bin")); err != nil || string(b) != "w" {
		t.Errorf("committed file: %q, %v", b, err)
	}
}
