package pachyderm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/churn-pdk/churn/experiment"
)

// anonymousKey is the access and secret key sent when auth is off: the
// gateway then accepts any pair whose two halves are equal.
const anonymousKey = "churn"

// region is sent with every request; the gateway accepts any region, and
// naming one spares minio-go a GetBucketLocation round trip.
const region = "us-east-1"

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// GatewayConfig says how to reach the S3 gateway.
type GatewayConfig struct {
	// Endpoint is the gateway's address: a URL (http://pachd.ns:30600) or
	// host:port, which means plain http. Required.
	Endpoint string
	// Token is the Pachyderm token, used as access and secret key when
	// auth is on; empty means auth is off.
	Token experiment.Secret
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives debug lines; nil discards them.
	Logger *slog.Logger
	// MaxRetries is how many times minio-go sends one request that met a
	// connection error or a retryable status (408, 429, 499, 500, 502,
	// 503, 504, 520), with jittered backoff from 200ms capped at 1s; 0
	// means DefaultMaxRetries.
	MaxRetries int
	// DownloadAttempts is how many times a download that broke off after
	// its response began (a dropped connection, a short body) starts over;
	// 0 means DefaultDownloadAttempts.
	DownloadAttempts int
	// RetryDelay is the wait before the second download attempt, doubled
	// for each later one; 0 means DefaultRetryDelay.
	RetryDelay time.Duration
}

// Retry defaults of GatewayConfig.
const (
	DefaultMaxRetries       = 5
	DefaultDownloadAttempts = 4
	DefaultRetryDelay       = 500 * time.Millisecond
)

// Gateway reads commits through Pachyderm's S3 gateway with minio-go.
//
// Commit-pinned bucket names (<commit>.<branch>.<repo>.<project>) often
// pass the 63 characters that minio-go allows, so the client only ever
// sees a short alias; the transport puts the real name back into the path
// and signs the request itself. Listing uses ListObjects V1, the only
// version the gateway implements.
type Gateway struct {
	client   *minio.Client
	tr       *aliasTransport
	log      *slog.Logger
	attempts int
	delay    time.Duration
}

// NewGateway returns a Gateway for cfg.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	u, err := endpointURL(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	key := anonymousKey
	if !cfg.Token.Empty() {
		key = cfg.Token.Reveal()
	}
	tr := &aliasTransport{base: base, key: key, aliases: map[string]string{}}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4("", "", ""),
		Secure:       u.Scheme == "https",
		Transport:    tr,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   orDefault(cfg.MaxRetries, DefaultMaxRetries),
	})
	if err != nil {
		return nil, fmt.Errorf("pachyderm: gateway %s: %w", u.Host, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Gateway{client: client, tr: tr, log: log,
		attempts: orDefault(cfg.DownloadAttempts, DefaultDownloadAttempts),
		delay:    orDefault(cfg.RetryDelay, DefaultRetryDelay)}, nil
}

// orDefault returns v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// endpointURL parses a gateway address.
func endpointURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("pachyderm: gateway endpoint is required")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("pachyderm: gateway endpoint %q: want http(s)://host:port", s)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("pachyderm: gateway endpoint %q: must not have a path", s)
	}
	return u, nil
}

// Object is one file of a commit as the gateway lists it.
type Object struct {
	// Key is the file's path without the leading slash.
	Key string
	// Size is the file's length in bytes.
	Size int64
	// ETag is Pachyderm's content hash of the file (not an MD5); compare
	// it only for equality.
	ETag string
}

