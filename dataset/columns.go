package dataset

import "math"

// Columns is a table filled value by value, in any order: how a decoder
// that reads a body column by column (the pandas columns table of a
// serving request) hands over its values, without building rows of
// strings first. Numbers the decoder has already read with ScanNumber go
// in as values; everything else goes in as a cell's text and is parsed
// as Load parses it. Matrix then preprocesses the table as
// RecordParser.Matrix does: the same cells give the same matrix, bit for
// bit, and a bad cell the same error (the first one found may differ, as
// the order values arrive in does).
//
// A Columns lives in a Scratch and is valid until the Scratch's next use.
type Columns struct {
	p *RecordParser
	s *Scratch
}

// unsetCode marks a categorical value not set yet.
const unsetCode = -1

// Columns starts an empty table laid out as p's header, in s's storage,
// with room for rows rows before it grows.
func (p *RecordParser) Columns(s *Scratch, rows int) *Columns {
	s.builder(p, max(rows, 1))
	s.cols = Columns{p: p, s: s}
	return &s.cols
}

// Rows returns the number of rows added.
func (c *Columns) Rows() int { return c.s.b.n }

// AddRow adds a row and returns its index. Its values are missing, as
// empty cells, until set.
func (c *Columns) AddRow() int {
	b := &c.s.b
	if b.n == b.size {
		b.alloc(2 * b.size)
		c.s.nums, c.s.codes, c.s.labels = b.numBuf, b.codeBuf, b.label
	}
	i := b.n
	for _, col := range b.num {
		col[i] = math.NaN()
	}
	for _, col := range b.codes {
		col[i] = unsetCode
	}
	if b.label != nil {
		b.label[i] = float32(math.NaN())
	}
	b.n++
	return i
}

// Number sets the value of numeric column j (a header position) in row
// row to v, a value ScanNumber read exactly. It reports false, setting
// nothing, when column j is not a numeric column of the spec.
func (c *Columns) Number(j, row int, v float64) bool {
	r := c.p.role[j]
	if r.kind != numericRole {
		return false
	}
	c.s.b.num[r.k][row] = v
	return true
}

// NumberColumn returns the storage of numeric column j (a header
// position), one value per row added, or nil when column j is not a
// numeric column of the spec. Setting an element is Number for that row.
// The slice is valid until the next AddRow.
func (c *Columns) NumberColumn(j int) []float64 {
	r := c.p.role[j]
	if r.kind != numericRole {
		return nil
	}
	return c.s.b.num[r.k][:c.s.b.n]
}

// Text sets column j (a header position) of row row from a cell's text,
// parsed as Load and FromRecords parse it; a column the spec does not use
// is ignored. A bad value gives the *ParseError RecordParser.Matrix would
// give for that cell.
func (c *Columns) Text(j, row int, s string) error {
	b := &c.s.b
	var pe *ParseError
	switch r := c.p.role[j]; r.kind {
	case numericRole:
		var v float64
		if v, pe = b.number(r.k, s); pe == nil {
			b.num[r.k][row] = v
		}
	case categoricalRole:
		b.codes[r.k][row] = b.enc[r.k].code(s)
	case labelRole:
		var v float32
		if v, pe = b.labelOf(s); pe == nil {
			b.label[row] = v
		}
	}
	if pe != nil {
		pe.Source, pe.Row = c.p.source, row
		return pe
	}
	return nil
}

// Matrix preprocesses the table with spec, the spec p was made with, as
// RecordParser.Matrix does, into storage held by the Scratch. Values
// never set count as empty cells.
func (c *Columns) Matrix(spec *Spec) (*Matrix, error) {
	b := &c.s.b
	if b.n == 0 {
		return nil, checkRecords(c.p.source, c.p.width, nil)
	}
	for k, col := range b.codes {
		for i := range col[:b.n] {
			if col[i] == unsetCode {
				col[i] = b.enc[k].code("")
			}
		}
	}
	for i, v := range b.label[:min(b.n, len(b.label))] {
		if v != v {
			if _, pe := b.labelOf(""); pe != nil {
				pe.Source, pe.Row = c.p.source, i
				return nil, pe
			}
		}
	}
	return c.s.preprocess(spec, c.s.table())
}
