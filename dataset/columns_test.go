package dataset

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// ensures a table filled through Columns, numbers as ScanNumber reads
// them and other cells as text, preprocesses bit for bit as the same
// records through RecordParser.Matrix, through one reused Scratch and
// past the initial room for rows; unset values count as empty cells.
func TestColumnsMatchRecords(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "x", "age", "fee", "churn"}
	p, err := NewRecordParser(spec, "request", header)
	if err != nil {
		t.Fatal(err)
	}
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
		gotX, gotY := append([]float32(nil), got.X...), append([]float32(nil), got.Y...)
		want, err := p.Matrix(spec, recs, new(Scratch))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want.X {
			if math.Float32bits(gotX[i]) != math.Float32bits(want.X[i]) {
				t.Fatalf("%d rows: X[%d] = %v, want %v", n, i, gotX[i], want.X[i])
			}
		}
		if len(gotY) != len(want.Y) || gotY[n-1] != want.Y[n-1] || gotY[0] != want.Y[0] {
			t.Fatalf("%d rows: Y = %v, want %v", n, gotY, want.Y)
		}
	}

	// Unset values are empty cells: a missing number and category, and a
	// label that is then invalid.
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
	for i := range want.X {
		if math.Float32bits(got.X[i]) != math.Float32bits(want.X[i]) {
			t.Fatalf("unset: X[%d] = %v, want %v", i, got.X[i], want.X[i])
		}
	}
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

// checkScan checks ScanNumber(s) against JSON's grammar and parseNumber.
func checkScan(t *testing.T, s string) {
	t.Helper()
	v, n, exact := ScanNumber(s)
	if n == 0 {
		if len(s) > 0 && (s[0] == '-' || s[0]-'0' < 10) && json.Valid([]byte(s[:1])) {
			t.Fatalf("ScanNumber(%q) found no number", s)
		}
		return
	}
	if !json.Valid([]byte(s[:n])) {
		t.Fatalf("ScanNumber(%q) = length %d: %q is no JSON number", s, n, s[:n])
	}
	for end := n + 1; end <= len(s) && end <= n+8; end++ {
		if json.Valid([]byte(s[:end])) && !strings.ContainsAny(s[:end], " \t\r\n") {
			t.Fatalf("ScanNumber(%q) = length %d; %q is a longer number", s, n, s[:end])
		}
	}
	if !exact {
		return
	}
	want, err := parseNumber(s[:n])
	if err != nil || math.Float64bits(v) != math.Float64bits(want) {
		t.Fatalf("ScanNumber(%q) = %v, parseNumber(%q) = %v, %v", s, v, s[:n], want, err)
	}
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
