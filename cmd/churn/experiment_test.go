package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment/detfake"
)

// envMu serialises the environment changes of in-process trial runs.
var envMu sync.Mutex

// runTrialProcess runs `churn trial` in process with the container
// environment env, as the master's launcher would.
func runTrialProcess(env map[string]string) int {
	var out bytes.Buffer
	return withEnv(env, func() int {
		return run(context.Background(), []string{"trial", "--log-level", "warn"}, nil, &out, &out)
	})
}

// withEnv runs f with env set in the process environment, restoring it
// after; envMu serialises such runs.
func withEnv(env map[string]string, f func() int) int {
	envMu.Lock()
	defer envMu.Unlock()
	for k, v := range env {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		if had {
			defer os.Setenv(k, old)
		} else {
			defer os.Unsetenv(k)
		}
	}
	return f()
}

// writePDKData writes rows generated original-schema rows (seed) and the
// original feature spec into dir and returns their paths.
func writePDKData(t *testing.T, dir string, rows int, seed int64) (csv, spec string) {
	t.Helper()
	var data bytes.Buffer
	if err := dataset.Generate(&data, rows, seed); err != nil {
		t.Fatal(err)
	}
	csv, spec = filepath.Join(dir, "data.csv"), filepath.Join(dir, "features.json")
	if err := os.WriteFile(csv, data.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dataset.PDKSpec().WriteFile(spec); err != nil {
		t.Fatal(err)
	}
	return csv, spec
}

// TestExperimentVerbs ensures create --follow, wait, model register and
// model download work end to end against the fake master, with the trial
// run by the trial verb itself.
func TestExperimentVerbs(t *testing.T) {
	dir := t.TempDir()
	csv, spec := writePDKData(t, dir, 400, 5)
	store := filepath.Join(dir, "store")
	cfg := filepath.Join(dir, "const.yaml")
	doc := fmt.Sprintf(`name: churn-cmd
entrypoint: ./churn trial
hyperparameters: {global_batch_size: 32, random_seed: 1, test_size: 0.2, lr: 0.001, dense1: 4}
searcher: {name: single, metric: val_loss, max_length: {batches: 200}}
min_validation_period: {batches: 100}
checkpoint_storage: {type: directory, container_path: %s}
data: {files: [%s], features: %s}
`, store, csv, spec)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	def := filepath.Join(dir, "def")
	os.Mkdir(def, 0o755)
	os.WriteFile(filepath.Join(def, "churn"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(def, "big.csv"), []byte("ignored"), 0o644)
	os.WriteFile(filepath.Join(def, ".detignore"), []byte("*.csv\n"), 0o644)

	fake := detfake.New(t, detfake.Options{Launch: func(_ context.Context, env map[string]string) int {
		return runTrialProcess(env)
	}})
	t.Setenv("DET_MASTER", fake.URL())
	t.Setenv("DET_USER", "admin")
	t.Setenv("DET_PASS", detfake.Password)

	out := runChurn(t, 0, "experiment", "create", "--config", cfg, "--follow", "--interval", "10ms", def)
	if !strings.Contains(out, "created experiment 1") || !strings.Contains(out, "STATE_COMPLETED") {
		t.Fatalf("experiment create output:\n%s", out)
	}
	for _, f := range fake.ModelDefinition(1) {
		if f["path"] == "big.csv" || f["path"] == ".detignore" {
			t.Errorf("model definition holds %v", f["path"])
		}
	}
	if out := runChurn(t, 0, "experiment", "wait", "1"); !strings.Contains(out, "STATE_COMPLETED") {
		t.Errorf("experiment wait output: %s", out)
	}
	out = runChurn(t, 0, "model", "register", "--model", "churn", "--experiment", "1",
		"--version-name", "first")
	if !strings.Contains(out, "registered churn version 1") {
		t.Fatalf("model register output: %s", out)
	}
	target := filepath.Join(dir, "downloaded")
	out = runChurn(t, 0, "model", "download", "churn@1", target)
	if !strings.Contains(out, "churn version 1") {
		t.Fatalf("model download output: %s", out)
	}
	if _, err := checkpoint.Read(target); err != nil {
		t.Errorf("downloaded checkpoint: %v", err)
	}
	fake.SetExperimentState(1, "STATE_CANCELED")
	runChurn(t, 2, "experiment", "wait", "1")
	t.Setenv("DET_PASS", "wrong")
	if out := runChurn(t, 1, "experiment", "wait", "1"); !strings.Contains(out, "invalid credentials") ||
		strings.Contains(out, "wrong") {
		t.Errorf("login failure output: %s", out)
	}
}

// runChurn runs the command line and checks its exit status.
func runChurn(t *testing.T, wantCode int, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if code := run(context.Background(), args, nil, &out, &out); code != wantCode {
		t.Fatalf("churn %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out.String())
	}
	return out.String()
}

// TestTrainOnMaster ensures `churn train --master` trains here and reports
// the run to the master as an unmanaged experiment that ends COMPLETED.
func TestTrainOnMaster(t *testing.T) {
	dir := t.TempDir()
	csv, spec := writePDKData(t, dir, 300, 9)
	cfg := filepath.Join(dir, "const.yaml")
	doc := fmt.Sprintf(`name: churn-local
hyperparameters: {global_batch_size: 32, random_seed: 1, test_size: 0.2, lr: 0.001, dense1: 4}
searcher: {name: single, metric: val_acc, smaller_is_better: false, max_length: {batches: 100}}
min_validation_period: {batches: 50}
checkpoint_storage: {type: shared_fs, host_path: %s}
data: {files: [%s], features: %s}
`, filepath.Join(dir, "store"), csv, spec)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := detfake.New(t, detfake.Options{})
	t.Setenv("DET_USER", "admin")
	t.Setenv("DET_PASS", detfake.Password)
	out := runChurn(t, 0, "train", "--master", fake.URL(), "--config", cfg,
		"--external-id", "churn-local-1", "--log-level", "warn")
	if !strings.Contains(out, "trained 100 batches") {
		t.Fatalf("train --master output:\n%s", out)
	}
	if got := fake.ExperimentState(1); got != "STATE_COMPLETED" {
		t.Errorf("experiment state = %s, want STATE_COMPLETED", got)
	}
	var validations int
	for _, m := range fake.Metrics(1) {
		if m.Group == "validation" {
			validations++
		}
	}
	if validations != 2 {
		t.Errorf("validation reports = %d, want 2 (batches 50 and 100)", validations)
	}
	if strings.Contains(out, detfake.Password) {
		t.Error("the password reached the output")
	}
	runChurn(t, 1, "train", "--external-id", "x")
}
