package dataset

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// Source is one named CSV stream: a file, an embedded table, a request body.
type Source struct {
	// Name names the stream in errors and in the Report.
	Name string
	// R yields the CSV text; Load reads it to the end.
	R io.Reader
}

// rawFile is one CSV stream read into a gota data frame of strings, with
// what errors and the Report need to say about it.
type rawFile struct {
	name   string
	sha256 string
	bytes  int64
	df     dataframe.DataFrame
	header []string
	lines  []int // lines[i] is the file line where data row i starts
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readSource reads a whole CSV stream into a gota frame, every column as a
// string with no type detection and no value turned into NaN: the values
// reach the parsers below exactly as written.
//
// encoding/csv reads the records (gota's ReadCSV would too, but would not
// keep the line of each record) and each field goes straight to its column,
// while the record is in cache; gota then holds the columns as its frame
// (dataframe.LoadRecords would transpose the rows itself, a cache miss per
// field). Gota stays the frame; only the transposition is ours.
func readSource(src Source) (*rawFile, error) {
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(src.R, h)}
	r := csv.NewReader(cr)
	r.ReuseRecord = true // fields are fresh strings; only the slice is reused
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: no header", ErrEmpty)}
	}
	if err != nil {
		return nil, csvError(src.Name, err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff")
	cols := make([][]string, len(header))
	var lines []int
	for {
		start := r.InputOffset()
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(src.Name, err)
		}
		if lines == nil {
			n := estimateRows(src.R, start, r.InputOffset()-start)
			lines = make([]int, 0, n)
			for j := range cols {
				cols[j] = make([]string, 0, n)
			}
		}
		line, _ := r.FieldPos(0)
		lines = append(lines, line)
		for j, v := range rec {
			cols[j] = append(cols[j], v)
		}
	}
	if len(lines) == 0 {
		return nil, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: a header but no rows", ErrEmpty)}
	}
	ser := make([]series.Series, len(header))
	for j, name := range header {
		ser[j] = series.New(cols[j], series.String, name)
	}
	df := dataframe.New(ser...)
	if df.Err != nil {
		return nil, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: %v", ErrMalformed, df.Err)}
	}
	return &rawFile{
		name: src.Name, sha256: hex.EncodeToString(h.Sum(nil)), bytes: cr.n,
		df: df, header: header, lines: lines,
	}, nil
}

// estimateRows guesses the number of rows of a stream from its size, when
// it can be known without reading it, and the size of its first row, so
// that the columns are allocated once. It guesses a little high.
func estimateRows(r io.Reader, headerBytes, rowBytes int64) int {
	var size int64
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader: what is left
		size = headerBytes + rowBytes + int64(v.Len())
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := v.Stat(); err == nil {
			size = st.Size()
		}
	}
	if size <= headerBytes || rowBytes <= 0 {
		return 1024
	}
	n := (size-headerBytes)/rowBytes + 1
	return int(min(n+n/8, 1<<24))
}

// csvError turns an encoding/csv error into a ParseError.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Source: name, Line: pe.Line, Row: -1,
			Err: fmt.Errorf("%w: %v", ErrMalformed, pe.Err)}
	}
	return &ParseError{Source: name, Row: -1, Err: fmt.Errorf("read: %w", err)}
}

// cell returns the value of row i in header column j, as written.
func (f *rawFile) cell(i, j int) string { return f.df.Elem(i, j).String() }

// column returns the values of header column j.
func (f *rawFile) column(j int) []string {
	out := make([]string, len(f.lines))
	for i := range out {
		out[i] = f.cell(i, j)
	}
	return out
}

// locator says where row i of a source is, for errors.
type locator struct {
	source string
	lines  []int // nil for in-memory records
}

func (l locator) err(row int, column, value string, err error) *ParseError {
	if l.lines != nil {
		return &ParseError{Source: l.source, Line: l.lines[row], Row: -1,
			Column: column, Value: value, Err: err}
	}
	return &ParseError{Source: l.source, Row: row, Column: column, Value: value, Err: err}
}

// columnErr is an error about a whole column of a source.
func (l locator) columnErr(column string, err error) *ParseError {
	return &ParseError{Source: l.source, Row: -1, Column: column, Err: err}
}

