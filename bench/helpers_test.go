package bench

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// Fixed sizes: the original example's first data file has 31,009 rows;
// the training run whose memory is measured uses two such files' worth.
const (
	origRows   = 31009
	rssRows    = 62009
	batchSize  = 512
	configPath = "../experiment/const.yaml"
	specPath   = "../experiment/features.json"
)

// dataEnv names a CSV file of origRows rows to use instead of generating
// one (compare.sh sets it, so that Go and Python read the same file).
const dataEnv = "CHURN_BENCH_DATA"

// genFile writes rows generated rows in the original schema to a file in
// dir and returns its path and size in bytes; for origRows rows it returns
// the file $CHURN_BENCH_DATA names, when set.
func genFile(b *testing.B, dir string, rows int) (string, int64) {
	b.Helper()
	if p := os.Getenv(dataEnv); p != "" && rows == origRows {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatalf("%s: %v", dataEnv, err)
		}
		return p, st.Size()
	}
	path := filepath.Join(dir, "churn.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := dataset.Generate(f, rows, 42); err != nil {
		f.Close()
		b.Fatalf("generate %d rows: %v", rows, err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// loadSpec reads experiment/features.json.
func loadSpec(b *testing.B) *dataset.Spec {
	b.Helper()
	spec, err := dataset.LoadSpec(specPath)
	if err != nil {
		b.Fatal(err)
	}
	return spec
}

// loadConfig reads experiment/const.yaml and its hyperparameters.
func loadConfig(b *testing.B) (*trial.Config, trial.Hyperparameters) {
	b.Helper()
	cfg, err := trial.LoadConfig(configPath)
	if err != nil {
		b.Fatal(err)
	}
	hp, err := cfg.Hparams()
	if err != nil {
		b.Fatal(err)
	}
	return cfg, hp
}

// prepared loads, splits and preprocesses a generated file the way a run
// does (test_size and random_seed of the config) and returns the training
// matrix.
func prepared(b *testing.B, rows int) *dataset.Matrix {
	b.Helper()
	train, _ := loadSplit(b, rows)
	return train
}

// loadSplit returns the preprocessed training and validation matrices of
// a generated file of rows rows.
func loadSplit(b *testing.B, rows int) (train, val *dataset.Matrix) {
	b.Helper()
	path, _ := genFile(b, b.TempDir(), rows)
	_, hp := loadConfig(b)
	train, val, err := loadPreprocess(loadSpec(b), hp, path)
	if err != nil {
		b.Fatal(err)
	}
	return train, val
}

// loadPreprocess is what a run does before training: load, split,
// preprocess both sides (the reference's load_preprocess_s).
func loadPreprocess(spec *dataset.Spec, hp trial.Hyperparameters,
	path string) (train, val *dataset.Matrix, err error) {
	tab, rep, err := dataset.Load(spec, true, path)
	if err != nil {
		return nil, nil, err
	}
	tr, va, err := dataset.Split(tab, hp.TestSize, hp.RandomSeed)
	if err != nil {
		return nil, nil, err
	}
	if train, err = dataset.Preprocess(spec, tr, rep); err != nil {
		return nil, nil, err
	}
	val, err = dataset.Preprocess(spec, va, rep)
	return train, val, err
}

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
