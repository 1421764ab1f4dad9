package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// runTrainVerb runs one command line in-process and returns its exit code
// and streams.
func runTrainVerb(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// trainFixture writes generated data, the original spec and a short
// config (60 batches of 64, validation every 20) into dir.
func trainFixture(t *testing.T, dir string, rows int) (data, spec, config string) {
	t.Helper()
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, rows, 5); err != nil {
		t.Fatal(err)
	}
	data = filepath.Join(dir, "data.csv")
	spec = filepath.Join(dir, "features.json")
	config = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(data, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dataset.PDKSpec().WriteFile(spec); err != nil {
		t.Fatal(err)
	}
	cfg := `name: t
hyperparameters: {global_batch_size: 64, random_seed: 42, test_size: 0.2, lr: 0.001, dense1: 8}
searcher: {name: single, metric: val_loss, smaller_is_better: true, max_length: {batches: 60}}
min_validation_period: {batches: 20}
`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return data, spec, config
}

// checkpointAtBatch returns runDir's checkpoint at steps.
func checkpointAtBatch(t *testing.T, runDir string, steps int) string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(runDir, trial.CheckpointsDir))
	for _, e := range entries {
		dir := filepath.Join(runDir, trial.CheckpointsDir, e.Name())
		if m, err := checkpoint.ReadMetadata(dir); err == nil && m.StepsCompleted == steps {
			return dir
		}
	}
	t.Fatalf("%s has no checkpoint at batch %d", runDir, steps)
	return ""
}

