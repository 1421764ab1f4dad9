package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// killFixture is the binary, data and config of the SIGKILL test.
type killFixture struct {
	bin, dir, data, spec, config string
}

// envRunMain makes the test binary run churn's main instead of the tests:
// the child processes of the kill test are this binary re-executed, which
// is churn's own main() (flags, signal handling, exit codes) without the
// 10-30 s that linking a second binary takes on a loaded machine.
const envRunMain = "CHURN_TEST_RUN_MAIN"

func init() {
	if os.Getenv(envRunMain) == "1" {
		os.Args = append(os.Args[:1], strings.Fields(os.Getenv(envRunMain+"_ARGS"))...)
		main()
	}
}

// newKillFixture writes a data set and a config whose whole run (400
// batches, 10 checkpoints) takes about a second here.
func newKillFixture(t *testing.T) *killFixture {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f := &killFixture{bin: bin, dir: dir,
		data: filepath.Join(dir, "data.csv"), spec: filepath.Join(dir, "features.json"),
		config: filepath.Join(dir, "config.yaml")}
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, 3000, 5); err != nil {
		t.Fatal(err)
	}
	cfg := `name: kill
hyperparameters: {global_batch_size: 64, random_seed: 42, test_size: 0.2, lr: 0.001, dense1: 8}
searcher: {name: single, metric: val_loss, smaller_is_better: true, max_length: {batches: 400}}
min_validation_period: {batches: 40}
`
	for path, b := range map[string][]byte{f.data: buf.Bytes(), f.config: []byte(cfg)} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := dataset.PDKSpec().WriteFile(f.spec); err != nil {
		t.Fatal(err)
	}
	return f
}

// churn returns the command that runs churn with args (no spaces in
// them: the temporary paths have none).
func (f *killFixture) churn(args ...string) *exec.Cmd {
	cmd := exec.Command(f.bin)
	cmd.Env = append(os.Environ(), envRunMain+"=1",
		envRunMain+"_ARGS="+strings.Join(args, " "))
	return cmd
}

// command returns `churn train` with the fixture's inputs into runDir.
func (f *killFixture) command(runDir string) *exec.Cmd {
	return f.churn("train", "--config", f.config, "--data", f.data,
		"--features", f.spec, "--run-dir", runDir)
}

// run runs args to the end and returns the exit code and stderr.
func (f *killFixture) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := f.churn(args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), errb.String()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return 0, errb.String()
}

