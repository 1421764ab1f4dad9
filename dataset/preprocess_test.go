package dataset

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ensures Preprocess standardises, imputes, one-hot encodes and counts.
func TestPreprocess(t *testing.T) {
	spec := tinySpec(t) // age: mean 40 std 10; fee: mean 1 std 2; plan: basic, pro
	tab, rep, err := LoadReaders(spec, true, Source{Name: "t.csv", R: strings.NewReader(
		"age,fee,plan,churn\n60,0,pro,Yes\nNA,2,basic,No\n35,,gold,No\n")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Preprocess(spec, tab, rep)
	if err != nil {
		t.Fatalf("Preprocess: %v", err)
	}
	want := []float32{
		2, -0.5, 0, 1, // (60-40)/10, (0-1)/2, pro
		0, 0.5, 1, 0, // missing age, (2-1)/2, basic
		-0.5, 0, 0, 0, // (35-40)/10, missing fee, unseen gold
	}
	if m.Rows != 3 || m.Cols != 4 || len(m.X) != len(want) {
		t.Fatalf("Preprocess: %dx%d (%d values), want 3x4", m.Rows, m.Cols, len(m.X))
	}
	for i := range want {
		if m.X[i] != want[i] {
			t.Errorf("X[%d] (row %d, %s) = %v, want %v", i, i/4, spec.Inputs[i%4], m.X[i], want[i])
		}
	}
	if len(m.Y) != 3 || m.Y[0] != 1 || m.Y[1] != 0 || m.Y[2] != 0 {
		t.Errorf("Y = %v, want [1 0 0]", m.Y)
	}
	if rep.Missing["age"] != 1 || rep.Missing["fee"] != 1 || len(rep.Missing) != 2 {
		t.Errorf("Report.Missing = %v, want age 1, fee 1", rep.Missing)
	}
	if rep.Unseen["plan"] != 1 || len(rep.Unseen) != 1 {
		t.Errorf("Report.Unseen = %v, want plan 1", rep.Unseen)
	}
	if got := m.Row(1); got[1] != 0.5 || len(got) != 4 {
		t.Errorf("Row(1) = %v, want [0 0.5 1 0]", got)
	}
}

// ensures the float32 is the float64 result rounded once more, as pandas
// gives it, not a float32 computation.
func TestPreprocessRounding(t *testing.T) {
	spec := &Spec{Label: "y", Positive: "1", Negative: "0",
		Numeric: []NumericColumn{{Name: "x", Mean: 0.1, Std: 3}}}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	tab, err := FromRecords(spec, "request", []string{"x"}, [][]string{{"1.7"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Preprocess(spec, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, mean, std := 1.7, 0.1, 3.0
	want := float32((x - mean) / std)
	if m.X[0] != want {
		t.Errorf("X[0] = %v, want %v", m.X[0], want)
	}
	if m.Y != nil {
		t.Errorf("Y = %v, want nil for a table without label", m.Y)
	}
}

// ensures Preprocess with a spec whose columns the table lacks fails.
func TestPreprocessMissingColumn(t *testing.T) {
	spec := tinySpec(t)
	tab, err := FromRecords(spec, "request", []string{"age", "fee", "plan"},
		[][]string{{"1", "2", "pro"}})
	if err != nil {
		t.Fatal(err)
	}
	other := &Spec{Label: "churn", Positive: "Yes", Negative: "No",
		Numeric: []NumericColumn{{Name: "tenure", Mean: 0, Std: 1}}}
	if _, err := Preprocess(other, tab, nil); err == nil ||
		!strings.Contains(err.Error(), `"tenure"`) {
		t.Errorf("Preprocess(other spec) = %v, want an error naming tenure", err)
	}
}

// ensures Split gives ceil(testSize*n) validation rows, a partition of the
// rows, the same split for the same seed and another for another seed.
func TestSplit(t *testing.T) {
	spec := &Spec{Label: "y", Positive: "1", Negative: "0",
		Numeric: []NumericColumn{{Name: "id", Mean: 0, Std: 1}}}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	const n = 101
	recs := make([][]string, n)
	for i := range recs {
		recs[i] = []string{strconv.Itoa(i), strconv.Itoa(i % 2)}
	}
	tab, err := FromRecords(spec, "ids", []string{"id", "y"}, recs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		size    float64
		wantVal int
	}{{0.2, 21}, {0.25, 26}, {0.5, 51}, {0.01, 2}, {0.001, 1}}
	for _, tt := range tests {
		tr, va, err := Split(tab, tt.size, 42)
		if err != nil {
			t.Fatalf("Split(%v): %v", tt.size, err)
		}
		if va.Len() != tt.wantVal || tr.Len() != n-tt.wantVal {
			t.Errorf("Split(%v): %d/%d rows, want %d/%d", tt.size, tr.Len(), va.Len(),
				n-tt.wantVal, tt.wantVal)
		}
		seen := map[float64]bool{}
		for _, part := range []*Table{tr, va} {
			ids, _ := part.Numeric("id")
			y := part.Labels()
			for k, id := range ids {
				if seen[id] || y[k] != float32(int(id)%2) {
					t.Fatalf("Split(%v): row %v repeated or its label lost", tt.size, id)
				}
				seen[id] = true
			}
		}
		if len(seen) != n {
			t.Errorf("Split(%v): %d distinct rows, want %d", tt.size, len(seen), n)
		}
	}
	_, a, _ := Split(tab, 0.2, 7)
	_, b, _ := Split(tab, 0.2, 7)
	_, c, _ := Split(tab, 0.2, 8)
	ia, _ := a.Numeric("id")
	ib, _ := b.Numeric("id")
	ic, _ := c.Numeric("id")
	if !equalFloats(ia, ib) || equalFloats(ia, ic) {
		t.Errorf("Split: seed 7 gave %v then %v; seed 8 gave %v", ia, ib, ic)
	}
	for _, size := range []float64{0, 1, -0.1, math.NaN(), 0.999} {
		if _, _, err := Split(tab, size, 1); err == nil {
			t.Errorf("Split(%v) succeeded, want an error", size)
		}
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ensures Concat joins rows and refuses tables with other columns.
func TestConcat(t *testing.T) {
	spec := tinySpec(t)
	h := []string{"age", "fee", "plan", "churn"}
	a, _ := FromRecords(spec, "a", h, [][]string{{"1", "2", "pro", "Yes"}})
	b, _ := FromRecords(spec, "b", h[:3], [][]string{{"3", "4", "basic"}, {"5", "6", "pro"}})
	c, err := Concat(a, b)
	if err != nil {
		t.Fatalf("Concat: %v", err)
	}
	age, _ := c.Numeric("age")
	if c.Len() != 3 || c.HasLabel() || !equalFloats(age, []float64{1, 3, 5}) {
		t.Errorf("Concat: len %d, label %v, age %v; want 3, false, [1 3 5]",
			c.Len(), c.HasLabel(), age)
	}
	if plan, _ := c.Categorical("plan"); !slices.Equal(plan, []string{"pro", "basic", "pro"}) {
		t.Errorf("Concat: plan = %q, want [pro basic pro]", plan)
	}
	m, err := Preprocess(spec, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	// plan_basic, plan_pro are inputs 2 and 3.
	if m.X[3] != 1 || m.X[4+2] != 1 || m.X[8+3] != 1 || m.X[2]+m.X[4+3]+m.X[8+2] != 0 {
		t.Errorf("Concat then Preprocess: one-hot blocks %v", m.X)
	}
	other := &Spec{Label: "churn", Positive: "Yes", Negative: "No",
		Numeric: []NumericColumn{{Name: "age", Mean: 0, Std: 1}}}
	d, _ := FromRecords(other, "d", h, [][]string{{"1", "2", "pro", "No"}})
	if _, err := Concat(a, d); err == nil {
		t.Error("Concat(tables with other columns) succeeded, want an error")
	}
	if _, err := Concat(); !errors.Is(err, ErrNoInput) {
		t.Errorf("Concat() = %v, want ErrNoInput", err)
	}
}

// ensures the report prints files, totals, label balance and counts aligned.
func TestReportWriteTo(t *testing.T) {
	spec := tinySpec(t)
	_, rep, err := LoadReaders(spec, true,
		Source{Name: "first.csv", R: strings.NewReader("age,fee,plan,churn\n1,2,pro,Yes\n")},
		Source{Name: "second-file.csv", R: strings.NewReader(
			"age,fee,plan,churn\n1,2,pro,No\n,2,x,No\n,2,pro,Yes\n")})
	if err != nil {
		t.Fatal(err)
	}
	add(&rep.Missing, "age", 2)
	add(&rep.Unseen, "plan", 1)
	var buf bytes.Buffer
	n, err := rep.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	out := buf.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	for _, want := range []string{
		"label churn: Yes 2 (50.0%), No 2 (50.0%)", "  age  2", "  plan  1",
		"second-file.csv", "total",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteTo output lacks %q:\n%s", want, out)
		}
	}
	// The file table's columns line up: each row is as wide as the header.
	for _, l := range lines[1:4] {
		if len(l) != len(lines[0]) {
			t.Errorf("WriteTo: row %q is not aligned with header %q", l, lines[0])
		}
	}
}