// Load reads and concatenates CSV files, checks each header against spec
// (label optional when requireLabel is false) and parses the values.
func Load(spec *Spec, requireLabel bool, paths ...string) (*Table, *Report, error) {
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("dataset: load: %w", ErrNoInput)
	}
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll(srcs)
			return nil, nil, fmt.Errorf("dataset: load: %w", err)
		}
		srcs = append(srcs, Source{Name: p, R: f})
	}
	defer closeAll(srcs)
	return LoadReaders(spec, requireLabel, srcs...)
}

func closeAll(srcs []Source) {
	for _, s := range srcs {
		if c, ok := s.R.(io.Closer); ok {
			c.Close()
		}
	}
}

// LoadReaders is Load for named streams, such as an embedded CSV. Each
// stream is read to the end; its sha256 goes into the Report. The table has
// a label only when every source has the label column.
func LoadReaders(spec *Spec, requireLabel bool, sources ...Source) (*Table, *Report, error) {
	if len(sources) == 0 {
		return nil, nil, fmt.Errorf("dataset: load: %w", ErrNoInput)
	}
	rep := NewReport(spec)
	parts := make([]*Table, 0, len(sources))
	for _, src := range sources {
		raw, err := readSource(src)
		if err != nil {
			return nil, nil, err
		}
		t, err := fromRaw(spec, raw, requireLabel)
		if err != nil {
			return nil, nil, err
		}
		rep.addFile(FileStat{Name: raw.name, Rows: t.n, Bytes: raw.bytes, SHA256: raw.sha256})
		parts = append(parts, t)
	}
	t, err := Concat(parts...)
	if err != nil {
		return nil, nil, err
	}
	rep.addLabels(t)
	return t, rep, nil
}

// fromRaw checks a read file against spec and parses its columns.
func fromRaw(spec *Spec, f *rawFile, requireLabel bool) (*Table, error) {
	loc := locator{source: f.name, lines: f.lines}
	idx, err := indexHeader(spec, f.header, loc, requireLabel)
	if err != nil {
		return nil, err
	}
	return parseColumns(spec, len(f.lines), loc, idx, f.cell)
}

// FromRecords builds a table from in-memory rows (serving): header names the
// columns of each record; source names the origin in errors ("request").
// Extra columns are ignored; a missing spec column is an error. The label is
// optional; when its column is present every value must be valid.
//
// The rows are parsed by the same code as Load's, without a gota frame:
// on the request path a frame would only copy the strings once more.
func FromRecords(spec *Spec, source string, header []string, records [][]string) (*Table, error) {
	loc := locator{source: source}
	if len(records) == 0 {
		return nil, &ParseError{Source: source, Row: -1, Err: fmt.Errorf("%w: no rows", ErrEmpty)}
	}
	for i, rec := range records {
		if len(rec) != len(header) {
			return nil, loc.err(i, "", "", fmt.Errorf("%w: %d fields, the header has %d",
				ErrRowLength, len(rec), len(header)))
		}
	}
	idx, err := indexHeader(spec, header, loc, false)
	if err != nil {
		return nil, err
	}
	return parseColumns(spec, len(records), loc, idx, func(i, j int) string {
		return records[i][j]
	})
}

// headerIndex maps spec columns to header positions; label is -1 when the
// header has no label column.
type headerIndex struct {
	num, cat []int
	label    int
}

func indexHeader(spec *Spec, header []string, loc locator, requireLabel bool) (headerIndex, error) {
	pos := make(map[string]int, len(header))
	dup := make(map[string]bool)
	for i, h := range header {
		if _, ok := pos[h]; ok {
			dup[h] = true
		}
		pos[h] = i
	}
	find := func(name string) (int, error) {
		i, ok := pos[name]
		if !ok {
			return -1, loc.columnErr(name, ErrMissingColumn)
		}
		if dup[name] {
			return -1, loc.columnErr(name, ErrDuplicateColumn)
		}
		return i, nil
	}
	idx := headerIndex{label: -1}
	for _, c := range spec.Numeric {
		i, err := find(c.Name)
		if err != nil {
			return idx, err
		}
		idx.num = append(idx.num, i)
	}
	for _, c := range spec.Categorical {
		i, err := find(c.Name)
		if err != nil {
			return idx, err
		}
		idx.cat = append(idx.cat, i)
	}
	if _, ok := pos[spec.Label]; ok || requireLabel {
		i, err := find(spec.Label)
		if err != nil {
			return idx, fmt.Errorf("%w (the label)", err)
		}
		idx.label = i
	}
	return idx, nil
}

