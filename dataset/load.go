package dataset

import (
	"errors"
	"fmt"
	"io"
	"os"

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
// what errors and the Report need to say about it. Infer reads its sources
// so; Load does not (see loadSource).
type rawFile struct {
	name   string
	sha256 string
	bytes  int64
	df     dataframe.DataFrame
	header []string
	lines  []int // lines[i] is the file line where data row i starts
}

// readSource reads a whole CSV stream into a gota frame, every column as a
// string with no type detection and no value turned into NaN: the values
// reach the parsers exactly as written. The csvScanner reads the records
// (gota's ReadCSV would not keep the line of each record); each record's
// values are copied into one string, which the columns slice, and gota
// holds the columns as its frame.
//
// Gota stays here, on Infer's path, because it is fast enough there: Infer
// reads its data once, to fit a spec, and typing a column needs every value
// as a string anyway.
func readSource(src Source) (*rawFile, error) {
	s := newCSVScanner(src)
	if _, err := s.next(); errors.Is(err, io.EOF) {
		return nil, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: no header", ErrEmpty)}
	} else if err != nil {
		return nil, err
	}
	header := s.header
	cols := make([][]string, len(header))
	var lines []int
	var arena []byte
	for {
		rec, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		lines = append(lines, s.recLine)
		arena = arena[:0]
		for _, v := range rec {
			arena = append(arena, v...)
		}
		all, off := string(arena), 0
		for j, v := range rec {
			cols[j] = append(cols[j], all[off:off+len(v)])
			off += len(v)
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
	return &rawFile{name: src.Name, sha256: s.sum(), bytes: s.size, df: df, header: header,
		lines: lines}, nil
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
	sc := newSchema(spec)
	parts := make([]*Table, 0, len(sources))
	for _, src := range sources {
		t, stat, err := loadSource(spec, sc, requireLabel, src)
		if err != nil {
			return nil, nil, err
		}
		rep.addFile(stat)
		parts = append(parts, t)
	}
	t, err := Concat(parts...)
	if err != nil {
		return nil, nil, err
	}
	rep.addLabels(t)
	return t, rep, nil
}

// loadSource reads one CSV stream against spec, parsing each record as it
// is read: the text is never held whole (one block at a time), and no value
// is allocated (numbers parse from views of the read buffer; categorical
// values are dictionary-encoded). The first bad value or malformed line, in
// file order, stops the load; the header is checked once the first data
// row is read.
//
// This path bypasses gota, measured: building a gota frame of strings
// first, as this package once did, allocated one string and one frame
// element per value. On a generated 31,009-row, 16.5 MB file that Load cost
// 1.29 s of CPU (13 MB/s), 258 MB and 2.76 M allocations; at 3.1 M rows it
// passed 17 GB before it was stopped. Reading straight into typed columns
// costs 0.15 s of CPU (108 MB/s), 23 MB (the table) and 162 allocations, and
// grows linearly (310,090 rows: 1.4 s, 117 MB/s); see BenchmarkLoad. (CPU
// time with GOMAXPROCS=1 on a shared 2-core machine under load.) Gota
// remains on Infer's path, where it is fast enough.
//
// TODO(churn): parse blocks on several goroutines (split at line breaks,
// sequential where a quoted field spans a block) and hash on another; not
// done, as the 2-core machine this was built on, shared, could not show a
// gain worth the merging of per-block dictionaries.
func loadSource(spec *Spec, sc *schema, requireLabel bool, src Source) (*Table, FileStat,
	error) {
	s := newCSVScanner(src)
	if _, err := s.next(); errors.Is(err, io.EOF) {
		return nil, FileStat{}, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: no header", ErrEmpty)}
	} else if err != nil {
		return nil, FileStat{}, err
	}
	headerEnd := s.offset()
	rec, err := s.next()
	if errors.Is(err, io.EOF) {
		return nil, FileStat{}, &ParseError{Source: src.Name, Row: -1,
			Err: fmt.Errorf("%w: a header but no rows", ErrEmpty)}
	} else if err != nil {
		return nil, FileStat{}, err
	}
	idx, err := indexHeader(spec, s.header, locator{source: src.Name}, requireLabel)
	if err != nil {
		return nil, FileStat{}, err
	}
	rows := estimateRows(src.R, s.size, headerEnd, s.offset()-headerEnd)
	b := newTableBuilder(sc, idx, rows)
	for {
		if pe := b.add(rec); pe != nil {
			pe.Source, pe.Line, pe.Row = src.Name, s.recLine, -1
			return nil, FileStat{}, pe
		}
		rec, err = s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, FileStat{}, err
		}
	}
	t := b.table()
	return t, FileStat{Name: src.Name, Rows: t.n, Bytes: s.size, SHA256: s.sum()}, nil
}

// estimateRows guesses the number of rows of a stream from its size, when
// it can be known without reading it, and the size of its first row, so
// that the columns are allocated once. It guesses a little high. read is
// the number of bytes already read from r; headerBytes and rowBytes are the
// sizes of the header and of the first row.
func estimateRows(r io.Reader, read, headerBytes, rowBytes int64) int {
	var size int64
	switch v := r.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader: what is left
		size = read + int64(v.Len())
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

// FromRecords builds a table from in-memory rows (serving): header names the
// columns of each record; source names the origin in errors ("request").
// Extra columns are ignored; a missing spec column is an error. The label is
// optional; when its column is present every value must be valid.
//
// It checks the header on every call; a server whose requests share a
// header does that once with a RecordParser, which FromRecords uses.
func FromRecords(spec *Spec, source string, header []string, records [][]string) (*Table, error) {
	if err := checkRecords(source, len(header), records); err != nil {
		return nil, err
	}
	p, err := NewRecordParser(spec, source, header)
	if err != nil {
		return nil, err
	}
	return p.parse(records)
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
