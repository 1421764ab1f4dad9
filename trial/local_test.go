package trial

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
)

// ensures a warm start takes the checkpoint's weights and spec, counts
// batches from 0 and trains on the new data: its first validation beats a
// fresh model's on the same data.
func TestWarmStart(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 150, 64, 50)
	first := filepath.Join(dir, "first")
	_, res, err := runLocal(t, context.Background(), first, cfg, nil,
		Settings{Data: Files{genCSV(t, dir, 2000, 1)}, Spec: dataset.PDKSpec()})
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	ckDir := filepath.Join(first, CheckpointsDir, res.Latest.ID)

	newData := Files{genCSV(t, dir, 1000, 2)}
	// A spec given with a checkpoint is ignored: the inputs keep their meaning.
	other := dataset.PDKSpec()
	other.Numeric[0].Mean += 1000
	var firstVal []Metrics
	obs := ObserverFunc(func(e Event) {
		if e.Kind == EventValidation {
			firstVal = append(firstVal, e.Metrics)
		}
	})
	short := smallConfig(t, 50, 64, 50)
	short.Hyperparameters["lr"] = 0.0005 // the first run's is 0.001: fine-tuning
	_, warm, err := runLocal(t, context.Background(), filepath.Join(dir, "warm"), short,
		&LocalOptions{Checkpoint: ckDir}, Settings{Data: newData, Spec: other, Observer: obs})
	if err != nil {
		t.Fatalf("warm Run: %v", err)
	}
	if warm.Steps != 50 || warm.StartSteps != 0 || warm.TrainRows != 800 {
		t.Errorf("warm Run at %d from %d on %d rows, want 50 from 0 on 800",
			warm.Steps, warm.StartSteps, warm.TrainRows)
	}
	ck, err := checkpoint.Read(filepath.Join(dir, "warm", CheckpointsDir, warm.Latest.ID))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Spec.Numeric[0].Mean != dataset.PDKSpec().Numeric[0].Mean {
		t.Error("warm start did not keep the checkpoint's spec")
	}
	if lr := ck.Model.Config().LR; lr != 0.0005 {
		t.Errorf("warm start trained at rate %v, want its config's 0.0005", lr)
	}
	_, fresh, err := runLocal(t, context.Background(), filepath.Join(dir, "fresh"), short,
		nil, Settings{Data: newData, Spec: dataset.PDKSpec()})
	if err != nil {
		t.Fatalf("fresh Run: %v", err)
	}
	if w, f := firstVal[0][MetricValLoss], fresh.Validation[MetricValLoss]; !(w < f) {
		t.Errorf("val_loss after 50 batches: warm %v, fresh %v; want warm lower", w, f)
	}
}

// ensures resuming on other data is refused: it would not be the same
// trial.
func TestResumeOtherDataRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 40, 64, 20)
	s := Settings{Data: Files{genCSV(t, dir, 600, 1)}, Spec: dataset.PDKSpec()}
	run1 := filepath.Join(dir, "r1")
	if _, _, err := runLocal(t, context.Background(), run1, cfg, nil, s); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(run1, CheckpointsDir)
	entries, _ := os.ReadDir(ck)
	s.Data = Files{genCSV(t, dir, 600, 2)}
	run2 := filepath.Join(dir, "r2")
	_, res, err := runLocal(t, context.Background(), run2, cfg,
		&LocalOptions{Checkpoint: filepath.Join(ck, entries[0].Name()), Resume: true}, s)
	if err == nil || !strings.Contains(err.Error(), "data differ") || res.Status != Failure {
		t.Errorf("resume on other data = %v, %v; want a data error", res.Status, err)
	}
	if _, err := os.Stat(run2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed run left %s behind", run2)
	}
}

// ensures a run directory in use is refused.
func TestNewLocalRefusesUsedDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := NewLocal(dir, smallConfig(t, 10, 8, 5), nil); err == nil ||
		!strings.Contains(err.Error(), "not empty") {
		t.Errorf("NewLocal(used dir) = %v, want a not-empty error", err)
	}
}

// ensures the plots are PNG images of a sane size, and that a curve
// without points (one class) draws no ROC file.
func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	recs := []Record{
		{Group: GroupTraining, Steps: 10, Metrics: Metrics{MetricLoss: 0.7, MetricAcc: 0.5}},
		{Group: GroupValidation, Steps: 10, Metrics: Metrics{MetricValLoss: 0.69,
			MetricValAcc: 0.52}},
		{Group: GroupTraining, Steps: 20, Metrics: Metrics{MetricLoss: 0.6, MetricAcc: 0.6}},
		{Group: GroupValidation, Steps: 20, Metrics: Metrics{MetricValLoss: 0.62,
			MetricValAcc: 0.61}},
	}
	p := []float32{0.1, 0.4, 0.35, 0.8}
	y := []float32{0, 0, 1, 1}
	if err := WritePlots(dir, recs, NewROC(p, y), AUC(p, y)); err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	for _, name := range []string{LossPlotFile, AccuracyPlotFile, ROCPlotFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5_000 ||
			len(b) > 2_000_000 {
			t.Errorf("%s: %d bytes, not a plausible PNG", name, len(b))
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("plot directory holds %d files, want 3 (no temporary files)", len(entries))
	}
	dir2 := t.TempDir()
	if err := WritePlots(dir2, recs, NewROC([]float32{0.2}, []float32{1}), math.NaN()); err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir2, ROCPlotFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ROC plot of one class written (%v)", err)
	}
}
