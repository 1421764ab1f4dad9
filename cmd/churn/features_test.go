package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// runDatasetVerb runs one command line and returns its exit code and streams.
func runDatasetVerb(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// ensures `features infer` writes the spec dataset.Infer fits, to stdout
// or to --out, and reports dropped columns.
func TestFeaturesInfer(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "in.csv")
	text := "id,age,plan,churn\na,30,pro,1\nb,41,basic,0\nc,25,pro,0\nd,60,basic,1\n" +
		"e,33,pro,0\nf,NA,basic,1\n"
	if err := os.WriteFile(csv, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, _, err := dataset.Infer(dataset.InferOptions{Label: "churn", Positive: "1",
		TestSize: 0.25, Seed: 9, MaxCategories: 3},
		dataset.Source{Name: csv, R: strings.NewReader(text)})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := spec.Encode(&want); err != nil {
		t.Fatal(err)
	}
	args := []string{"features", "infer", "--label", "churn", "--positive", "1",
		"--test-size", "0.25", "--seed", "9", "--max-categories", "3"}
	code, stdout, stderr := runDatasetVerb(t, append(args, csv)...)
	if code != 0 || stdout != want.String() {
		t.Fatalf("features infer: exit %d, stdout\n%s\nwant\n%s\nstderr %s",
			code, stdout, want.String(), stderr)
	}
	if !strings.Contains(stderr, "column=id") {
		t.Errorf("features infer: stderr does not report the dropped id column:\n%s", stderr)
	}
	out := filepath.Join(dir, "features.json")
	if code, _, stderr := runDatasetVerb(t, append(args, "--out", out, csv)...); code != 0 {
		t.Fatalf("features infer --out: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want.String() {
		t.Errorf("features infer --out wrote %q (%v), want %q", got, err, want.String())
	}
}

// ensures bad command lines and bad files fail with a message saying why.
func TestFeaturesInferErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("x,churn\n1,1\n2,0\n3,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"--label", "churn", "--positive", "1"}, "at least one CSV"},
		{"no label", []string{"--positive", "1", bad}, "--label"},
		{"no positive", []string{"--label", "churn", bad}, "--positive"},
		{"test size", []string{"--label", "churn", "--positive", "1", "--test-size", "1", bad},
			"--test-size"},
		{"third label value", []string{"--label", "churn", "--positive", "1", bad},
			bad + ":4: column \"churn\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runDatasetVerb(t, append([]string{"features", "infer"}, tt.args...)...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tt.want)
			}
		})
	}
}