// finalModel returns the bytes of model.bin of a complete run's latest
// checkpoint.
func finalModel(t *testing.T, runDir string) []byte {
	t.Helper()
	s, err := trial.ReadSummary(runDir)
	if err != nil {
		t.Fatalf("run %s is not complete: %v", runDir, err)
	}
	b, err := os.ReadFile(filepath.Join(s.LatestDir, "model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// killPoint says when to kill: after a delay, or as soon as the
// checkpoints directory holds n entries (counting half-written ones).
type killPoint struct {
	delay time.Duration
	n     int
}

func (p killPoint) String() string {
	if p.n > 0 {
		return fmt.Sprintf("at checkpoint entry %d", p.n)
	}
	return fmt.Sprintf("after %v", p.delay.Round(time.Millisecond))
}

// killAt starts a run into runDir and SIGKILLs it at p. It reports
// whether a half-written checkpoint was present when it was killed.
func (f *killFixture) killAt(t *testing.T, runDir string, p killPoint) (partial bool) {
	t.Helper()
	cmd := f.command(runDir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(p.delay)
	ckDir := filepath.Join(runDir, trial.CheckpointsDir)
	for {
		select {
		case <-done:
			return false // it finished before the kill point
		default:
		}
		entries, _ := os.ReadDir(ckDir)
		if p.n > 0 && len(entries) >= p.n || p.n == 0 && !time.Now().Before(deadline) {
			partial = hasPartial(entries)
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	cmd.Process.Kill() // SIGKILL
	<-done
	return partial
}

func hasPartial(entries []os.DirEntry) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// ensures a training process killed with SIGKILL at 20 random points
// (before the first checkpoint, mid-run, right as checkpoints appear)
// continues with `churn train --resume RUN_DIR` from its last complete
// checkpoint in the same run directory and ends with model.bin
// bit-identical to an uninterrupted run's, metrics.jsonl holding each
// report once; a run killed before its first checkpoint has no run.json,
// is refused by --resume (exit 3) and trains afresh in the same directory.
func TestTrainSurvivesSIGKILL(t *testing.T) {
	f := newKillFixture(t)
	ref := filepath.Join(f.dir, "ref")
	start := time.Now()
	first, whole := f.reference(t, ref)
	want := finalModel(t, ref)
	wantRecs := recordKeys(t, ref)

	seed := time.Now().UnixNano()
	t.Logf("kill points seeded with %d; an uninterrupted run takes %v, %v to its "+
		"first checkpoint", seed, whole, first)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	kills := 20
	if testing.Short() {
		kills = 5
	}
	stats := map[string]int{}
	for i := range kills {
		var p killPoint
		switch i % 4 {
		case 0: // before the first checkpoint
			p.delay = time.Duration(rng.Int64N(int64(first)))
		case 2: // as a checkpoint directory appears
			p.n = 1 + rng.IntN(10)
		default: // anywhere while training
			p.delay = first + time.Duration(rng.Int64N(int64(whole-first)))
		}
		runDir := filepath.Join(f.dir, fmt.Sprintf("run%02d", i))
		if f.killAt(t, runDir, p) {
			stats["during a checkpoint write"]++
		}
		stats[f.resume(t, runDir, p)]++
		if got := finalModel(t, runDir); !bytes.Equal(got, want) {
			t.Fatalf("kill %d %v: final model.bin differs from the uninterrupted run's", i, p)
		}
		if got := recordKeys(t, runDir); !slices.Equal(got, wantRecs) {
			t.Errorf("kill %d %v: metrics.jsonl reports %v, want %v", i, p, got, wantRecs)
		}
	}
	t.Logf("outcomes: %v; total %v", stats, time.Since(start).Round(time.Millisecond))
}

// reference runs uninterrupted into runDir and returns when its first
// checkpoint appeared and how long it took.
func (f *killFixture) reference(t *testing.T, runDir string) (first, whole time.Duration) {
	t.Helper()
	cmd := f.command(runDir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for first == 0 {
		select {
		case err := <-done:
			t.Fatalf("uninterrupted run ended before its first checkpoint: %v\n%s", err, &out)
		default:
		}
		if entries, _ := os.ReadDir(filepath.Join(runDir, trial.CheckpointsDir)); len(entries) > 0 {
			first = time.Since(start)
		}
		time.Sleep(200 * time.Microsecond)
	}
	if err := <-done; err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, &out)
	}
	return first, time.Since(start)
}

// resume continues a killed run and says which case it was.
func (f *killFixture) resume(t *testing.T, runDir string, p killPoint) string {
	t.Helper()
	if _, err := trial.ReadSummary(runDir); err == nil {
		return "finished before the kill"
	}
	code, errOut := f.run(t, "train", "--resume", runDir)
	switch code {
	case 0:
		return "resumed"
	case exitNoCheckpoint:
		if !strings.Contains(errOut, "no complete checkpoint") {
			t.Errorf("%v: --resume without a checkpoint says %q", p, errOut)
		}
		if out, err := f.command(runDir).CombinedOutput(); err != nil {
			t.Fatalf("%v: fresh run in the same directory: %v\n%s", p, err, out)
		}
		return "killed before the first checkpoint"
	}
	t.Fatalf("%v: churn train --resume %s exited %d: %s", p, runDir, code, errOut)
	return ""
}

// recordKeys lists "group@steps" of every line of a run's metrics.jsonl.
func recordKeys(t *testing.T, runDir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, trial.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for line := range bytes.Lines(b) {
		var r trial.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", runDir, err)
		}
		keys = append(keys, fmt.Sprintf("%s@%d", r.Group, r.Steps))
	}
	return keys
}