// parseBlock is the number of rows parsed column by column before moving
// on: the text of a block of rows stays in cache while its columns are read.
const parseBlock = 256

// parseColumns parses the spec's columns; cell(i, j) is row i's value in
// header column j.
func parseColumns(spec *Spec, n int, loc locator, idx headerIndex,
	cell func(i, j int) string) (*Table, error) {
	t := &Table{n: n}
	t.num = make([][]float64, len(spec.Numeric))
	for k, c := range spec.Numeric {
		t.numName = append(t.numName, c.Name)
		t.num[k] = make([]float64, n)
	}
	enc := make([]encoder, len(spec.Categorical))
	for k, c := range spec.Categorical {
		t.catName = append(t.catName, c.Name)
		enc[k] = newEncoder(n)
	}
	if idx.label >= 0 {
		t.label = make([]float32, n)
	}
	for lo := 0; lo < n; lo += parseBlock {
		hi := min(lo+parseBlock, n)
		for k, c := range spec.Numeric {
			col, j := t.num[k], idx.num[k]
			for i := lo; i < hi; i++ {
				s := cell(i, j)
				v, err := parseNumber(s)
				if err != nil {
					return nil, loc.err(i, c.Name, s, err)
				}
				col[i] = v
			}
		}
		for k := range enc {
			for i := lo; i < hi; i++ {
				enc[k].add(cell(i, idx.cat[k]))
			}
		}
		if t.label != nil {
			if err := parseLabels(spec, t.label, lo, hi, loc, func(i int) string {
				return cell(i, idx.label)
			}); err != nil {
				return nil, err
			}
		}
	}
	for k := range enc {
		t.cat = append(t.cat, enc[k].col)
	}
	return t, nil
}

// parseNumber parses one numeric value: NaN for a missing-value marker, an
// error wrapping ErrNotNumber for anything but a finite decimal number.
// Surrounding spaces are allowed, as pandas allows them.
func parseNumber(s string) (float64, error) {
	// Fast path: a value starting with a digit is a number or an error
	// (IsMissing's markers that start with a digit fail ParseFloat too).
	if len(s) > 0 && s[0]-'0' < 10 {
		if v, err := strconv.ParseFloat(s, 64); err == nil && !isHex(s) {
			return v, nil
		}
	}
	if IsMissing(s) {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if t := strings.TrimSpace(s); t != s {
			return parseNumber(t)
		}
		return 0, ErrNotNumber
	}
	if math.IsInf(v, 0) || math.IsNaN(v) || isHex(s) {
		return 0, ErrNotNumber
	}
	return v, nil
}

// isHex reports a hexadecimal float, which strconv accepts but a CSV
// reader such as pandas does not. (strconv refuses digit separators
// without a base prefix, so only the prefix needs checking.)
func isHex(s string) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// IsMissing reports whether s marks a missing value, as pandas read_csv
// treats it by default: empty, "NA", "NaN", "null" and the like.
func IsMissing(s string) bool {
	switch s {
	case "", "NA", "NaN", "nan", "-NaN", "-nan", "N/A", "n/a", "NULL", "null", "None",
		"<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN":
		return true
	}
	return false
}

// parseLabels maps the label values of rows [lo, hi) to 1 (positive) and
// 0 (negative) in y.
func parseLabels(spec *Spec, y []float32, lo, hi int, loc locator,
	value func(i int) string) error {
	for i := lo; i < hi; i++ {
		switch s := value(i); s {
		case spec.Positive:
			y[i] = 1
		case spec.Negative:
			y[i] = 0
		default:
			return loc.err(i, spec.Label, s, fmt.Errorf("%w: want %q or %q",
				ErrBadLabel, spec.Positive, spec.Negative))
		}
	}
	return nil
}
