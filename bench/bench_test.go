package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
	"github.com/churn-pdk/churn/trial"
)

// newModel builds the recipe's model (dense1 hidden units, Adam at lr,
// seeded by random_seed) for spec's inputs.
func newModel(b *testing.B, inputs int) *nn.Model {
	b.Helper()
	_, hp := loadConfig(b)
	m, err := nn.New(nn.Config{Inputs: inputs, Hidden: hp.Dense1, LR: hp.LR, Seed: hp.RandomSeed})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// trainBatches trains batches batches of batchSize rows walking tr in
// order (a remainder is a batch of its own, then the walk wraps), as the
// trial loop and the reference do, and returns the rows trained.
func trainBatches(b *testing.B, m *nn.Model, tr *dataset.Matrix, batches int) int {
	rows, pos := 0, 0
	for range batches {
		hi := min(pos+batchSize, tr.Rows)
		if _, err := m.TrainBatch(tr.X[pos*tr.Cols:hi*tr.Cols], tr.Y[pos:hi]); err != nil {
			b.Fatal(err)
		}
		rows += hi - pos
		if pos = hi; pos == tr.Rows {
			pos = 0
		}
	}
	return rows
}

// benchTrain measures batches training batches on the generated file's
// training split (24,807 rows of 139 inputs).
func benchTrain(b *testing.B, batches int) {
	tr := prepared(b, origRows)
	m := newModel(b, tr.Cols)
	samples := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		samples += trainBatches(b, m, tr, batches)
	}
	cpu := cpuSeconds() - cpu0
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

// BenchmarkTrainBatch measures one training step: forward, backward and
// Adam on 512 rows.
func BenchmarkTrainBatch(b *testing.B) { benchTrain(b, 1) }

// BenchmarkTrain1000 measures the recipe's 1000 batches of 512 (without
// validation): the reference's train_s.
func BenchmarkTrain1000(b *testing.B) { benchTrain(b, 1000) }

// BenchmarkTrain10000 measures 10,000 batches of 512.
func BenchmarkTrain10000(b *testing.B) { benchTrain(b, 10000) }

// loadSizes are the CSV sizes measured: the original file, ten and a
// hundred times it (1.6 GB, skipped under -short).
var loadSizes = []int{origRows, 10 * origRows, 100 * origRows}

// benchLoad runs f on generated files of each size, reporting rows/s and
// MB/s of CSV input.
func benchLoad(b *testing.B, f func(b *testing.B, spec *dataset.Spec, path string)) {
	for _, rows := range loadSizes {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			if testing.Short() && rows > 10*origRows {
				b.Skip("skipped under -short")
			}
			path, size := genFile(b, b.TempDir(), rows)
			spec := loadSpec(b)
			b.SetBytes(size)
			cpu0 := cpuSeconds()
			for b.Loop() {
				f(b, spec, path)
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
	}
}

// BenchmarkLoad measures dataset.Load: reading, validating and parsing a
// CSV file.
func BenchmarkLoad(b *testing.B) {
	benchLoad(b, func(b *testing.B, spec *dataset.Spec, path string) {
		if _, _, err := dataset.Load(spec, true, path); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkLoadPreprocess measures what a run does before training: load,
// 80/20 split, preprocessing of both sides into float32 matrices (the
// reference's load_preprocess_s).
func BenchmarkLoadPreprocess(b *testing.B) {
	benchLoad(b, func(b *testing.B, spec *dataset.Spec, path string) {
		_, hp := loadConfig(b)
		if _, _, err := loadPreprocess(spec, hp, path); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkEndToEnd is a whole local trial (trial.Run with a local
// context in a temporary directory) with experiment/const.yaml and
// experiment/features.json on a generated 31,009-row file: loading,
// split, preprocessing, 1000 batches of 512, validation and a checkpoint
// every 100 batches, plots and run.json. It reports s/run, training
// samples/s and the final val_acc.
func BenchmarkEndToEnd(b *testing.B) {
	dir := b.TempDir()
	data, _ := genFile(b, dir, origRows)
	cfg, hp := loadConfig(b)
	spec := loadSpec(b)
	var valAcc float64
	runs := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		runs++
		runDir := filepath.Join(dir, fmt.Sprintf("run-%d", runs))
		valAcc = runTrial(b, runDir, cfg, spec, data)
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/run")
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(cfg.Searcher.MaxLength.Batches*hp.GlobalBatchSize)/sec, "samples/s")
	b.ReportMetric(valAcc, "val_acc")
}

// runTrial runs one local trial and returns its last val_acc.
func runTrial(b *testing.B, runDir string, cfg *trial.Config, spec *dataset.Spec,
	data string) float64 {
	local, err := trial.NewLocal(runDir, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	res, err := trial.Run(context.Background(), local,
		&trial.Settings{Data: trial.Files{data}, Spec: spec})
	if err != nil || res.Status != trial.Success {
		local.Abort()
		b.Fatalf("trial.Run = %v, %v", res.Status, err)
	}
	if err := local.Finish(res); err != nil {
		b.Fatal(err)
	}
	return res.Validation[trial.MetricValAcc]
}

// BenchmarkTrainPeakRSS runs `churn train` (built into a temporary
// directory) as a child process on a generated 62,009-row file with
// experiment/const.yaml and experiment/features.json, and reports the
// child's peak resident memory (peak-RSS-MB, from its rusage) and its
// wall time. It needs the go command on PATH. The child is started by a
// small launcher process (see TestMain), not by this one.
func BenchmarkTrainPeakRSS(b *testing.B) {
	bin := buildChurn(b)
	dir := b.TempDir()
	data, _ := genFile(b, dir, rssRows)
	var peak float64
	runs := 0
	for b.Loop() {
		runs++
		runDir := filepath.Join(dir, fmt.Sprintf("run-%d", runs))
		kb, err := peakRSS(bin, "train", "--config", configPath, "--features", specPath,
			"--data", data, "--run-dir", runDir)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, float64(kb)/1024)
	}
	b.ReportMetric(peak, "peak-RSS-MB")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
}

// buildChurn builds cmd/churn into a temporary directory.
func buildChurn(b *testing.B) string {
	b.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(b.TempDir(), "churn")
	out, err := exec.Command(goBin, "build", "-o", bin, "../cmd/churn").CombinedOutput()
	if err != nil {
		b.Fatalf("go build ./cmd/churn: %v\n%s", err, out)
	}
	return bin
}
