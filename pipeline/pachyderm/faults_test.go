package pachyderm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/pipeline/pachyderm/pachydermtest"
)

// faultGateway is a gateway holding one commit of the tutorial's repo
// (a commit-pinned bucket over 63 characters) and a client for it that
// retries quickly.
func faultGateway(t *testing.T, attempts int) (*pachydermtest.Gateway, *Gateway, Commit, []byte) {
	t.Helper()
	g := pachydermtest.New(t, testRepo, "master", testProject, testToken)
	body := []byte(strings.Repeat("customer,churn\n1,0\n", 4000))
	id := g.Commit(map[string][]byte{"data_part1.csv": body})
	gw, err := NewGateway(GatewayConfig{Endpoint: g.URL, Token: experiment.NewSecret(testToken),
		DownloadAttempts: attempts, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return g, gw, Commit{ID: id, Branch: "master", Repo: testRepo, Project: testProject}, body
}

// onlyFile fails unless dir holds exactly the file name: no temporary
// leftovers.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{name}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %v, want %v", dir, names, want)
	}
}

// Ensures bursts of 503s, connections reset before an answer and bodies
// cut off half-way, on listing and download alike, are retried and the
// file arrives whole.
func TestGatewayRetriesFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		kind   pachydermtest.Fault
		n      int
	}{
		{"503 burst on get", "GET /%s/data_part1.csv", pachydermtest.Fault503, 3},
		{"503 burst on list", "GET /%s/?", pachydermtest.Fault503, 3},
		{"reset on get", "GET /%s/data_part1.csv", pachydermtest.FaultReset, 2},
		{"body cut on get", "GET /%s/data_part1.csv", pachydermtest.FaultDrop, 2},
		{"body cut on list", "GET /%s/?", pachydermtest.FaultDrop, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, gw, c, body := faultGateway(t, 3)
			g.Inject(strings.Replace(tc.prefix, "%s", c.Bucket(), 1), tc.kind, tc.n)
			ctx := context.Background()
			objs, err := gw.List(ctx, c)
			if err != nil || len(objs) != 1 || objs[0].Size != int64(len(body)) {
				t.Fatalf("List = %+v, %v; want the one file", objs, err)
			}
			dir := t.TempDir()
			p := filepath.Join(dir, "data_part1.csv")
			if err := gw.Download(ctx, c, objs[0], p); err != nil {
				t.Fatalf("Download: %v", err)
			}
			if fired := g.Injected(); fired != tc.n {
				t.Errorf("%d faults fired, want %d", fired, tc.n)
			}
			assertFile(t, p, body)
			onlyFile(t, dir, "data_part1.csv")
		})
	}
}

// Ensures a download that keeps breaking off fails naming the bucket and
// key, without the token, and leaves no file, whole or partial.
func TestGatewayPartialDownloadNeverCounts(t *testing.T) {
	g, gw, c, _ := faultGateway(t, 2)
	ctx := context.Background()
	objs, err := gw.List(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	g.Inject("GET /"+c.Bucket()+"/data_part1.csv", pachydermtest.FaultDrop, 2)
	dir := t.TempDir()
	p := filepath.Join(dir, "data_part1.csv")
	err = gw.Download(ctx, c, objs[0], p)
	want := "s3://" + c.Bucket() + "/data_part1.csv"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), testToken) {
		t.Fatalf("Download = %v, want an error naming %s and not the token", err, want)
	}
	if fired := g.Injected(); fired != 2 {
		t.Errorf("%d attempts, want 2", fired)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed download left %d files", len(entries))
	}

	// A file whose content no longer matches its listing is not retried.
	stale := objs[0]
	stale.ETag = "0123"
	err = gw.Download(ctx, c, stale, p)
	if err == nil || !strings.Contains(err.Error(), "changed since it was listed") {
		t.Errorf("Download(stale listing) = %v, want a changed-object error", err)
	}
	short := objs[0]
	short.Size++
	if err := gw.Download(ctx, c, short, p); err == nil ||
		!strings.Contains(err.Error(), "listed size") {
		t.Errorf("Download(size mismatch) = %v, want a size error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed downloads left %d files", len(entries))
	}
}

// Ensures a refused token is not retried and the error names the bucket,
// not the token.
func TestGatewayAuthFailure(t *testing.T) {
	g, _, c, _ := faultGateway(t, 3)
	gw, err := NewGateway(GatewayConfig{Endpoint: g.URL,
		Token: experiment.NewSecret("wrong-SECRET-token"), RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.ResetRequests()
	_, err = gw.List(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "s3://"+c.Bucket()+"/") ||
		!strings.Contains(err.Error(), "Access Denied") ||
		strings.Contains(err.Error(), "wrong-SECRET-token") {
		t.Fatalf("List = %v, want Access Denied naming the bucket, without the token", err)
	}
	if n := len(g.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (a 403 is not retried)", n)
	}
}
