package dataset

import (
	"encoding/csv"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// scanAll reads every record of text with a csvScanner fed through r's
// wrapper (nil: a strings.Reader) and a block of block bytes.
func scanAll(text string, block int, wrap func(io.Reader) io.Reader) ([][]string, error) {
	var r io.Reader = strings.NewReader(text)
	if wrap != nil {
		r = wrap(r)
	}
	s := newCSVScanner(Source{Name: "t.csv", R: r})
	s.buf = make([]byte, block)
	var out [][]string
	for {
		rec, err := s.next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]string(nil), rec...))
		for i := range out[len(out)-1] {
			out[len(out)-1][i] = strings.Clone(out[len(out)-1][i])
		}
	}
}

// stdRecords reads text with encoding/csv, as the scanner's reference.
func stdRecords(text string) ([][]string, int, error) {
	r := csv.NewReader(strings.NewReader(text))
	var out [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, 0, nil
		}
		if err != nil {
			var pe *csv.ParseError
			errors.As(err, &pe)
			return out, pe.Line, err
		}
		out = append(out, rec)
	}
}

// ensures the scanner reads what encoding/csv reads, record for record,
// fails where it fails, on the same line, and does so whatever the block
// size and however the stream splits its reads.
func TestCSVScannerMatchesEncodingCSV(t *testing.T) {
	texts := []string{
		"a,b,c\n1,2,3\n",
		"a,b\n1,2",
		"a,b\r\n1,2\r\n\r\n\n3,4\r\n",
		"a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n",
		"a,b\n\"multi\nline\",2\n3,4\n",
		"a,b\n\"multi\r\nline\",\"\"\n",
		"a,b\n1,\n,\n",
		"a,b\n1,2,\n",
		"a,b\n1,2\r",
		"a,b\n\"1\"\r",
		"a,b\n\"1\"\r\n\"2\",3\n",
		"a\n\r\n\r\rx\n",
		"a,b\n1,x\ry\n",
		"a,b\n1,2\"\n",
		"a,b\n\"1\"x,2\n",
		"a,b\n\"unterminated\n",
		"a,b\n1,2\n3\n",
		"a,b\n\"x\n\ny\",\"\n\"\n1,\"2\"\"\"\n",
		"",
		"\n\n",
		"a,\"b\nc\",d\n1,2,\"3\"\"\n",
	}
	for _, text := range texts {
		want, wantLine, wantErr := stdRecords(text)
		for _, block := range []int{1, 2, 3, 7, 64, scanBlock} {
			for _, wrap := range []func(io.Reader) io.Reader{nil, iotest.OneByteReader,
				iotest.DataErrReader} {
				got, err := scanAll(text, block, wrap)
				checkSame(t, text, block, got, err, want, wantLine, wantErr)
			}
		}
	}
}

func checkSame(t *testing.T, text string, block int, got [][]string, err error,
	want [][]string, wantLine int, wantErr error) {
	t.Helper()
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("%q (block %d): err %v, encoding/csv %v", text, block, err, wantErr)
	}
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Line != wantLine {
			t.Fatalf("%q (block %d): err %v, want ErrMalformed on line %d (%v)", text, block,
				err, wantLine, wantErr)
		}
		var ce *csv.ParseError
		errors.As(wantErr, &ce)
		if !errors.Is(err, ce.Err) {
			t.Fatalf("%q (block %d): err %v, want %v", text, block, err, ce.Err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%q (block %d): %d records %q, encoding/csv %d %q", text, block, len(got),
			got, len(want), want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("%q (block %d): record %d = %q, encoding/csv %q", text, block, i,
				got[i], want[i])
		}
	}
}

// ensures a leading byte order mark is skipped, counted and hashed, and
// that the byte column and the header name reach a quote error.
func TestCSVScannerBOMAndPositions(t *testing.T) {
	text := "\ufeff\"age\",fee\n1,2\n"
	got, err := scanAll(text, 64, nil)
	if err != nil || len(got) != 2 || got[0][0] != "age" {
		t.Fatalf("BOM: %q, %v; want the header age,fee", got, err)
	}
	_, err = scanAll("age,fee\n1,2\n3,4\"5\n", 64, nil)
	if err == nil || !strings.Contains(err.Error(), `field 2 "fee", byte 4 of the line`) ||
		!strings.HasPrefix(err.Error(), "dataset: t.csv:3: malformed CSV") {
		t.Errorf("bare quote: %v, want t.csv:3, field 2 \"fee\", byte 4", err)
	}
	_, err = scanAll("a,b\n1,2\n3\n", 64, nil)
	if err == nil || !strings.Contains(err.Error(), "wrong number of fields: 1, the header has 2") {
		t.Errorf("field count: %v", err)
	}
}

// FuzzCSVScanner ensures the scanner agrees with encoding/csv on any text,
// at several block sizes.
func FuzzCSVScanner(f *testing.F) {
	f.Add("a,b\n\"x\"\"y\",2\r\n\n3,\"4\n5\"\n")
	f.Add("a\r\n\"\r\n\"\r")
	f.Add("a,b\n1,\"2\"x\n")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.HasPrefix(text, "\ufeff") {
			return // the scanner skips it; encoding/csv does not
		}
		want, wantLine, wantErr := stdRecords(text)
		for _, block := range []int{1, 5, 4096} {
			got, err := scanAll(text, block, nil)
			checkSame(t, text, block, got, err, want, wantLine, wantErr)
		}
	})
}

// ensures parseDecimal gives strconv's bits or declines, on edge shapes.
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0", "+1.5", "1.", ".5", "-.5", "123.4567",
		"9007199254740992", "9007199254740993", "0.1", "0.3", "1.0000000000000002",
		"0.0000000000000000000001", "4503599627370496.5", "99999999999999999999", "",
		"-", ".", "1e5", " 1", "1_0", "0x10", "1.2.3", "--1", "00012.50"} {
		checkDecimal(t, s)
	}
}

func checkDecimal(t *testing.T, s string) {
	t.Helper()
	v, ok := parseDecimal(s)
	if !ok {
		return
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Float64bits(v) != math.Float64bits(want) {
		t.Fatalf("parseDecimal(%q) = %v (%x), strconv %v (%x), %v", s, v,
			math.Float64bits(v), want, math.Float64bits(want), err)
	}
}

// FuzzParseDecimal ensures parseDecimal never disagrees with strconv.
func FuzzParseDecimal(f *testing.F) {
	f.Add("123.4567")
	f.Add("-0.000001")
	f.Add("9007199254740993")
	f.Fuzz(func(t *testing.T, s string) { checkDecimal(t, s) })
}
