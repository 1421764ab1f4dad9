package pipeline

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
)

// metaSHA256 is the user metadata key recording an uploaded file's
// sha256, so that a later deploy can recognise the same bytes whatever
// ETag the store computes.
const metaSHA256 = "Churn-Sha256"

// ErrWouldOverwrite means a model store location already holds different
// bytes under a key the deploy step would write: it never replaces an
// object, since a running service may be reading it.
var ErrWouldOverwrite = errors.New("pipeline: model store: location holds different files")

// localFile is one file of a checkpoint directory to publish.
type localFile struct {
	rel, path string
	size      int64
	sha, md5  string
}

// publishDir makes the files under dir readable at loc's bucket under
// <prefix>/<sub>/ and returns that directory's storage URI. It writes
// only keys that do not exist yet: an existing object with the same bytes
// (a retried deploy) is kept, one with other bytes fails with
// ErrWouldOverwrite. It then checks the location holds exactly dir's
// files, with their sizes and hashes.
func publishDir(ctx context.Context, s ObjectStore, loc StoreLocation, sub, dir string,
	log *slog.Logger) (string, error) {
	files, err := localFiles(dir)
	if err != nil {
		return "", fmt.Errorf("pipeline: model store: %w", err)
	}
	base := path.Join(loc.Prefix, sub)
	uploaded := 0
	for _, f := range files {
		key := path.Join(base, f.rel)
		fresh, err := putIfAbsent(ctx, s, loc.Bucket, key, f)
		if err != nil {
			return "", fmt.Errorf("pipeline: model store: s3://%s/%s: %w", loc.Bucket, key, err)
		}
		if fresh {
			uploaded++
		}
		log.Debug("model file in place", "key", key, "size", f.size, "uploaded", fresh)
	}
	if err := verifyDir(ctx, s, loc.Bucket, base, files); err != nil {
		return "", err
	}
	log.Info("model files in place", "uri", loc.URI(sub), "files", len(files),
		"uploaded", uploaded, "kept", len(files)-uploaded)
	return loc.URI(sub), nil
}

// putIfAbsent uploads f to key unless the key exists; it reports whether
// it uploaded.
func putIfAbsent(ctx context.Context, s ObjectStore, bucket, key string, f localFile) (
	bool, error) {
	st, err := s.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err == nil {
		if !sameObject(st, f) {
			return false, fmt.Errorf("%w: size %d etag %q, want the %d bytes of %s",
				ErrWouldOverwrite, st.Size, st.ETag, f.size, f.rel)
		}
		return false, nil
	}
	if !isNotFound(err) {
		return false, fmt.Errorf("stat: %w", err)
	}
	_, err = s.FPutObject(ctx, bucket, key, f.path, minio.PutObjectOptions{
		ContentType: "application/octet-stream", UserMetadata: map[string]string{metaSHA256: f.sha},
	})
	if err != nil {
		return false, fmt.Errorf("upload %s: %w", f.rel, err)
	}
	return true, nil
}

// verifyDir checks that the objects under base are exactly files, each
// with its size and hash.
func verifyDir(ctx context.Context, s ObjectStore, bucket, base string, files []localFile) error {
	want := make(map[string]localFile, len(files))
	for _, f := range files {
		want[path.Join(base, f.rel)] = f
	}
	seen := 0
	opts := minio.ListObjectsOptions{Prefix: base + "/", Recursive: true}
	for o := range s.ListObjects(ctx, bucket, opts) {
		if o.Err != nil {
			return fmt.Errorf("pipeline: model store: verify s3://%s/%s/: %w", bucket, base, o.Err)
		}
		f, ok := want[o.Key]
		if !ok {
			return fmt.Errorf("pipeline: model store: verify s3://%s/%s/: %w: unexpected %s",
				bucket, base, ErrWouldOverwrite, o.Key)
		}
		st, err := s.StatObject(ctx, bucket, o.Key, minio.StatObjectOptions{})
		if err != nil {
			return fmt.Errorf("pipeline: model store: verify s3://%s/%s: %w", bucket, o.Key, err)
		}
		if !sameObject(st, f) {
			return fmt.Errorf("pipeline: model store: verify s3://%s/%s: size %d etag %q "+
				"do not match the checkpoint's %s", bucket, o.Key, st.Size, st.ETag, f.rel)
		}
		seen++
	}
	if seen != len(files) {
		return fmt.Errorf("pipeline: model store: verify s3://%s/%s/: %d of %d files listed",
			bucket, base, seen, len(files))
	}
	return nil
}

// sameObject reports whether a stored object holds f's bytes: same size
// and the sha256 recorded at upload, or, for objects without it, a plain
// (single-part) MD5 ETag equal to f's.
func sameObject(st minio.ObjectInfo, f localFile) bool {
	if st.Size != f.size {
		return false
	}
	for k, v := range st.UserMetadata {
		if strings.EqualFold(k, metaSHA256) {
			return v == f.sha
		}
	}
	return strings.EqualFold(strings.Trim(st.ETag, `"`), f.md5)
}

// isNotFound reports whether a store error says the object is missing.
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey"
}

// localFiles lists the regular files under dir with their hashes, by path.
func localFiles(dir string) ([]localFile, error) {
	var out []localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f := localFile{rel: filepath.ToSlash(rel), path: p}
		f.size, f.sha, f.md5, err = fileDigests(p)
		out = append(out, f)
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, err
}

// fileDigests returns a file's size, sha256 and MD5 (hex).
func fileDigests(p string) (int64, string, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", "", err
	}
	defer f.Close()
	s, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(s, m), f)
	return n, hex.EncodeToString(s.Sum(nil)), hex.EncodeToString(m.Sum(nil)), err
}
