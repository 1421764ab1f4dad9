package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/churn-pdk/churn/experiment"
)

// storeMaxRetries is how many times the model store client sends a request.
const storeMaxRetries = 5

// StorePFS is the model store that serves the model files straight from
// the training pipeline's output commit through the S3 gateway.
const StorePFS = "pfs"

// StoreLocation is where the deploy step puts the model files: the
// training output commit (Scheme "pfs") or a bucket (Scheme "s3" or "gs"),
// under Prefix.
type StoreLocation struct {
	Scheme string
	Bucket string
	Prefix string
}

// ParseStoreLocation reads --model-store: "pfs" (or ""), s3://bucket[/prefix]
// or gs://bucket[/prefix].
func ParseStoreLocation(s string) (StoreLocation, error) {
	if s == "" || s == StorePFS {
		return StoreLocation{Scheme: StorePFS}, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "s3" && u.Scheme != "gs") || u.Host == "" {
		return StoreLocation{}, fmt.Errorf("pipeline: --model-store %q: want %q, "+
			"s3://bucket[/prefix] or gs://bucket[/prefix]", s, StorePFS)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return StoreLocation{}, fmt.Errorf("pipeline: --model-store %q: only bucket and prefix "+
			"are allowed", s)
	}
	return StoreLocation{Scheme: u.Scheme, Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}, nil
}

// URI is the storage URI of key under the location.
func (l StoreLocation) URI(key string) string {
	return l.Scheme + "://" + l.Bucket + "/" + path.Join(l.Prefix, key)
}

// ObjectStore is what the deploy step needs from a bucket store;
// *minio.Client implements it.
type ObjectStore interface {
	// FPutObject uploads the local file to bucket/key.
	FPutObject(ctx context.Context, bucket, key, file string, opts minio.PutObjectOptions) (
		minio.UploadInfo, error)
	// StatObject reads an object's size, ETag and user metadata.
	StatObject(ctx context.Context, bucket, key string, opts minio.StatObjectOptions) (
		minio.ObjectInfo, error)
	// ListObjects lists the objects under opts.Prefix.
	ListObjects(ctx context.Context, bucket string,
		opts minio.ListObjectsOptions) <-chan minio.ObjectInfo
	// RemoveObject deletes bucket/key (pruning old model versions).
	RemoveObject(ctx context.Context, bucket, key string, opts minio.RemoveObjectOptions) error
}

var _ ObjectStore = (*minio.Client)(nil)

// S3StoreConfig says how to reach a bucket store.
type S3StoreConfig struct {
	// Endpoint is host[:port] or a URL; "" means the scheme's public
	// service (s3.amazonaws.com, or storage.googleapis.com for gs through
	// its S3-compatible API with HMAC keys).
	Endpoint string
	// Scheme is the location's scheme, "s3" or "gs".
	Scheme string
	// AccessKey and SecretKey are the credentials; an empty AccessKey
	// means $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY, else the node's or
	// workload's IAM role.
	AccessKey string
	SecretKey experiment.Secret
	// Region is the bucket's region; "" lets the client ask.
	Region string
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// NewS3Store returns a minio-go client for cfg.
func NewS3Store(cfg S3StoreConfig) (*minio.Client, error) {
	ep := cfg.Endpoint
	if ep == "" {
		ep = "https://s3.amazonaws.com"
		if cfg.Scheme == "gs" {
			ep = "https://storage.googleapis.com"
		}
	}
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("pipeline: --store-endpoint %q: want host[:port] or a URL", cfg.Endpoint)
	}
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey.Reveal(), "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.IAM{},
		})
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:     creds,
		Secure:    u.Scheme == "https",
		Region:    cfg.Region,
		Transport: cfg.Transport,
		// Each request (stat, list, upload of a file: a seekable body) is
		// sent up to this many times on connection errors and on 408,
		// 429, 499, 5xx, with jittered backoff from 200ms capped at 1s.
		MaxRetries: storeMaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: model store %s: %w", u.Host, err)
	}
	return c, nil
}

// sameFiles reports the first difference between two directory trees
// ("" when they hold the same files with the same bytes).
func sameFiles(a, b string) (string, error) {
	ha, err := treeHashes(a)
	if err != nil {
		return "", err
	}
	hb, err := treeHashes(b)
	if err != nil {
		return "", err
	}
	for k, v := range ha {
		w, ok := hb[k]
		switch {
		case !ok:
			return fmt.Sprintf("%s is only in %s", k, a), nil
		case v != w:
			return fmt.Sprintf("%s differs", k), nil
		}
	}
	for k := range hb {
		if _, ok := ha[k]; !ok {
			return fmt.Sprintf("%s is only in %s", k, b), nil
		}
	}
	return "", nil
}

// treeHashes maps each regular file under dir to its sha256.
func treeHashes(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		sum, err := fileSHA256(p)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return out, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return hashReader(f)
}
