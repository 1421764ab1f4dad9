package trial

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// genCSV writes rows synthetic rows of the original schema (dataset's
// generator, seeded) to a file in dir and returns its path.
func genCSV(t testing.TB, dir string, rows int, seed int64) string {
	t.Helper()
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, rows, seed); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("gen-%d-%d.csv", rows, seed))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// smallConfig is a config of batches batches of batchSize rows, validating
// every period batches.
func smallConfig(t testing.TB, batches, batchSize, period int) *Config {
	t.Helper()
	doc := fmt.Sprintf(`
name: small
hyperparameters: {global_batch_size: %d, random_seed: 42, test_size: 0.2,
  lr: 0.001, dense1: 8}
searcher: {name: single, metric: val_acc, smaller_is_better: false,
  max_length: {batches: %d}}
min_validation_period: {batches: %d}
`, batchSize, batches, period)
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return c
}

// runLocal trains cfg on files in a new run directory under parent.
func runLocal(t testing.TB, ctx context.Context, runDir string, cfg *Config,
	opts *LocalOptions, s Settings) (*Local, *Result, error) {
	t.Helper()
	l, err := NewLocal(runDir, cfg, opts)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	res, err := Run(ctx, l, &s)
	if err != nil {
		if aerr := l.Abort(); aerr != nil {
			t.Errorf("Abort: %v", aerr)
		}
		return l, res, err
	}
	if ferr := l.Finish(res); ferr != nil {
		t.Fatalf("Finish: %v", ferr)
	}
	return l, res, nil
}
