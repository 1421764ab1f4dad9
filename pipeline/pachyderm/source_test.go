package pachyderm

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/pipeline/pachyderm/pachydermtest"
	"github.com/churn-pdk/churn/trial"
)

// The names of the tutorial: the commit-pinned bucket is 78 characters,
// longer than minio-go accepts.
const (
	testRepo    = "customer-churn-data"
	testProject = "pdk-customer-churn"
	testToken   = "pach-token-0123"
)

var (
	part1 = []byte("customer,churn\n1,0\n2,1\n")
	part2 = []byte("customer,churn\n3,1\n")
)

func settings(g *pachydermtest.Gateway, commit, previous string) Settings {
	return Settings{
		Endpoint: g.URL, Repo: testRepo, Branch: "master", Project: testProject,
		Commit: commit, PreviousCommit: previous, TokenEnv: "PAC_TOKEN",
	}
}

func source() *Source {
	return &Source{Getenv: func(k string) string {
		if k == "PAC_TOKEN" {
			return testToken
		}
		return ""
	}}
}

func gets(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r, "GET ") && !strings.Contains(r, "?") {
			out = append(out, r)
		}
	}
	return out
}

// Ensures the first commit downloads every data file and the second,
// with previous_commit set, downloads only the file it added.
func TestFetchFirstAllThenOnlyNew(t *testing.T) {
	g := pachydermtest.New(t, testRepo, "master", testProject, testToken)
	c1 := g.Commit(map[string][]byte{"data_part1.csv": part1, "README.md": []byte("x")})
	if n := len(g.Bucket(c1)); n <= 63 {
		t.Fatalf("bucket name is %d characters; the test needs one over 63", n)
	}
	ctx := context.Background()
	dir := t.TempDir()
	got, err := source().Fetch(ctx, settings(g, c1, ""), dir)
	if err != nil {
		t.Fatalf("Fetch(first commit): %v", err)
	}
	if want := []string{"data_part1.csv"}; !slices.Equal(got.Keys, want) || got.Incremental {
		t.Fatalf("Fetch(first commit) keys = %v incremental %v, want %v", got.Keys, got.Incremental, want)
	}
	assertFile(t, got.Files[0], part1)

	c2 := g.Commit(map[string][]byte{"data_part2.csv": part2})
	g.ResetRequests()
	dir2 := t.TempDir()
	got, err = source().Fetch(ctx, settings(g, c2, c1), dir2)
	if err != nil {
		t.Fatalf("Fetch(second commit): %v", err)
	}
	if want := []string{"data_part2.csv"}; !slices.Equal(got.Keys, want) {
		t.Fatalf("Fetch(second commit) keys = %v, want %v", got.Keys, want)
	}
	if !got.Incremental || got.Unchanged != 1 {
		t.Errorf("Fetch(second commit) incremental %v unchanged %d, want true 1",
			got.Incremental, got.Unchanged)
	}
	assertFile(t, filepath.Join(dir2, "data_part2.csv"), part2)
	if _, err := os.Stat(filepath.Join(dir2, "data_part1.csv")); !os.IsNotExist(err) {
		t.Errorf("data_part1.csv was downloaded again (stat err %v)", err)
	}
	wantGet := []string{"GET /" + g.Bucket(c2) + "/data_part2.csv"}
	if got := gets(g.Requests()); !slices.Equal(got, wantGet) {
		t.Errorf("object GETs = %v, want %v", got, wantGet)
	}
}

// Ensures a modified file is fetched and a deleted one is not.
func TestFetchModifiedAndDeleted(t *testing.T) {
	g := pachydermtest.New(t, "churn", "master", "default", "")
	c1 := g.Commit(map[string][]byte{"a.csv": part1, "b.csv": part1, "d/c.csv": part1})
	c2 := g.Commit(map[string][]byte{"a.csv": part2, "b.csv": nil})
	s := Settings{Endpoint: g.URL, Repo: "churn", Project: "default", Commit: c2, PreviousCommit: c1}
	got, err := (&Source{}).Fetch(context.Background(), s, t.TempDir())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if want := []string{"a.csv"}; !slices.Equal(got.Keys, want) {
		t.Fatalf("Fetch keys = %v, want %v", got.Keys, want)
	}
	assertFile(t, got.Files[0], part2)
}

// Ensures a wrong token is refused and the token never shows in the error.
func TestFetchWrongToken(t *testing.T) {
	g := pachydermtest.New(t, testRepo, "master", testProject, testToken)
	c1 := g.Commit(map[string][]byte{"data_part1.csv": part1})
	src := &Source{Getenv: func(string) string { return "not-the-token" }}
	_, err := src.Fetch(context.Background(), settings(g, c1, ""), t.TempDir())
	if err == nil {
		t.Fatal("Fetch with a wrong token succeeded")
	}
	if strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("error shows the token: %v", err)
	}
}

