package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// ensures a table filled through Columns, numbers as ScanNumber reads
// them and other cells as text, preprocesses bit for bit as the same
// records through RecordParser.Matrix, through one reused Scratch and
// past the initial room for rows.
func TestColumnsMatchRecords(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "x", "age", "fee", "churn"}
	p := newParser(t, spec, header)
	all := [][]string{{"pro", "a", "30", "1", "Yes"}, {"gold", "b", "NA", "2", "No"},
		{"basic", "c", "1.5", "", "No"}, {"gold", "d", "2e1", "3", "No"},
		{"new", "e", "7", "4.25", "Yes"}, {"pro", "f", "-2", "5", "No"},
		{"", "g", "123456789012345678901", "0.1", "Yes"}}
	var s Scratch
	for _, n := range []int{7, 2, 7} {
		recs := all[:n]
		cols := p.Columns(&s, 1) // room for one row: the rest grows
		for range recs {
			cols.AddRow()
		}
		for j := range header {
			for i, rec := range recs {
				setCell(t, cols, j, i, rec[j])
			}
		}
		got, err := cols.Matrix(spec)
		if err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
		want, err := p.Matrix(spec, recs, new(Scratch))
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, fmt.Sprintf("%d rows", n), got, want)
	}
}

// ensures unset values are empty cells: a missing number and category
// preprocess as empty ones, and an unset label is an invalid one.
func TestColumnsUnsetCells(t *testing.T) {
	spec := tinySpec(t)
	p := newParser(t, spec, []string{"plan", "x", "age", "fee", "churn"})
	var s Scratch
	cols := p.Columns(&s, 4)
	cols.AddRow()
	if err := cols.Text(4, 0, "No"); err != nil {
		t.Fatal(err)
	}
	got, err := cols.Matrix(spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Matrix(spec, [][]string{{"", "", "", "", "No"}}, new(Scratch))
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, "unset cells", got, want)
	cols = p.Columns(&s, 4)
	cols.AddRow()
	if _, err := cols.Matrix(spec); !errors.Is(err, ErrBadLabel) {
		t.Errorf("unset label: %v, want ErrBadLabel", err)
	}
}

// setCell sets one cell through Columns as a decoder would: a number
// ScanNumber reads whole and exactly as a value, anything else as text.
func setCell(t *testing.T, cols *Columns, j, row int, cell string) {
	t.Helper()
	if v, n, exact := ScanNumber(cell); n == len(cell) && exact && cols.Number(j, row, v) {
		return
	}
	if err := cols.Text(j, row, cell); err != nil {
		t.Fatalf("Text(%d, %d, %q): %v", j, row, cell, err)
	}
}

// ensures Columns reports bad cells as RecordParser.Matrix does, and an
// empty table.
func TestColumnsErrors(t *testing.T) {
	spec := tinySpec(t)
	p, err := NewRecordParser(spec, "request", []string{"plan", "age", "fee"})
	if err != nil {
		t.Fatal(err)
	}
	var s Scratch
	cols := p.Columns(&s, 2)
	if _, err := cols.Matrix(spec); !errors.Is(err, ErrEmpty) {
		t.Errorf("no rows: %v, want ErrEmpty", err)
	}
	cols.AddRow()
	cols.AddRow()
	err = cols.Text(1, 1, "x")
	if !errors.Is(err, ErrNotNumber) ||
		!strings.Contains(err.Error(), `request: row 1: column "age": value "x"`) {
		t.Errorf("Text(bad age) = %v", err)
	}
	if err := cols.Text(1, 0, "1e999"); !errors.Is(err, ErrNotNumber) {
		t.Errorf("Text(1e999) = %v, want ErrNotNumber", err)
	}
	if cols.Number(0, 0, 1) {
		t.Error("Number took a value for the categorical column plan")
	}
}

// ensures ScanNumber's length and exactness on short literals, with
// what follows a number, and checkScan's properties on each.
func TestScanNumber(t *testing.T) {
	for _, c := range []struct {
		in    string
		n     int
		exact bool
	}{
		{"35.8425,", 7, true}, {"0", 1, true}, {"-0.0}", 4, true}, {"01", 1, true},
		{"1.", 1, true}, {"1.e5", 1, true}, {"-", 0, false}, {"+1", 0, false},
		{".5", 0, false}, {"1e5", 3, false}, {"1E-2x", 4, false}, {"1e", 1, true},
		{"12345678901234567890", 20, false}, {"9007199254740993", 16, false},
	} {
		v, n, exact := ScanNumber(c.in)
		if n != c.n || exact != c.exact {
			t.Errorf("ScanNumber(%q) = %v, %d, %v; want length %d, exact %v",
				c.in, v, n, exact, c.n, c.exact)
		}
		checkScan(t, c.in)
	}
}

// scanWindow bounds the prefixes checkScan tries as JSON numbers.
const scanWindow = 64

// checkScan checks ScanNumber(s) against JSON's grammar and parseNumber:
// its length must be that of the longest prefix of s that is one JSON
// number (whenever that length is within scanWindow bytes), and an exact
// value must be parseNumber's, bit for bit.
func checkScan(t *testing.T, s string) {
	t.Helper()
	v, n, exact := ScanNumber(s)
	if n > 0 && !json.Valid([]byte(s[:n])) {
		t.Fatalf("ScanNumber(%q) = length %d: %q is no JSON number", s, n, s[:n])
	}
	// When ScanNumber stops within the window, no longer number may end
	// in it; a number that runs past the window is left to the check above.
	if long := longestNumber(s[:min(len(s), scanWindow)]); n <= scanWindow && n != long {
		t.Fatalf("ScanNumber(%q) = length %d; the longest JSON number is %q", s, n, s[:long])
	}
	if !exact {
		return
	}
	want, err := parseNumber(s[:n])
	if err != nil || math.Float64bits(v) != math.Float64bits(want) {
		t.Fatalf("ScanNumber(%q) = %v, parseNumber(%q) = %v, %v", s, v, s[:n], want, err)
	}
}

// longestNumber returns the length of the longest prefix of s that is
// exactly one JSON number, with no whitespace around it, or 0.
func longestNumber(s string) int {
	if s == "" || (s[0] != '-' && s[0]-'0' > 9) {
		return 0 // no JSON value starting so is a number
	}
	for end := len(s); end > 0; end-- {
		if !strings.ContainsRune(" \t\r\n", rune(s[end-1])) && json.Valid([]byte(s[:end])) {
			return end
		}
	}
	return 0
}

// FuzzScanNumber ensures ScanNumber reads exactly JSON's numbers and, when
// exact, gives parseNumber's value bit for bit.
func FuzzScanNumber(f *testing.F) {
	for _, s := range []string{"35.8425,", "-0.5e+3", "0.1", "9007199254740993.5", "1.e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScan(t, s) })
}

// BenchmarkScanNumber reads 4,096 numbers shaped like a pandas body's:
// integers and decimals of one to eleven digits, in a seeded random
// order (so that branch prediction cannot learn them), each followed by
// a comma.
func BenchmarkScanNumber(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	nums := make([]string, 4096)
	for i := range nums {
		v := rng.Float64() * math.Pow(10, float64(rng.IntN(5)))
		nums[i] = strconv.FormatFloat(v, 'f', rng.IntN(8), 64) + ","
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range nums {
			if _, n, _ := ScanNumber(s); n == 0 {
				b.Fatal(s)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(nums)), "ns/number")
}
