package dataset

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ensures RecordParser.Matrix gives, bit for bit, what Parse then
// Preprocess give, for tables of several sizes through one reused Scratch
// (larger then smaller then larger, unseen categories and missing values
// among them), and the same errors.
func TestRecordParserMatrix(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "age", "fee", "churn"}
	p, err := NewRecordParser(spec, "request", header)
	if err != nil {
		t.Fatal(err)
	}
	all := [][]string{{"pro", "30", "1", "Yes"}, {"gold", "NA", "2", "No"},
		{"basic", "1.5", "", "No"}, {"gold", "2", "3", "No"}, {"new", "7", "4", "Yes"},
		{"pro", "-2e3", "5", "No"}}
	var s Scratch
	for _, n := range []int{6, 2, 1, 5, 6} {
		recs := all[:n]
		if n == 1 {
			recs = all[4:5] // one row whose plan is no category
		}
		got, err := p.Matrix(spec, recs, &s)
		if err != nil {
			t.Fatalf("%d rows: Matrix: %v", n, err)
		}
		tab, err := p.Parse(recs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Preprocess(spec, tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, fmt.Sprintf("%d rows", n), got, want)
	}
	_, err = p.Matrix(spec, [][]string{{"pro", "x", "1", "Yes"}}, &s)
	if !errors.Is(err, ErrNotNumber) ||
		!strings.Contains(err.Error(), `request: row 0: column "age": value "x"`) {
		t.Errorf("Matrix(bad age) = %v", err)
	}
	if _, err := p.Matrix(spec, nil, &s); !errors.Is(err, ErrEmpty) {
		t.Errorf("Matrix(no rows) = %v, want ErrEmpty", err)
	}
}

// ensures a reused Scratch allocates nothing per call when every value is
// one of its column's categories.
func TestRecordParserMatrixAllocs(t *testing.T) {
	spec := tinySpec(t)
	p, err := NewRecordParser(spec, "request", []string{"plan", "age", "fee"})
	if err != nil {
		t.Fatal(err)
	}
	recs := [][]string{{"pro", "30", "1"}, {"basic", "NA", "2"}, {"basic", "1.5", ""}}
	var s Scratch
	if n := testing.AllocsPerRun(100, func() {
		if _, err := p.Matrix(spec, recs, &s); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}