// Ensures whole mounted files are read in place and empty_files
// placeholders are downloaded instead.
func TestFetchMount(t *testing.T) {
	g := pachydermtest.New(t, "churn", "master", "default", "")
	c1 := g.Commit(map[string][]byte{"a.csv": part1, "b.csv": part2})
	mount := t.TempDir()
	if err := os.WriteFile(filepath.Join(mount, "a.csv"), part1, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mount, "b.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := Settings{Endpoint: g.URL, Repo: "churn", Project: "default", Commit: c1, Mount: mount}
	got, err := (&Source{}).Fetch(context.Background(), s, dir)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := []string{filepath.Join(mount, "a.csv"), filepath.Join(dir, "b.csv")}
	if !slices.Equal(got.Files, want) {
		t.Fatalf("Fetch files = %v, want %v", got.Files, want)
	}
	assertFile(t, got.Files[1], part2)
}

// Ensures settings are checked field by field.
func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"repo": "r"}, "endpoint: required"},
		{map[string]any{"repo": "r", "endpoint": "h:1", "commit": "abc"}, "32 lowercase hex"},
		{map[string]any{"endpoint": "h:1"}, "repo is required"},
		{map[string]any{"repo": "r", "mount": "/pfs/x", "previous_commit": strings.Repeat("a", 32)},
			"needs the gateway endpoint"},
		{map[string]any{"repo": "r", "endpoint": "h:1", "token": "secret"}, `unknown field "token"`},
		{map[string]any{"repo": "r", "endpoint": "h:1", "pattern": "["}, "pattern"},
	} {
		_, err := ParseSettings(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSettings(%v) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	s := Settings{Endpoint: "h:1", Repo: "r", Commit: strings.Repeat("b", 32), TokenEnv: "PAC_TOKEN"}
	back, err := ParseSettings(s.Map())
	if err != nil || back != s {
		t.Errorf("ParseSettings(Map()) = %+v, %v; want %+v", back, err, s)
	}
}

// Ensures bucket names follow the gateway's naming.
func TestCommitBucket(t *testing.T) {
	id := strings.Repeat("0a", 16)
	for _, tc := range []struct {
		c    Commit
		want string
	}{
		{Commit{ID: id, Branch: "master", Repo: "data", Project: "proj"}, id + ".master.data.proj"},
		{Commit{ID: id, Repo: "data"}, id + ".master.data"},
		{Commit{Branch: "dev", Repo: "data", Project: "p"}, "dev.data.p"},
	} {
		if got := tc.c.Bucket(); got != tc.want {
			t.Errorf("%+v.Bucket() = %q, want %q", tc.c, got, tc.want)
		}
	}
}

// Ensures Compare classifies by content hash and size, not by time.
func TestCompare(t *testing.T) {
	old := []Object{{"a", 1, "x"}, {"b", 2, "y"}, {"c", 3, "z"}}
	cur := []Object{{"a", 1, "x"}, {"b", 2, "y2"}, {"d", 4, "w"}, {"c", 5, "z"}}
	d := Compare(old, cur)
	if len(d.Added) != 1 || d.Added[0].Key != "d" {
		t.Errorf("Added = %v, want [d]", d.Added)
	}
	if len(d.Modified) != 2 || d.Modified[0].Key != "b" || d.Modified[1].Key != "c" {
		t.Errorf("Modified = %v, want [b c]", d.Modified)
	}
	if len(d.Deleted) != 0 {
		t.Errorf("Deleted = %v, want none", d.Deleted)
	}
	if d := Compare(cur, old); len(d.Deleted) != 1 || d.Deleted[0].Key != "d" {
		t.Errorf("Compare(cur, old).Deleted = %v, want [d]", d.Deleted)
	}
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// Ensures the trial data source opens the fetched files in key order and
// reports trial.ErrNoData when nothing changed.
func TestDataSourceOpen(t *testing.T) {
	g := pachydermtest.New(t, "churn", "master", "default", "")
	c1 := g.Commit(map[string][]byte{"b.csv": part2, "a.csv": part1})
	cfg := trial.DataConfig{Source: trial.SourcePachyderm, Pachyderm: map[string]any{
		"endpoint": g.URL, "repo": "churn", "project": "default", "commit": c1,
	}}
	ds, err := NewDataSource(cfg, nil)
	if err != nil {
		t.Fatalf("NewDataSource: %v", err)
	}
	ds.TempDir = t.TempDir()
	srcs, release, err := ds.Open(context.Background())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var got []string
	for _, s := range srcs {
		b, err := io.ReadAll(s.R)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.Name+"="+string(b))
	}
	release()
	name := "default/churn@master=" + c1 + ":/"
	want := []string{name + "a.csv=" + string(part1), name + "b.csv=" + string(part2)}
	if !slices.Equal(got, want) {
		t.Errorf("Open read %q, want %q", got, want)
	}
	if left, _ := os.ReadDir(ds.TempDir); len(left) != 0 {
		t.Errorf("release left %d download directories", len(left))
	}

	c2 := g.Commit(map[string][]byte{"notes.txt": []byte("no data")})
	cfg.Pachyderm["commit"], cfg.Pachyderm["previous_commit"] = c2, c1
	ds, err = NewDataSource(cfg, nil)
	if err != nil {
		t.Fatalf("NewDataSource: %v", err)
	}
	if _, _, err := ds.Open(context.Background()); !errors.Is(err, trial.ErrNoData) {
		t.Errorf("Open with nothing changed = %v, want trial.ErrNoData", err)
	}
}
