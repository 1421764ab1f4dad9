package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// ensures `data generate` writes dataset.Generate's rows, to --out or
// stdout, the same for the same seed.
func TestDataGenerate(t *testing.T) {
	var want bytes.Buffer
	if err := dataset.Generate(&want, 50, 5); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runDatasetVerb(t, "data", "generate", "--rows", "50", "--seed", "5")
	if code != 0 || stdout != want.String() {
		t.Fatalf("data generate: exit %d, %d bytes (want %d); stderr %s",
			code, len(stdout), want.Len(), stderr)
	}
	out := filepath.Join(t.TempDir(), "gen.csv")
	for range 2 {
		code, _, stderr := runDatasetVerb(t, "data", "generate", "--rows", "50", "--seed", "5",
			"--out", out)
		if code != 0 {
			t.Fatalf("data generate --out: exit %d: %s", code, stderr)
		}
		got, err := os.ReadFile(out)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("data generate --out wrote %d bytes (%v), want the %d of Generate",
				len(got), err, want.Len())
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("data generate left %d files, want only gen.csv", len(entries))
	}
	code, _, stderr = runDatasetVerb(t, "data", "generate", "--rows", "0")
	if code == 0 || !strings.Contains(stderr, "--rows") {
		t.Errorf("data generate --rows 0: exit %d, stderr %q; want an error on --rows", code, stderr)
	}
}
