// Package pachydermtest runs a real S3 server (gofakes3, in memory) on
// loopback laid out the way Pachyderm's S3 gateway lays out a repo: one
// bucket per commit, <commit>.<branch>.<repo>.<project>, holding the whole
// file tree of that commit, plus the branch bucket <branch>.<repo>.<project>
// for the head. It also checks the gateway's quirks on every request: a
// listing must be V1, and requests must carry a valid SigV4 signature
// (checked independently of minio-go) whose access and secret key are the
// token.
package pachydermtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Gateway is a fake S3 gateway for one repo.
type Gateway struct {
	// URL is the endpoint (http://127.0.0.1:port).
	URL string

	t       testing.TB
	backend *s3mem.Backend
	repo    string
	branch  string
	project string
	// token is the access key requests must be signed with ("" = any).
	token string

	// mu guards the fields below.
	mu       sync.Mutex
	files    map[string][]byte
	commits  []string
	requests []string
	faults   []*injected
	fired    int
}

// New starts a gateway for repo@branch in project, closed when t ends.
// Requests must be signed with access key token, or any key when token is
// empty.
func New(t testing.TB, repo, branch, project, token string) *Gateway {
	t.Helper()
	g := &Gateway{
		t: t, backend: s3mem.New(), repo: repo, branch: branch, project: project,
		token: token, files: map[string][]byte{},
	}
	faker := gofakes3.New(g.backend)
	srv := httptest.NewServer(g.check(faker.Server()))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

// check enforces the gateway's protocol before the S3 server answers.
func (g *Gateway) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())
		g.mu.Unlock()
		if r.URL.Query().Get("list-type") == "2" {
			g.t.Errorf("pachydermtest: %s: ListObjectsV2 is not implemented by the gateway",
				r.URL.RequestURI())
		}
		key, err := checkSigV4(r)
		if err != nil {
			g.t.Errorf("pachydermtest: %s %s: %v", r.Method, r.URL.RequestURI(), err)
			http.Error(w, "signature mismatch", http.StatusForbidden)
			return
		}
		if g.token != "" && key != g.token {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?>`+
				`<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		if kind, ok := g.takeFault(r); ok {
			g.fail(w, r, kind, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Commit applies changes (path -> content; nil content deletes the file)
// to the branch and returns the new commit's ID.
func (g *Gateway) Commit(changes map[string][]byte) string {
	g.t.Helper()
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		g.t.Fatal(err)
	}
	id := hex.EncodeToString(raw[:])
	g.mu.Lock()
	for k, v := range changes {
		if v == nil {
			delete(g.files, k)
		} else {
			g.files[k] = v
		}
	}
	tree := maps.Clone(g.files)
	g.commits = append(g.commits, id)
	g.mu.Unlock()
	// As on the gateway, every file carries the commit's finishing time.
	finished := time.Now().UTC().Format(http.TimeFormat)
	g.fill(g.Bucket(id), tree, finished)
	head := g.Bucket("")
	if old := keys(g.backend, head); len(old) > 0 {
		if _, err := g.backend.DeleteMulti(head, old...); err != nil {
			g.t.Fatalf("pachydermtest: clear %s: %v", head, err)
		}
	}
	g.fill(head, tree, finished)
	return id
}

// Bucket is the bucket of commit id, or of the branch head when id is "".
func (g *Gateway) Bucket(id string) string {
	name := g.branch + "." + g.repo + "." + g.project
	if id != "" {
		name = id + "." + name
	}
	return name
}

// Requests returns "METHOD URI" of every request so far.
func (g *Gateway) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// ResetRequests forgets the requests so far.
func (g *Gateway) ResetRequests() {
	g.mu.Lock()
	g.requests = nil
	g.mu.Unlock()
}

// fill creates bucket (if new) and puts tree into it.
func (g *Gateway) fill(bucket string, tree map[string][]byte, modified string) {
	g.t.Helper()
	if ok, _ := g.backend.BucketExists(bucket); !ok {
		if err := g.backend.CreateBucket(bucket); err != nil {
			g.t.Fatalf("pachydermtest: create bucket %s: %v", bucket, err)
		}
	}
	for k, v := range tree {
		_, err := g.backend.PutObject(bucket, k, map[string]string{"Last-Modified": modified},
			bytes.NewReader(v), int64(len(v)), nil)
		if err != nil {
			g.t.Fatalf("pachydermtest: put %s/%s: %v", bucket, k, err)
		}
	}
}

func keys(b *s3mem.Backend, bucket string) []string {
	list, err := b.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range list.Contents {
		out = append(out, c.Key)
	}
	return out
}
