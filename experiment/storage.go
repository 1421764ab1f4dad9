package experiment

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Storage is checkpoint storage as the experiment config's
// checkpoint_storage describes it. A checkpoint is written into a local
// directory from Begin, then made durable by Commit under its uuid.
type Storage interface {
	// Begin returns a fresh local directory to write checkpoint uuid into.
	Begin(uuid string) (dir string, err error)
	// Commit stores dir as checkpoint uuid; dir is gone afterwards.
	Commit(ctx context.Context, uuid, dir string) error
	// Abort discards a directory from Begin.
	Abort(dir string)
	// Open makes checkpoint uuid readable in a local directory; release
	// frees what it took.
	Open(ctx context.Context, uuid string) (dir string, release func(), err error)
}

// StorageOptions say where storage lives from this process's view.
type StorageOptions struct {
	// SharedFSRoot is where shared_fs host_path is mounted; "" means
	// /determined_shared_fs (inside a trial container). Unmanaged runs on
	// the host itself set it to the config's host_path.
	SharedFSRoot string
	// UseHostPath mounts shared_fs at its host_path (runs outside a
	// container); it overrides SharedFSRoot.
	UseHostPath bool
	// TempDir holds the local copies of S3 checkpoints; "" means os.TempDir.
	TempDir string
}

// NewStorage builds the storage of a checkpoint_storage block (types
// shared_fs, directory and s3).
func NewStorage(cfg map[string]any, opts StorageOptions) (Storage, error) {
	typ, _ := cfg["type"].(string)
	switch typ {
	case "shared_fs":
		return sharedFS(cfg, opts)
	case "directory":
		p, _ := cfg["container_path"].(string)
		if p == "" {
			return nil, &ConfigError{Field: "checkpoint_storage.container_path", Reason: "missing"}
		}
		return &fsStorage{base: p}, nil
	case "s3":
		return newS3(cfg, opts)
	case "":
		return nil, &ConfigError{Field: "checkpoint_storage.type", Reason: "missing"}
	}
	return nil, &ConfigError{Field: "checkpoint_storage.type",
		Reason: fmt.Sprintf("%q is not supported (want shared_fs, directory or s3)", typ)}
}

// sharedFS resolves <root>/<storage_path relative to host_path>.
func sharedFS(cfg map[string]any, opts StorageOptions) (Storage, error) {
	host, _ := cfg["host_path"].(string)
	if host == "" {
		return nil, &ConfigError{Field: "checkpoint_storage.host_path", Reason: "missing"}
	}
	root := opts.SharedFSRoot
	if root == "" {
		root = "/determined_shared_fs"
	}
	if opts.UseHostPath {
		root = host
	}
	sp, _ := cfg["storage_path"].(string)
	if filepath.IsAbs(sp) {
		rel, err := filepath.Rel(host, sp)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, &ConfigError{Field: "checkpoint_storage.storage_path",
				Reason: fmt.Sprintf("%q is not under host_path %q", sp, host)}
		}
		sp = rel
	}
	if sp == ".." || strings.HasPrefix(filepath.Clean(sp), "../") {
		return nil, &ConfigError{Field: "checkpoint_storage.storage_path",
			Reason: fmt.Sprintf("%q leaves host_path", sp)}
	}
	return &fsStorage{base: filepath.Join(root, sp)}, nil
}

// fsStorage keeps checkpoints in <base>/<uuid> on a mounted file system.
type fsStorage struct {
	base string
}

// Begin makes a hidden temporary directory beside the checkpoints.
func (s *fsStorage) Begin(uuid string) (string, error) {
	if err := os.MkdirAll(s.base, 0o777); err != nil {
		return "", fmt.Errorf("experiment: checkpoint storage: %w", err)
	}
	dir, err := os.MkdirTemp(s.base, "."+uuid+".part-")
	if err != nil {
		return "", fmt.Errorf("experiment: checkpoint storage: %w", err)
	}
	return dir, nil
}

// Commit renames the directory to <base>/<uuid>: it appears whole or not at all.
func (s *fsStorage) Commit(_ context.Context, uuid, dir string) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: checkpoint %s: %w", uuid, err)
	}
	if err := os.Rename(dir, filepath.Join(s.base, uuid)); err != nil {
		return fmt.Errorf("experiment: checkpoint %s: %w", uuid, err)
	}
	return nil
}

// Abort removes the temporary directory.
func (s *fsStorage) Abort(dir string) { _ = os.RemoveAll(dir) }