// ensures `churn train` trains into a complete run directory (metrics,
// checkpoints, valid PNG plots, run.json) and prints the data report and
// the final metrics; --resume ends bit-identical; --warm-start trains on
// new data from the earlier model.
func TestTrainVerb(t *testing.T) {
	dir := t.TempDir()
	data, spec, config := trainFixture(t, dir, 1500)
	runDir := filepath.Join(dir, "run")
	code, out, errOut := runTrainVerb(t, "train", "--config", config, "--data", data,
		"--features", spec, "--run-dir", runDir)
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, errOut)
	}
	for _, want := range []string{"1200 training rows", data, "label churn",
		"val_acc", "auc", "precision", "recall", "f1", "best checkpoint", runDir} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	sum, err := trial.ReadSummary(runDir)
	if err != nil {
		t.Fatalf("ReadSummary: %v", err)
	}
	if sum.Batches != 60 || sum.Metric != "val_loss" || sum.BestDir == "" {
		t.Errorf("run.json = %+v", sum)
	}
	if _, err := checkpoint.Read(sum.BestDir); err != nil {
		t.Errorf("best checkpoint: %v", err)
	}
	recs, err := trial.ReadRecords(filepath.Join(runDir, trial.MetricsFile))
	if err != nil || len(recs) != 6 {
		t.Errorf("metrics.jsonl: %d records, %v; want 6", len(recs), err)
	}
	checkPNGs(t, runDir)

	resumed := filepath.Join(dir, "resumed")
	code, _, errOut = runTrainVerb(t, "train", "--resume", checkpointAtBatch(t, runDir, 20),
		"--data", data, "--run-dir", resumed)
	if code != 0 {
		t.Fatalf("train --resume exited %d: %s", code, errOut)
	}
	a := readFile(t, filepath.Join(checkpointAtBatch(t, runDir, 60), checkpoint.ModelFile))
	b := readFile(t, filepath.Join(checkpointAtBatch(t, resumed, 60), checkpoint.ModelFile))
	if !bytes.Equal(a, b) {
		t.Error("train --resume: model.bin at batch 60 differs from the uninterrupted run's")
	}

	var other bytes.Buffer
	dataset.Generate(&other, 800, 99)
	newData := filepath.Join(dir, "new.csv")
	os.WriteFile(newData, other.Bytes(), 0o644)
	warm := filepath.Join(dir, "warm")
	code, out, errOut = runTrainVerb(t, "train", "--config", config,
		"--warm-start", sum.LatestDir, "--data", newData, "--run-dir", warm)
	if code != 0 {
		t.Fatalf("train --warm-start exited %d: %s", code, errOut)
	}
	ws, err := trial.ReadSummary(warm)
	if err != nil || ws.Batches != 60 || ws.Resumed || ws.StartedFrom != sum.LatestDir ||
		ws.TrainRows != 640 {
		t.Errorf("warm-start run.json = %+v, %v", ws, err)
	}
	if !strings.Contains(out, "640 training rows") {
		t.Errorf("warm-start output lacks the new data:\n%s", out)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPNGs checks the run's plots are PNG files of a plausible size.
func checkPNGs(t *testing.T, runDir string) {
	t.Helper()
	for _, name := range []string{trial.LossPlotFile, trial.AccuracyPlotFile,
		trial.ROCPlotFile} {
		b := readFile(t, filepath.Join(runDir, name))
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5_000 ||
			len(b) > 2_000_000 {
			t.Errorf("%s: %d bytes, PNG signature %v", name, len(b),
				bytes.HasPrefix(b, []byte("\x89PNG")))
		}
	}
}

// ensures bad input ends with a non-zero exit, a message naming the file
// (and line and column where there is one), and no run directory.
func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	data, spec, config := trainFixture(t, dir, 200)
	good := string(readFile(t, data))
	lines := strings.Split(strings.TrimSpace(good), "\n")
	header := strings.Split(lines[0], ",")
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	editCell := func(line int, name, value string) string {
		rows := append([]string(nil), lines...)
		cells := strings.Split(rows[line-1], ",")
		cells[col(name)] = value
		rows[line-1] = strings.Join(cells, ",")
		return strings.Join(rows, "\n") + "\n"
	}
	dropColumn := func(name string) string {
		var b strings.Builder
		for _, l := range lines {
			cells := strings.Split(l, ",")
			i := col(name)
			fmt.Fprintln(&b, strings.Join(append(cells[:i:i], cells[i+1:]...), ","))
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"missing", "", []string{"missing.csv", "no such file"}},
		{"empty", "-", []string{"empty.csv"}},
		{"nolabel", dropColumn("churn"), []string{"nolabel.csv", "churn"}},
		{"nofeature", dropColumn("months"), []string{"nofeature.csv", "months"}},
		{"text", editCell(7, "months", "seven"), []string{"text.csv:7", "months", "seven"}},
		{"label", editCell(9, "churn", "maybe"), []string{"label.csv:9", "churn", "maybe"}},
	} {
		path := filepath.Join(dir, tc.name+".csv")
		switch tc.content {
		case "":
		case "-":
			os.WriteFile(path, nil, 0o644)
		default:
			os.WriteFile(path, []byte(tc.content), 0o644)
		}
		runDir := filepath.Join(dir, "run-"+tc.name)
		code, _, errOut := runTrainVerb(t, "train", "--config", config, "--data", path,
			"--features", spec, "--run-dir", runDir)
		if code == 0 {
			t.Errorf("%s: train exited 0", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: error lacks %q: %s", tc.name, w, errOut)
			}
		}
		if _, err := os.Stat(runDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: run directory left behind (%v)", tc.name, err)
		}
	}
	// Flags that exclude each other.
	code, _, errOut := runTrainVerb(t, "train", "--resume", "x", "--warm-start", "y")
	if code == 0 || !strings.Contains(errOut, "exclude") {
		t.Errorf("train --resume --warm-start: exit %d, %s", code, errOut)
	}
}

// ensures `churn train` with no data flags trains on the embedded telco
// table with its spec and the embedded config, into a complete run.
func TestTrainDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 1000 batches")
	}
	runDir := filepath.Join(t.TempDir(), "run")
	code, out, errOut := runTrainVerb(t, "train", "--run-dir", runDir)
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, churn.DefaultDataName) || !strings.Contains(out, "5634 training rows") {
		t.Errorf("train output does not describe the embedded table:\n%s", out)
	}
	sum, err := trial.ReadSummary(runDir)
	if err != nil || sum.Batches != 1000 || sum.Metric != trial.MetricValAcc ||
		len(sum.Data) != 1 || sum.Data[0].Name != churn.DefaultDataName {
		t.Errorf("run.json = %+v, %v", sum, err)
	}
}
