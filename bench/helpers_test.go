package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// launchEnv, set to 1, makes the test binary a launcher: it runs the
// command its arguments name and prints that command's peak RSS.
const launchEnv = "CHURN_BENCH_LAUNCH"

// TestMain runs the tests, or the launcher when launchEnv is set.
//
// The launcher exists because of how Linux accounts a child's peak RSS: a
// process made by vfork and exec, as os/exec makes it, starts with the
// peak of the process it came from (the two share memory until the exec).
// A child of the benchmark process, which other benchmarks can leave at
// hundreds of MB, would report that; a child of the freshly started,
// small launcher reports its own peak.
func TestMain(m *testing.M) {
	if os.Getenv(launchEnv) == "1" {
		os.Exit(launch(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// launch runs args and prints "maxrss-kb N" with its peak RSS; on failure
// it prints the command's output and returns 1.
func launch(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n%s", args, err, out)
		return 1
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "no rusage for the child process")
		return 1
	}
	fmt.Printf("maxrss-kb %d\n", ru.Maxrss) // Linux reports kilobytes
	return 0
}

// peakRSS runs args through the launcher and returns the command's peak
// RSS in kilobytes.
func peakRSS(args ...string) (int64, error) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), launchEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("launcher: %v\n%s", err, stderr.Bytes())
	}
	f := bytes.Fields(out)
	if len(f) != 2 || string(f[0]) != "maxrss-kb" {
		return 0, fmt.Errorf("launcher printed %q", out)
	}
	return strconv.ParseInt(string(f[1]), 10, 64)
}