// List returns every file of commit c, sorted by key. A listing that
// breaks off is started over, like a download.
func (g *Gateway) List(ctx context.Context, c Commit) ([]Object, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	where := fmt.Sprintf("s3://%s/ (%s)", c.Bucket(), c)
	var objs []Object
	err := g.retry(ctx, where, func() (err error) {
		objs, err = g.list(ctx, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pachyderm: list %s: %w", where, err)
	}
	g.log.Debug("listed commit", "commit", c.String(), "files", len(objs))
	return objs, nil
}

// list makes one attempt at List.
func (g *Gateway) list(ctx context.Context, c Commit) ([]Object, error) {
	opts := minio.ListObjectsOptions{Recursive: true, UseV1: true}
	var objs []Object
	for info := range g.client.ListObjects(ctx, g.tr.alias(c.Bucket()), opts) {
		if info.Err != nil {
			return nil, info.Err
		}
		if strings.HasSuffix(info.Key, "/") {
			continue
		}
		objs = append(objs, Object{Key: info.Key, Size: info.Size, ETag: info.ETag})
	}
	return objs, nil
}

// Download writes file o of commit c to path, through a temporary file in
// the same directory, so that path is either whole or absent. The copy
// must have o's size, and the object read must carry o's ETag (the file
// did not change since it was listed); a failed or short read is retried
// from the start up to the configured attempts. Errors name the bucket
// and key.
func (g *Gateway) Download(ctx context.Context, c Commit, o Object, path string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	where := fmt.Sprintf("s3://%s/%s (%s)", c.Bucket(), o.Key, c)
	err := g.retry(ctx, where, func() error { return g.download(ctx, c, o, path) })
	if err != nil {
		return fmt.Errorf("pachyderm: get %s: %w", where, err)
	}
	return nil
}

// retry runs f up to the configured attempts, waiting RetryDelay,
// doubled each time, between them. An errChanged or a cancelled context
// ends it at once.
func (g *Gateway) retry(ctx context.Context, what string, f func() error) error {
	var err error
	for try := 1; ; try++ {
		if err = f(); err == nil || errors.Is(err, errChanged) || ctx.Err() != nil ||
			try >= g.attempts || !retryable(err) {
			return err
		}
		g.log.Debug("gateway read failed; retrying", "object", what, "attempt", try,
			"error", err.Error())
		select {
		case <-ctx.Done():
			return err
		case <-time.After(g.delay * time.Duration(1<<(try-1))):
		}
	}
}

// retryable reports whether starting a read over may help: not when the
// gateway answered with a client error (no such key or bucket, access
// denied), which minio-go has already not retried.
func retryable(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == 0 || r.StatusCode >= 500 || r.StatusCode == 408 || r.StatusCode == 429
}

// errChanged means an object is not the one listed: retrying cannot help.
var errChanged = errors.New("object changed since it was listed")

// download makes one attempt at Download.
func (g *Gateway) download(ctx context.Context, c Commit, o Object, path string) error {
	obj, err := g.client.GetObject(ctx, g.tr.alias(c.Bucket()), o.Key, minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	st, err := obj.Stat()
	if err != nil {
		return err
	}
	if o.ETag != "" && st.ETag != o.ETag {
		return fmt.Errorf("%w: etag %q, listed %q", errChanged, st.ETag, o.ETag)
	}
	return writeFileAtomic(path, obj, o.Size)
}

// writeFileAtomic copies r into path through a temporary sibling; the
// copy must be exactly size bytes.
func writeFileAtomic(path string, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".download-*")
	if err != nil {
		return err
	}
	n, err := io.Copy(tmp, r)
	if err == nil && n != size {
		err = fmt.Errorf("read %d bytes, listed size %d", n, size)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// aliasTransport maps short bucket aliases back to real bucket names and
// signs each request (SigV4) after the rewrite, so that the signature
// covers the path the gateway sees.
type aliasTransport struct {
	base http.RoundTripper
	// key is both access and secret key.
	key string
	// mu guards aliases.
	mu      sync.Mutex
	aliases map[string]string
}

// alias returns the short name the minio client uses for bucket.
func (t *aliasTransport) alias(bucket string) string {
	sum := sha256.Sum256([]byte(bucket))
	a := "pfs-" + hex.EncodeToString(sum[:12])
	t.mu.Lock()
	t.aliases[a] = bucket
	t.mu.Unlock()
	return a
}

// RoundTrip implements http.RoundTripper.
func (t *aliasTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	first, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	t.mu.Lock()
	bucket, ok := t.aliases[first]
	t.mu.Unlock()
	if ok {
		p := "/" + bucket
		if rest != "" || strings.HasSuffix(r.URL.Path, "/") {
			p += "/" + rest
		}
		r.URL.Path = p
		r.URL.RawPath = s3utils.EncodePath(p)
	}
	if r.Body == nil || r.ContentLength == 0 {
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	} else {
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	}
	r.Header.Del("Authorization")
	r = signer.SignV4(*r, t.key, t.key, "", region)
	return t.base.RoundTrip(r)
}
