package trial

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// xSpec is a spec of one numeric column x and a 1/0 label.
func xSpec() *dataset.Spec {
	return &dataset.Spec{Label: "churn", Positive: "1", Negative: "0",
		Numeric: []dataset.NumericColumn{{Name: "x", Mean: 10, Std: 5}}}
}

// xCSV is rows rows of x,churn with churn 1 only at the rows in pos.
func xCSV(rows int, pos ...int) string {
	var b strings.Builder
	b.WriteString("x,churn\n")
	for i := range rows {
		label := 0
		for _, p := range pos {
			if p == i {
				label = 1
			}
		}
		fmt.Fprintf(&b, "%d,%d\n", i%20, label)
	}
	return b.String()
}

func memData(text string) DataSource {
	return MemFiles{{Name: "x.csv", Data: []byte(text)}}
}

// ensures training data of one class is refused, and a validation split
// without a class is trained on with a warning in the data report.
func TestRunChecksClasses(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 4, 8, 2)
	_, _, err := runLocal(t, context.Background(), filepath.Join(dir, "one"), cfg, nil,
		Settings{Data: memData(xCSV(50)), Spec: xSpec()})
	want := `trial: the training split holds 0 rows of "churn"="1" and 40 of "0"; ` +
		"a classifier needs both classes"
	if err == nil || err.Error() != want {
		t.Fatalf("one class: Run: %v, want %s", err, want)
	}
	// Find a row whose positive falls in the training split (seed 42).
	k := -1
	for i := range 50 {
		tab, _, err := dataset.LoadReaders(xSpec(), true,
			dataset.Source{Name: "x.csv", R: strings.NewReader(xCSV(50, i))})
		if err != nil {
			t.Fatal(err)
		}
		train, _, err := dataset.Split(tab, 0.2, 42)
		if err != nil {
			t.Fatal(err)
		}
		if train.Positives() == 1 {
			k = i
			break
		}
	}
	_, res, err := runLocal(t, context.Background(), filepath.Join(dir, "val"), cfg, nil,
		Settings{Data: memData(xCSV(50, k)), Spec: xSpec()})
	if err != nil {
		t.Fatalf("validation without positives: Run: %v", err)
	}
	wantWarn := `the validation split holds 0 rows of "churn"="1" and 10 of "0": ` +
		"auc is undefined and val_acc says little"
	if len(res.Report.Warnings) != 1 || res.Report.Warnings[0] != wantWarn {
		t.Fatalf("report warnings %q, want [%s]", res.Report.Warnings, wantWarn)
	}
	var out strings.Builder
	res.Report.WriteTo(&out)
	if !strings.Contains(out.String(), "\nwarning: "+wantWarn+"\n") {
		t.Errorf("report does not print the warning:\n%s", out.String())
	}
}

// ensures a batch larger than the training split is an error naming the
// field and the row count, not a silent cap.
func TestRunRefusesOversizedBatch(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 4, 41, 2)
	_, _, err := runLocal(t, context.Background(), filepath.Join(dir, "run"), cfg, nil,
		Settings{Data: memData(xCSV(50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), Spec: xSpec()})
	want := "trial: hyperparameters.global_batch_size 41 exceeds the 40 training rows; " +
		"lower it to at most 40"
	if err == nil || err.Error() != want {
		t.Fatalf("Run: %v, want %s", err, want)
	}
}

// countingSource counts Open calls.
type countingSource struct {
	DataSource
	opens int
}

func (c *countingSource) Open(ctx context.Context) ([]dataset.Source, func(), error) {
	c.opens++
	return c.DataSource.Open(ctx)
}

// ensures fitting a spec reads the data once per use, picks the positive
// value from the label, and reports a missing label column as it is.
func TestRunInferReadsOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig(t, 4, 8, 2)
	src := &countingSource{DataSource: memData(xCSV(50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10))}
	_, _, err := runLocal(t, context.Background(), filepath.Join(dir, "bad"), cfg, nil,
		Settings{Data: src, Infer: dataset.InferOptions{Label: "nolabel"}})
	if !errors.Is(err, dataset.ErrMissingColumn) || strings.Contains(err.Error(), "tried") ||
		src.opens != 1 {
		t.Fatalf("Run: %v after %d reads, want a missing column error after 1", err, src.opens)
	}
	src.opens = 0
	_, res, err := runLocal(t, context.Background(), filepath.Join(dir, "ok"), cfg, nil,
		Settings{Data: src, Infer: dataset.InferOptions{Label: "churn"}})
	if err != nil || src.opens != 2 || res.Report.Positive != "1" || res.Report.Positives != 10 {
		t.Fatalf("Run: %v after %d reads, report %+v; want positive \"1\" (10 rows) "+
			"after 2 reads (fit, load)", err, src.opens, res.Report)
	}
}

// ensures a local data file is recorded with its absolute path as well as
// the name given.
func TestRunRecordsDataPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d.csv"),
		[]byte(xCSV(50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	_, res, err := runLocal(t, context.Background(), filepath.Join(dir, "run"),
		smallConfig(t, 4, 8, 2), nil, Settings{Data: Files{"d.csv"}, Spec: xSpec()})
	if err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := res.Data[0]
	if got.Name != "d.csv" || (got.Path != filepath.Join(dir, "d.csv") &&
		got.Path != filepath.Join(real, "d.csv")) {
		t.Fatalf("data %+v, want name d.csv and path %s", got, filepath.Join(dir, "d.csv"))
	}
}
