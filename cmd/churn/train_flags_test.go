package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/trial"
)

// ensures train refuses flags that cannot work, before any training,
// with messages that say what to do.
func TestTrainFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "run.json")
	if err := os.WriteFile(file, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--threshold", "0"}, 1,
			"churn: train: --threshold 0: want a probability strictly between 0 and 1\n"},
		{[]string{"--threshold", "1"}, 1,
			"churn: train: --threshold 1: want a probability strictly between 0 and 1\n"},
		{[]string{"--warm-start", dir}, 1, "churn: train: --warm-start needs --data: a warm " +
			"start trains the checkpoint's model on new data (to continue on the same " +
			"data, use --resume)\n"},
		{[]string{"--resume", file}, exitNoCheckpoint, "churn: train: --resume " + file +
			": a file, not a directory; give a run directory (holding checkpoints/) or a " +
			"checkpoint directory (holding metadata.json)\n"},
	} {
		code, _, errOut := runTrainVerb(t, append([]string{"train"}, tc.args...)...)
		if code != tc.code || !strings.HasSuffix(errOut, tc.want) {
			t.Errorf("train %v: exit %d %q, want %d %q", tc.args, code, errOut, tc.code,
				tc.want)
		}
	}
}

// ensures --threshold reaches metadata.json, and a resume from another
// working directory finds relative data by the checkpoint's absolute path.
func TestTrainThresholdAndResumeElsewhere(t *testing.T) {
	dir := t.TempDir()
	_, spec, config := trainFixture(t, dir, 600)
	t.Chdir(dir)
	runDir := filepath.Join(dir, "run")
	code, _, errOut := runTrainVerb(t, "train", "--config", config, "--data", "data.csv",
		"--features", spec, "--run-dir", runDir, "--threshold", "0.3")
	if code != 0 {
		t.Fatalf("train exited %d: %s", code, errOut)
	}
	ck := checkpointAtBatch(t, runDir, 20)
	meta, err := checkpoint.ReadMetadata(ck)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Threshold != 0.3 || len(meta.Data) != 1 || meta.Data[0].Name != "data.csv" ||
		!filepath.IsAbs(meta.Data[0].Path) {
		t.Fatalf("metadata threshold %v data %+v, want 0.3 and data.csv with an absolute "+
			"path", meta.Threshold, meta.Data)
	}
	t.Chdir(t.TempDir())
	resumed := filepath.Join(dir, "resumed")
	code, _, errOut = runTrainVerb(t, "train", "--resume", ck, "--run-dir", resumed)
	if code != 0 {
		t.Fatalf("train --resume from another directory exited %d: %s", code, errOut)
	}
	sum, err := trial.ReadSummary(resumed)
	if err != nil || sum.Batches != 60 {
		t.Fatalf("resumed run.json %+v, %v", sum, err)
	}
	last, err := checkpoint.ReadMetadata(checkpointAtBatch(t, resumed, 60))
	if err != nil || last.Threshold != 0.3 {
		t.Fatalf("resumed checkpoint threshold %v, %v; want the checkpoint's 0.3",
			last.Threshold, err)
	}
	if err := os.Rename(meta.Data[0].Path, meta.Data[0].Path+".moved"); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runTrainVerb(t, "train", "--resume", ck, "--run-dir",
		filepath.Join(dir, "again"))
	want := "train: --resume: data file data.csv nor " + meta.Data[0].Path +
		", named by checkpoint " + ck + ", not found; pass the same file with --data"
	if code == 0 || !strings.Contains(errOut, want) {
		t.Fatalf("resume without the data: exit %d %q, want %q", code, errOut, want)
	}
}

// ensures the progress bar labels the validation loss as val_loss, and
// train's help says what --master and --features do by default.
func TestTrainLabels(t *testing.T) {
	got := validationLabel(trial.Metrics{trial.MetricValAcc: 0.74312,
		trial.MetricValLoss: 0.567})
	if got != "val_acc 0.7431 val_loss 0.5670" {
		t.Errorf("validationLabel = %q", got)
	}
	code, out, _ := runTrainVerb(t, "train", "--help")
	help := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"default: none, train locally; $DET_MASTER is not read",
		"--infer-features is only needed to override the config's data.features",
		"without one a spec is fitted on the training split",
	} {
		if code != 0 || !strings.Contains(help, want) {
			t.Errorf("train --help (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}

// ensures one stray text value in the telco table's tenure stops both
// spec fitting verbs at its file, line and column instead of dropping it.
func TestStrayTextInNumericColumn(t *testing.T) {
	dir := t.TempDir()
	lines := strings.Split(string(churn.DefaultData()), "\n")
	fields := strings.Split(lines[10], ",")
	fields[5] = `"ten"` // tenure, on line 11
	lines[10] = strings.Join(fields, ",")
	path := filepath.Join(dir, "textnum.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `dataset: ` + path + `:11: column "tenure": value "ten": not a number ` +
		`(7042 of the column's 7043 values are numbers;`
	for _, args := range [][]string{
		{"features", "infer", "--label", "churn", "--positive", "Yes", path},
		{"train", "--data", path, "--run-dir", filepath.Join(dir, "run")},
	} {
		code, _, errOut := runTrainVerb(t, args...)
		if code == 0 || !strings.Contains(errOut, "churn: "+args[0]) ||
			!strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d %q, want %q", args, code, errOut, want)
		}
	}
}
