package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

// awkwardRecords returns n seeded random records for header, drawing
// each cell from a pool of awkward values for its column (tinySpec's
// columns and the unknown column x).
func awkwardRecords(rng *rand.Rand, header []string, n int) [][]string {
	pools := map[string][]string{
		"plan": {"basic", "pro", "gold", "", "NA", "null", "pro "},
		"x":    {"a", "", "z"},
		"age": {"30", "1.5", "-0", "NA", "", "2e1", "123456789012345678901", "0.1",
			"9007199254740993", "0.0000000000000000000001", " 7 ", "-12.25"},
		"fee":   {"1", "4.25", "", "-0.0", "1E-2", "99999999999999999999.5"},
		"churn": {"Yes", "No"},
	}
	recs := make([][]string, n)
	for i := range recs {
		recs[i] = make([]string, len(header))
		for j, h := range header {
			p := pools[h]
			recs[i][j] = p[rng.IntN(len(p))]
		}
	}
	return recs
}

// sameMatrix fails unless got is want bit for bit, labels included (no
// labels and an empty label slice count as the same).
func sameMatrix(t *testing.T, what string, got, want *Matrix) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols || len(got.X) != len(want.X) {
		t.Fatalf("%s: %dx%d (%d inputs), want %dx%d (%d)", what, got.Rows, got.Cols,
			len(got.X), want.Rows, want.Cols, len(want.X))
	}
	for i := range want.X {
		if math.Float32bits(got.X[i]) != math.Float32bits(want.X[i]) {
			t.Fatalf("%s: X[%d] = %v, want %v", what, i, got.X[i], want.X[i])
		}
	}
	if len(got.Y) != len(want.Y) {
		t.Fatalf("%s: %d labels, want %d", what, len(got.Y), len(want.Y))
	}
	for i := range want.Y {
		if got.Y[i] != want.Y[i] {
			t.Fatalf("%s: Y[%d] = %v, want %v", what, i, got.Y[i], want.Y[i])
		}
	}
}

// fillShuffled fills a Columns table from recs, cells in a random order
// (some empty cells left unset), with room for a random number of rows,
// and returns its matrix.
func fillShuffled(t *testing.T, rng *rand.Rand, p *RecordParser, s *Scratch, spec *Spec,
	recs [][]string) (*Matrix, error) {
	t.Helper()
	cols := p.Columns(s, rng.IntN(2*len(recs)+2))
	for range recs {
		cols.AddRow()
	}
	if cols.Rows() != len(recs) {
		t.Fatalf("Rows() = %d after %d AddRow", cols.Rows(), len(recs))
	}
	width := len(recs[0])
	for _, c := range rng.Perm(len(recs) * width) {
		i, j := c/width, c%width
		if recs[i][j] == "" && rng.IntN(2) == 0 {
			continue // an unset cell is an empty one
		}
		setCell(t, cols, j, i, recs[i][j])
	}
	return cols.Matrix(spec)
}

// newParser returns tinySpec's RecordParser for header.
func newParser(t *testing.T, spec *Spec, header []string) *RecordParser {
	t.Helper()
	p, err := NewRecordParser(spec, "request", header)
	if err != nil {
		t.Fatalf("NewRecordParser(%q): %v", header, err)
	}
	return p
}

// ensures one Scratch serves, in a seeded random order, Columns tables
// filled cell by cell in random order (with room for fewer rows than
// come, or many more), RecordParser.Matrix calls, and two parsers (one
// with a label, one without, in another header order), each result being
// what a fresh Scratch gives for the same records.
func TestColumnsScratchReuse(t *testing.T) {
	spec := tinySpec(t)
	headers := [][]string{{"fee", "plan", "age"}, {"plan", "x", "age", "fee", "churn"}}
	parsers := []*RecordParser{newParser(t, spec, headers[0]), newParser(t, spec, headers[1])}
	rng := rand.New(rand.NewPCG(3, 4))
	var s Scratch
	for it := range 300 {
		which := rng.IntN(2)
		p := parsers[which]
		n := 1 + rng.IntN(70)
		if rng.IntN(10) == 0 {
			n = 200 + rng.IntN(300)
		}
		recs := awkwardRecords(rng, headers[which], n)
		want, err := p.Matrix(spec, recs, new(Scratch))
		if err != nil {
			t.Fatal(err)
		}
		var got *Matrix
		if rng.IntN(3) == 0 {
			got, err = p.Matrix(spec, recs, &s)
		} else {
			got, err = fillShuffled(t, rng, p, &s, spec, recs)
		}
		if err != nil {
			t.Fatalf("iteration %d (%d rows): %v", it, n, err)
		}
		sameMatrix(t, "reused scratch", got, want)
	}
}

