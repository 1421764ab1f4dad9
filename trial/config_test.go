package trial

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ensures the shipped experiment config loads with the original recipe.
func TestLoadConfigConst(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "experiment", "const.yaml"))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	hp, err := c.Hparams()
	if err != nil {
		t.Fatalf("Hparams: %v", err)
	}
	want := Hyperparameters{GlobalBatchSize: 512, RandomSeed: 42, TestSize: 0.2,
		LR: 0.0001, Dense1: 32}
	if hp != want {
		t.Errorf("Hparams = %+v, want %+v", hp, want)
	}
	if c.Name != "churn" || c.Searcher.Name != "single" || c.Searcher.Metric != "val_acc" ||
		c.Searcher.SmallerIsBetter || c.Searcher.MaxLength.Batches != 1000 ||
		c.MinValidationPeriod.Batches != 100 || c.Data.Source != SourceLocal {
		t.Errorf("LoadConfig = %+v", c)
	}
	if c.Raw["max_restarts"] != float64(0) {
		t.Errorf("Raw[max_restarts] = %v, want 0", c.Raw["max_restarts"])
	}
}

const minimal = `
hyperparameters:
  global_batch_size: {type: const, val: 64}
  random_seed: 7
  test_size: 0.25
  lr: {type: const, val: 0.01}
  dense1: 8
searcher: {name: single, metric: auc, max_length: 200}
data: {files: [a.csv, /abs/b.csv], features: spec.json}
`

// ensures JSON, bare lengths, const hyperparameters and relative data
// paths are read as documented.
func TestLoadConfigForms(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	hp, _ := c.Hparams()
	if hp != (Hyperparameters{64, 7, 0.25, 0.01, 8}) {
		t.Errorf("Hparams = %+v", hp)
	}
	if !c.Searcher.SmallerIsBetter {
		t.Errorf("SmallerIsBetter = false, want Determined's default true")
	}
	if c.Searcher.MaxLength.Batches != 200 || c.MinValidationPeriod.Batches != 0 {
		t.Errorf("lengths = %+v, %+v", c.Searcher.MaxLength, c.MinValidationPeriod)
	}
	wantFiles := []string{filepath.Join(dir, "a.csv"), "/abs/b.csv"}
	if strings.Join(c.Data.Files, ",") != strings.Join(wantFiles, ",") ||
		c.Data.Features != filepath.Join(dir, "spec.json") {
		t.Errorf("Data = %+v, want files %v", c.Data, wantFiles)
	}
	j := `{"hyperparameters":{"global_batch_size":512,"random_seed":42,"test_size":0.2,
	"lr":0.0001,"dense1":32},"searcher":{"metric":"val_acc","smaller_is_better":false,
	"max_length":{"batches":1000,"records":null,"epochs":null}},
	"min_validation_period":{"batches":100}}`
	c, err = ParseConfig([]byte(j))
	if err != nil {
		t.Fatalf("ParseConfig(JSON): %v", err)
	}
	if c.Searcher.MaxLength.Batches != 1000 || c.MinValidationPeriod.Batches != 100 {
		t.Errorf("ParseConfig(JSON) lengths = %+v", c)
	}
}

// ensures each bad field is refused with an error naming it.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		old, new, field string
	}{
		{`metric: auc`, `metric: ""`, "searcher.metric"},
		{`metric: auc`, `metric: accuracy`, "searcher.metric"},
		{`max_length: 200`, `max_length: 0`, "searcher.max_length"},
		{`random_seed: 7`, `seed: 7`, "hyperparameters.seed"},
		{`random_seed: 7`, `random_seed: 7.5`, "hyperparameters.random_seed"},
		{`test_size: 0.25`, `test_size: 1`, "hyperparameters.test_size"},
		{`dense1: 8`, `dense1: "eight"`, "hyperparameters.dense1"},
		{`dense1: 8`, `dense1: 0`, "hyperparameters.dense1"},
		{`lr: {type: const, val: 0.01}`, `lr: {type: double, minval: 0.001, maxval: 0.1}`,
			"hyperparameters.lr"},
		{`lr: {type: const, val: 0.01}`, `lr: -1`, "hyperparameters.lr"},
		{`data: {`, `data: {source: s3, `, "data.source"},
	} {
		doc := strings.Replace(minimal, tc.old, tc.new, 1)
		_, err := ParseConfig([]byte(doc))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("ParseConfig with %q: %v, want a ConfigError on %s", tc.new, err, tc.field)
		}
	}
	doc := strings.Replace(minimal, `max_length: 200`, `max_length: {records: 200}`, 1)
	if _, err := ParseConfig([]byte(doc)); err == nil ||
		!strings.Contains(err.Error(), "records or epochs") {
		t.Errorf("ParseConfig with a length in records: %v, want a records/epochs error", err)
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	doc = strings.Replace(minimal, `metric: auc`, `metric: ""`, 1)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadConfig(%s) = %v, want an error naming the file", path, err)
	}
}
