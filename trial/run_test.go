package trial

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
)

// ensures a small run reports training and validation metrics at every
// validation period, stores complete checkpoints, and picks the best.
func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	data := genCSV(t, dir, 2000, 1)
	cfg := smallConfig(t, 120, 64, 40)
	runDir := filepath.Join(dir, "run")
	l, res, err := runLocal(t, context.Background(), runDir, cfg, nil,
		Settings{Data: Files{data}, Spec: dataset.PDKSpec()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Status != Success || res.Steps != 120 {
		t.Fatalf("Run = %v at %d batches, want Success at 120", res.Status, res.Steps)
	}
	if res.TrainRows != 1600 || res.ValRows != 400 {
		t.Errorf("split = %d/%d rows, want 1600/400", res.TrainRows, res.ValRows)
	}
	recs := l.Records()
	if len(recs) != 6 {
		t.Fatalf("got %d records, want 6: %+v", len(recs), recs)
	}
	for i, r := range recs {
		wantGroup := []string{GroupTraining, GroupValidation}[i%2]
		if r.Group != wantGroup || r.Steps != 40*(i/2+1) {
			t.Errorf("record %d = %s at %d, want %s at %d", i, r.Group, r.Steps,
				wantGroup, 40*(i/2+1))
		}
	}
	for _, k := range []string{MetricValLoss, MetricValAcc, MetricAUC, MetricPrecision,
		MetricRecall, MetricF1} {
		if _, ok := res.Validation[k]; !ok {
			t.Errorf("validation metrics %v lack %s", res.Validation, k)
		}
	}
	ck, err := checkpoint.Read(l.CheckpointDir(res.Best.ID))
	if err != nil {
		t.Fatalf("Read best: %v", err)
	}
	if ck.Metadata.StepsCompleted != res.Best.Steps {
		t.Errorf("best checkpoint at %d, Result says %d", ck.Metadata.StepsCompleted,
			res.Best.Steps)
	}
	entries, _ := os.ReadDir(filepath.Join(runDir, CheckpointsDir))
	if len(entries) != 3 {
		t.Errorf("%d checkpoints, want 3", len(entries))
	}
	if _, err := ReadSummary(runDir); err != nil {
		t.Errorf("ReadSummary: %v", err)
	}
	t.Logf("best %+v elapsed %v", res.Best, res.Elapsed)
}