// ensures a table grown far past its room, then a smaller one whose room
// is the grown size, each give their own rows and labels.
func TestColumnsShrink(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "x", "age", "fee", "churn"}
	p := newParser(t, spec, header)
	rng := rand.New(rand.NewPCG(5, 6))
	var s Scratch
	for _, c := range []struct{ room, n int }{{1, 1000}, {1000, 2}, {1, 3}, {0, 1}, {3, 300}} {
		recs := awkwardRecords(rng, header, c.n)
		cols := p.Columns(&s, c.room)
		for range recs {
			cols.AddRow()
		}
		for i, rec := range recs {
			for j := range header {
				setCell(t, cols, j, i, rec[j])
			}
		}
		got, err := cols.Matrix(spec)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.Matrix(spec, recs, new(Scratch))
		if err != nil {
			t.Fatal(err)
		}
		sameMatrix(t, "shrunk table", got, want)
	}
}

// ensures ScanNumber's length and exactness on edge literals, its value
// against parseNumber whenever it says exact, and its length against
// JSON's grammar (checkScan).
func TestScanNumberEdges(t *testing.T) {
	for _, c := range []struct {
		in    string
		n     int
		exact bool
	}{
		{"-5", 2, true}, {"-0", 2, true}, {"-0.0", 4, true}, {"00.5", 1, true},
		{"-01", 2, true}, {"0.0000000000000000000001", 24, false},
		{"0.000000000000000000001", 23, false}, {"1.5e", 3, true}, {"1.5e+", 3, true},
		{"1.5E-0", 6, false}, {"9007199254740992", 16, true},
		{"9007199254740992.0", 18, false}, {"900719925474099.2", 17, true},
		{"1234567890123456789", 19, false}, {"0.1234567890123456", 18, true},
		{"-1-1", 2, true}, {"1..5", 1, true}, {"1.5.5", 3, true}, {"-.5", 0, false},
		{"\x00", 0, false}, {"", 0, false}, {"9", 1, true}, {"1e5e5", 3, false},
		{"4.9e-324", 8, false}, {"0e0", 3, false}, {"1,", 1, true}, {"1 ", 1, true},
	} {
		v, n, exact := ScanNumber(c.in)
		if n != c.n || exact != c.exact {
			t.Errorf("ScanNumber(%q) = %v, %d, %v; want length %d, exact %v",
				c.in, v, n, exact, c.n, c.exact)
			continue
		}
		checkScan(t, c.in)
	}
}

// randomDecimal returns a seeded random decimal literal: an optional
// minus, an integer part of 1 to 17 digits (0 in one case of five), and
// in two cases of three a fraction of 1 to 22 digits.
func randomDecimal(rng *rand.Rand) string {
	const digits = "0123456789"
	var b []byte
	if rng.IntN(2) == 0 {
		b = append(b, '-')
	}
	ni := 1 + rng.IntN(17)
	b = append(b, digits[1+rng.IntN(9)])
	for range ni - 1 {
		b = append(b, digits[rng.IntN(10)])
	}
	if rng.IntN(5) == 0 {
		b = append(b[:len(b)-ni], '0')
	}
	if rng.IntN(3) > 0 {
		b = append(b, '.')
		for range 1 + rng.IntN(22) {
			b = append(b, digits[rng.IntN(10)])
		}
	}
	return string(b)
}

// ensures ScanNumber reads random decimal literals (up to 17 integer
// digits, long fractions, many near 2^53) whole, and gives parseNumber's
// value bit for bit whenever it says exact.
func TestScanNumberRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		s := randomDecimal(rng)
		v, got, exact := ScanNumber(s + ",")
		if got != len(s) {
			t.Fatalf("ScanNumber(%q) length %d, want %d", s, got, len(s))
		}
		want, err := parseNumber(s)
		if err != nil {
			t.Fatalf("parseNumber(%q): %v", s, err)
		}
		if exact && math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("ScanNumber(%q) = %v, parseNumber %v", s, v, want)
		}
	}
}
