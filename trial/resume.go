package trial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/churn-pdk/churn/checkpoint"
)

// ErrNoCheckpoint means a run directory holds no complete, verifiable
// checkpoint: the run died before its first one, or all are damaged.
var ErrNoCheckpoint = errors.New("trial: no complete checkpoint to resume")

// ErrRunComplete means a run directory already holds run.json.
var ErrRunComplete = errors.New("trial: run is already complete")

// IsRunDir reports whether dir is a run directory (it holds checkpoints/
// or metrics.jsonl) rather than a checkpoint directory.
func IsRunDir(dir string) bool {
	for _, name := range []string{CheckpointsDir, MetricsFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// RunDirOf returns the run directory that holds checkpoint directory ck
// (<run>/checkpoints/<id>), or "" when ck is not inside one.
func RunDirOf(ck string) string {
	parent := filepath.Dir(filepath.Clean(ck))
	if filepath.Base(parent) != CheckpointsDir {
		return ""
	}
	return filepath.Dir(parent)
}

// LatestCheckpoint returns the directory of run directory runDir's latest
// complete checkpoint whose files all verify (checkpoint.Read). It skips,
// with a log line each, temporary directories left by a crash mid-write
// and checkpoints that fail verification. With none left it returns an
// error matching ErrNoCheckpoint; a run with run.json matches
// ErrRunComplete.
func LatestCheckpoint(runDir string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(filepath.Join(runDir, SummaryFile)); err == nil {
		return "", fmt.Errorf("%w: %s holds %s", ErrRunComplete, runDir, SummaryFile)
	}
	cands, err := candidates(runDir, log)
	if err != nil {
		return "", err
	}
	for _, c := range cands {
		ck, err := checkpoint.Read(c.dir)
		if err != nil {
			log.Warn("skipping a checkpoint that fails verification", "checkpoint", c.dir,
				"error", err)
			continue
		}
		ck.Model.Close()
		return c.dir, nil
	}
	return "", fmt.Errorf("%w: %s has none; start afresh with churn train --run-dir %s",
		ErrNoCheckpoint, runDir, runDir)
}

// candidate is a checkpoint directory and the steps its metadata claims.
type candidate struct {
	dir   string
	steps int
}

// candidates lists runDir's checkpoints, latest first.
func candidates(runDir string, log *slog.Logger) ([]candidate, error) {
	root := filepath.Join(runDir, CheckpointsDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is not a run directory (no %s/)", ErrNoCheckpoint,
			runDir, CheckpointsDir)
	}
	if err != nil {
		return nil, fmt.Errorf("trial: %w", err)
	}
	var out []candidate
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			log.Info("ignoring a checkpoint left half-written", "dir", dir)
			continue
		}
		meta, err := checkpoint.ReadMetadata(dir)
		if err != nil {
			log.Warn("skipping a checkpoint with unreadable metadata", "checkpoint", dir,
				"error", err)
			continue
		}
		out = append(out, candidate{dir: dir, steps: meta.StepsCompleted})
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return b.steps - a.steps })
	return out, nil
}

// continuesInPlace reports whether o resumes a checkpoint of run dir dir.
func continuesInPlace(dir string, o LocalOptions) bool {
	if !o.Resume || o.Checkpoint == "" {
		return false
	}
	own := RunDirOf(o.Checkpoint)
	if own == "" {
		return false
	}
	a, errA := os.Stat(own)
	b, errB := os.Stat(dir)
	return errA == nil && errB == nil && os.SameFile(a, b)
}

// reopenRunDir prepares run dir dir to continue at steps: run.json must
// be absent; half-written checkpoints are removed; metrics.jsonl keeps the
// records up to steps (a later report is made again by the resumed run).
func (l *Local) reopenRunDir(steps int) error {
	if _, err := os.Stat(filepath.Join(l.dir, SummaryFile)); err == nil {
		return fmt.Errorf("%w: %s holds %s", ErrRunComplete, l.dir, SummaryFile)
	}
	if err := removePartials(filepath.Join(l.dir, CheckpointsDir), l.log); err != nil {
		return err
	}
	path := filepath.Join(l.dir, MetricsFile)
	recs, err := readRecordsTolerant(path, l.log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	kept := recs[:0]
	for _, r := range recs {
		if r.Steps <= steps {
			kept = append(kept, r)
		}
	}
	if err := writeRecords(path, kept); err != nil {
		return err
	}
	l.records = kept
	l.log.Info("continuing run", "dir", l.dir, "batches", steps, "records_kept", len(kept),
		"records_dropped", len(recs)-len(kept))
	return nil
}

// removePartials deletes the temporary directories a crash left in root.
func removePartials(root string, log *slog.Logger) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, e.Name())
		log.Info("removing a checkpoint left half-written", "dir", dir)
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("trial: %w", err)
		}
	}
	return nil
}

// readRecordsTolerant reads metrics.jsonl, dropping a damaged last line
// (a write cut short by a crash) with a log line.
func readRecordsTolerant(path string, log *slog.Logger) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(b, []byte("\n"))
	var recs []Record
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			if isLastLine(lines, i) {
				log.Warn("dropping a metrics line cut short", "file", path, "line", i+1)
				break
			}
			return nil, fmt.Errorf("trial: %s:%d: %w", path, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// isLastLine reports whether no line after i holds anything.
func isLastLine(lines [][]byte, i int) bool {
	for _, l := range lines[i+1:] {
		if len(bytes.TrimSpace(l)) > 0 {
			return false
		}
	}
	return true
}

// writeRecords replaces path with recs through a synced temporary file.
func writeRecords(path string, recs []Record) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("trial: %s: %w", path, err)
		}
	}
	return replaceFile(path, buf.Bytes())
}

// replaceFile writes b to path through a synced temporary sibling, renamed
// into place; the directory is synced after.
func replaceFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return fmt.Errorf("trial: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("trial: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("trial: sync %s: %w", dir, err)
	}
	return nil
}

// reusableRunDir reports whether dir is a run directory that died before
// its first checkpoint: nothing in it but metrics.jsonl, plots and a
// checkpoints/ that holds only half-written directories.
func reusableRunDir(dir string, entries []os.DirEntry) bool {
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == MetricsFile, strings.HasSuffix(name, ".png"),
			strings.HasPrefix(name, "."):
		case name == CheckpointsDir && e.IsDir():
			sub, err := os.ReadDir(filepath.Join(dir, name))
			if err != nil {
				return false
			}
			for _, s := range sub {
				if !strings.HasPrefix(s.Name(), ".") {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}
