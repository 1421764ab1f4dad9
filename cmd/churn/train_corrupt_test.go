package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/trial"
)

// corruptions damage one file of a checkpoint directory the ways a disk,
// a copy or a person can.
var corruptions = []struct {
	name, file string
	edit       func(b []byte) []byte
}{
	{"flipped byte in model.bin", checkpoint.ModelFile, func(b []byte) []byte {
		b[len(b)/2] ^= 0x10
		return b
	}},
	{"truncated features.json", checkpoint.SpecFile, func(b []byte) []byte {
		return b[:len(b)/3]
	}},
	{"edited metadata.json", checkpoint.MetadataFile, func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"threshold": 0.5`), []byte(`"threshold": 0.1`), 1)
	}},
}

func corrupt(t *testing.T, ckDir, file string, edit func([]byte) []byte) string {
	t.Helper()
	path := filepath.Join(ckDir, file)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(bytes.Clone(b))
	if bytes.Equal(changed, b) {
		t.Fatalf("corrupting %s changed nothing", path)
	}
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ensures a corrupted checkpoint is refused by churn train --resume (exit
// 4, the damaged file named, nothing written) and by checkpoint.Read; and
// that --resume RUN_DIR skips it with a log line naming it, resumes from
// the checkpoint before and still ends bit-identical.
func TestTrainRefusesCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	data, spec, config := trainFixture(t, dir, 1200)
	ref := filepath.Join(dir, "ref")
	if code, _, errOut := runTrainVerb(t, "train", "--config", config, "--data", data,
		"--features", spec, "--run-dir", ref); code != 0 {
		t.Fatalf("train exited %d: %s", code, errOut)
	}
	want := readFile(t, filepath.Join(checkpointAtBatch(t, ref, 60), checkpoint.ModelFile))
	for _, c := range corruptions {
		runDir := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		if err := os.CopyFS(runDir, os.DirFS(ref)); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(runDir, trial.SummaryFile)); err != nil {
			t.Fatal(err)
		}
		at60 := checkpointAtBatch(t, runDir, 60)
		path := corrupt(t, at60, c.file, c.edit)
		if ck, err := checkpoint.Read(at60); ck != nil || err == nil ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: checkpoint.Read = %v, want an error naming %s", c.name, err, path)
		}
		metrics := readFile(t, filepath.Join(runDir, trial.MetricsFile))
		code, _, errOut := runTrainVerb(t, "train", "--resume", at60)
		if code != exitBadCheckpoint || !strings.Contains(errOut, path) {
			t.Errorf("%s: --resume CHECKPOINT exited %d: %q; want %d naming %s", c.name,
				code, errOut, exitBadCheckpoint, path)
		}
		if !bytes.Equal(readFile(t, filepath.Join(runDir, trial.MetricsFile)), metrics) {
			t.Errorf("%s: a refused --resume changed metrics.jsonl", c.name)
		}
		code, _, errOut = runTrainVerb(t, "train", "--resume", runDir)
		if code != 0 {
			t.Fatalf("%s: --resume RUN_DIR exited %d: %s", c.name, code, errOut)
		}
		if !strings.Contains(errOut, "skipping a checkpoint") || !strings.Contains(errOut, at60) {
			t.Errorf("%s: --resume RUN_DIR logged %q; want it to name the skipped %s",
				c.name, errOut, at60)
		}
		if got := finalModel(t, runDir); !bytes.Equal(got, want) {
			t.Errorf("%s: the run resumed from batch 40 ends with another model.bin", c.name)
		}
	}
}

// ensures --resume RUN_DIR refuses a complete run (exit 5) and a run
// directory with no checkpoint (exit 3), saying what to do.
func TestTrainResumeRunDirRefusals(t *testing.T) {
	dir := t.TempDir()
	data, spec, config := trainFixture(t, dir, 1200)
	ref := filepath.Join(dir, "ref")
	if code, _, errOut := runTrainVerb(t, "train", "--config", config, "--data", data,
		"--features", spec, "--run-dir", ref); code != 0 {
		t.Fatalf("train exited %d: %s", code, errOut)
	}
	code, _, errOut := runTrainVerb(t, "train", "--resume", ref)
	if code != exitRunComplete || !strings.Contains(errOut, "already complete") {
		t.Errorf("--resume of a complete run exited %d: %q", code, errOut)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(filepath.Join(empty, trial.CheckpointsDir, ".x.partial-1"),
		0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runTrainVerb(t, "train", "--resume", empty)
	if code != exitNoCheckpoint || !strings.Contains(errOut, "--run-dir "+empty) {
		t.Errorf("--resume of a run without checkpoints exited %d: %q", code, errOut)
	}
}
