package trial

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
)

// ensures the batch walk matches the reference trainer: in order, a short
// remainder is a batch of its own, then back to row 0.
func TestNextBatch(t *testing.T) {
	type batch struct{ lo, hi int }
	var got []batch
	pos := 0
	for range 6 {
		var lo, hi int
		lo, hi, pos = nextBatch(pos, 10, 4)
		got = append(got, batch{lo, hi})
	}
	want := []batch{{0, 4}, {4, 8}, {8, 10}, {0, 4}, {4, 8}, {8, 10}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("batches = %v, want %v", got, want)
		}
	}
	if p := positionAfter(4, 10, 4); p != 4 {
		t.Errorf("positionAfter(4, 10, 4) = %d, want 4", p)
	}
	// Fewer rows than a batch: every batch is all the rows.
	if lo, hi, next := nextBatch(0, 3, 4); lo != 0 || hi != 3 || next != 0 {
		t.Errorf("nextBatch(0, 3, 4) = %d, %d, %d, want 0, 3, 0", lo, hi, next)
	}
	// A size that divides n wraps instead of giving an empty batch.
	if lo, hi, _ := nextBatch(8, 8, 4); lo != 0 || hi != 4 {
		t.Errorf("nextBatch(8, 8, 4) = %d, %d, want 0, 4", lo, hi)
	}
}

// checkpointAt returns the directory of run's checkpoint at steps.
func checkpointAt(t *testing.T, runDir string, steps int) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(runDir, CheckpointsDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		dir := filepath.Join(runDir, CheckpointsDir, e.Name())
		meta, err := checkpoint.ReadMetadata(dir)
		if err != nil {
			t.Fatalf("ReadMetadata: %v", err)
		}
		if meta.StepsCompleted == steps {
			return dir
		}
	}
	t.Fatalf("%s has no checkpoint at batch %d", runDir, steps)
	return ""
}

func modelBytes(t *testing.T, ckDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ckDir, checkpoint.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ensures a 1000-batch run interrupted after batch 350 and resumed from
// its checkpoint at batch 300 ends with the same bytes of model.bin as the
// uninterrupted run: weights, optimiser state and the data position are
// restored exactly.
func TestResumeBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 2700 batches")
	}
	dir := t.TempDir()
	data := genCSV(t, dir, 3000, 7) // 2400 training rows: batches wrap unevenly
	cfg := smallConfig(t, 1000, 512, 100)
	s := Settings{Data: Files{data}, Spec: dataset.PDKSpec()}

	whole := filepath.Join(dir, "whole")
	_, res, err := runLocal(t, context.Background(), whole, cfg, nil, s)
	if err != nil || res.Status != Success {
		t.Fatalf("uninterrupted Run = %v, %v", res.Status, err)
	}

	cut := filepath.Join(dir, "cut")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sCut := s
	sCut.Observer = ObserverFunc(func(e Event) {
		if e.Kind == EventBatch && e.Steps == 350 {
			cancel()
		}
	})
	_, res, err = runLocal(t, ctx, cut, cfg, nil, sCut)
	if !errors.Is(err, context.Canceled) || res.Status != Canceled || res.Steps != 350 {
		t.Fatalf("canceled Run = %v at %d, %v; want Canceled at 350", res.Status,
			res.Steps, err)
	}
	if res.Latest.Steps != 300 {
		t.Fatalf("canceled run's latest checkpoint at %d, want 300", res.Latest.Steps)
	}
	if _, err := os.Stat(filepath.Join(cut, SummaryFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("canceled run has %s (err %v), want none", SummaryFile, err)
	}
	at300 := checkpointAt(t, cut, 300)
	if !bytes.Equal(modelBytes(t, at300), modelBytes(t, checkpointAt(t, whole, 300))) {
		t.Fatal("checkpoints at batch 300 differ between the two runs")
	}

	resumed := filepath.Join(dir, "resumed")
	l, res, err := runLocal(t, context.Background(), resumed, cfg,
		&LocalOptions{Checkpoint: at300, Resume: true}, s)
	if err != nil || res.Status != Success || res.Steps != 1000 || res.StartSteps != 300 {
		t.Fatalf("resumed Run = %v at %d from %d, %v", res.Status, res.Steps,
			res.StartSteps, err)
	}
	a, b := modelBytes(t, checkpointAt(t, whole, 1000)), modelBytes(t, checkpointAt(t, resumed, 1000))
	if !bytes.Equal(a, b) {
		t.Fatal("model.bin at batch 1000 differs between the uninterrupted and resumed runs")
	}
	ckA, _ := checkpoint.Read(checkpointAt(t, whole, 1000))
	ckB, _ := checkpoint.Read(checkpointAt(t, resumed, 1000))
	pa, pb := ckA.Model.Params(), ckB.Model.Params()
	for i := range pa.W1 {
		if pa.W1[i] != pb.W1[i] {
			t.Fatalf("W1[%d] = %v resumed, %v uninterrupted", i, pb.W1[i], pa.W1[i])
		}
	}
	// The resumed run's records start with the cut run's up to batch 300.
	recs := l.Records()
	if len(recs) != 20 || recs[0].Steps != 100 || recs[len(recs)-1].Steps != 1000 {
		t.Errorf("resumed run has %d records from %d to %d, want 20 from 100 to 1000",
			len(recs), recs[0].Steps, recs[len(recs)-1].Steps)
	}
}