// Open returns <base>/<uuid> in place.
func (s *fsStorage) Open(_ context.Context, uuid string) (string, func(), error) {
	dir := filepath.Join(s.base, uuid)
	if _, err := os.Stat(dir); err != nil {
		return "", nil, fmt.Errorf("experiment: checkpoint %s: %w", uuid, err)
	}
	return dir, func() {}, nil
}

// s3Storage keeps checkpoints under <prefix>/<uuid>/<relpath> in a bucket.
type s3Storage struct {
	client *minio.Client
	bucket string
	prefix string
	tmp    string
}

func newS3(cfg map[string]any, opts StorageOptions) (Storage, error) {
	str := func(k string) string { v, _ := cfg[k].(string); return v }
	bucket := str("bucket")
	if bucket == "" {
		return nil, &ConfigError{Field: "checkpoint_storage.bucket", Reason: "missing"}
	}
	endpoint, secure := "s3.amazonaws.com", true
	if ep := str("endpoint_url"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return nil, &ConfigError{Field: "checkpoint_storage.endpoint_url",
				Reason: fmt.Sprintf("bad URL %q", ep)}
		}
		endpoint, secure = u.Host, u.Scheme == "https"
	}
	creds := credentials.NewEnvAWS()
	if ak := str("access_key"); ak != "" {
		creds = credentials.NewStaticV4(ak, str("secret_key"), "")
	}
	client, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: secure,
		BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("experiment: checkpoint storage s3: %w", err)
	}
	prefix := strings.Trim(path.Clean("/"+str("prefix")), "/")
	return &s3Storage{client: client, bucket: bucket, prefix: prefix, tmp: opts.TempDir}, nil
}

func (s *s3Storage) key(uuid, rel string) string {
	return strings.TrimPrefix(path.Join(s.prefix, uuid, rel), "/")
}

// Begin makes a local temporary directory.
func (s *s3Storage) Begin(uuid string) (string, error) {
	dir, err := os.MkdirTemp(s.tmp, "churn-ckpt-"+uuid+"-")
	if err != nil {
		return "", fmt.Errorf("experiment: checkpoint storage: %w", err)
	}
	return dir, nil
}

// Commit uploads every file to <prefix>/<uuid>/<relpath> and removes dir.
func (s *s3Storage) Commit(ctx context.Context, uuid, dir string) error {
	defer os.RemoveAll(dir)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		_, err = s.client.FPutObject(ctx, s.bucket, s.key(uuid, filepath.ToSlash(rel)), p,
			minio.PutObjectOptions{})
		if err != nil {
			return fmt.Errorf("experiment: checkpoint %s: upload %s: %w", uuid, rel, err)
		}
		return nil
	})
}

// Abort removes the local directory.
func (s *s3Storage) Abort(dir string) { _ = os.RemoveAll(dir) }

// Open downloads the checkpoint into a temporary directory.
func (s *s3Storage) Open(ctx context.Context, uuid string) (string, func(), error) {
	dir, err := os.MkdirTemp(s.tmp, "churn-restore-"+uuid+"-")
	if err != nil {
		return "", nil, fmt.Errorf("experiment: checkpoint %s: %w", uuid, err)
	}
	release := func() { _ = os.RemoveAll(dir) }
	if err := s.download(ctx, uuid, dir); err != nil {
		release()
		return "", nil, err
	}
	return dir, release, nil
}

func (s *s3Storage) download(ctx context.Context, uuid, dir string) error {
	prefix := s.key(uuid, "") + "/"
	n := 0
	for obj := range s.client.ListObjects(ctx, s.bucket,
		minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("experiment: checkpoint %s: list: %w", uuid, obj.Err)
		}
		rel := strings.TrimPrefix(obj.Key, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") {
			continue
		}
		clean := path.Clean(rel)
		if strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return fmt.Errorf("experiment: checkpoint %s: key %q leaves the checkpoint", uuid, obj.Key)
		}
		err := s.client.FGetObject(ctx, s.bucket, obj.Key,
			filepath.Join(dir, filepath.FromSlash(clean)), minio.GetObjectOptions{})
		if err != nil {
			return fmt.Errorf("experiment: checkpoint %s: download %s: %w", uuid, rel, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("experiment: checkpoint %s: %w in s3://%s/%s", uuid, fs.ErrNotExist,
			s.bucket, prefix)
	}
	return nil
}

// resources lists dir the way the master wants it: every file's size, and
// every sub-directory as "name/" with size 0.
func resources(dir string) (map[string]Int64, error) {
	out := map[string]Int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			out[rel+"/"] = 0
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[rel] = Int64(info.Size())
		return nil
	})
	if err != nil {
		return nil, errors.Join(errors.New("experiment: list checkpoint files"), err)
	}
	return out, nil
}