// ensures a run directory continues in place: a torn last metrics line
// and records past the checkpoint are dropped, half-written checkpoint
// directories are removed, and LatestCheckpoint skips a damaged
// checkpoint for the one before.
func TestContinueInPlace(t *testing.T) {
	dir := t.TempDir()
	data := genCSV(t, dir, 600, 3)
	cfg := smallConfig(t, 60, 32, 20)
	s := Settings{Data: Files{data}, Spec: dataset.PDKSpec()}
	run := filepath.Join(dir, "run")
	if _, res, err := runLocal(t, context.Background(), run, cfg, nil, s); err != nil ||
		res.Status != Success {
		t.Fatalf("Run = %v, %v", res.Status, err)
	}
	if _, err := LatestCheckpoint(run, nil); !errors.Is(err, ErrRunComplete) {
		t.Errorf("LatestCheckpoint(complete run) = %v, want ErrRunComplete", err)
	}
	os.Remove(filepath.Join(run, SummaryFile))
	at60, at40 := checkpointAt(t, run, 60), checkpointAt(t, run, 40)
	if err := os.WriteFile(filepath.Join(at60, checkpoint.ModelFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(run, CheckpointsDir, ".abc.partial-1")
	os.Mkdir(partial, 0o755)
	f, _ := os.OpenFile(filepath.Join(run, MetricsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"group":"training","st`)
	f.Close()
	ck, err := LatestCheckpoint(run, nil)
	if err != nil || ck != at40 {
		t.Fatalf("LatestCheckpoint = %q, %v; want %s (60 is damaged)", ck, err, at40)
	}
	l, err := NewLocal(run, cfg, &LocalOptions{Checkpoint: ck, Resume: true})
	if err != nil {
		t.Fatalf("NewLocal in place: %v", err)
	}
	defer l.Finish(&Result{Status: Canceled})
	recs := l.Records()
	if len(recs) != 4 || recs[3].Steps != 40 {
		t.Errorf("kept %d records ending at %d, want 4 ending at 40", len(recs), recs[len(recs)-1].Steps)
	}
	if _, err := os.Stat(partial); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half-written checkpoint %s still there (%v)", partial, err)
	}
	onDisk, err := ReadRecords(filepath.Join(run, MetricsFile))
	if err != nil || len(onDisk) != 4 {
		t.Errorf("metrics.jsonl holds %d records (%v), want 4", len(onDisk), err)
	}
}
