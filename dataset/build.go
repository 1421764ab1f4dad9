package dataset

import (
	"fmt"
	"strings"
)

// schema is a spec readied for parsing rows: what every row needs, made
// once per Load or RecordParser rather than once per row or request. It
// holds its own copies, so a spec changed later does not change the tables
// built from it.
type schema struct {
	numName, catName          []string
	cats                      []catBase
	label, positive, negative string
}

// catBase is one categorical column's categories and where each one is.
type catBase struct {
	cats []string
	at   map[string]int32 // nil for short lists, which a scan searches faster
}

// shortCats is the longest category list searched by comparing each
// category rather than through a map.
const shortCats = 8

func newSchema(spec *Spec) *schema {
	sc := &schema{label: spec.Label, positive: spec.Positive, negative: spec.Negative}
	sc.numName = make([]string, len(spec.Numeric))
	for k, c := range spec.Numeric {
		sc.numName[k] = c.Name
	}
	sc.catName = make([]string, len(spec.Categorical))
	sc.cats = make([]catBase, len(spec.Categorical))
	for k, c := range spec.Categorical {
		sc.catName[k] = c.Name
		b := catBase{cats: append([]string(nil), c.Categories...)}
		if len(b.cats) > shortCats {
			b.at = make(map[string]int32, len(b.cats))
			for i, v := range b.cats {
				b.at[v] = int32(i)
			}
		}
		sc.cats[k] = b
	}
	return sc
}

// find returns the index of category v.
func (b *catBase) find(v string) (int32, bool) {
	if b.at != nil {
		i, ok := b.at[v]
		return i, ok
	}
	for i, c := range b.cats {
		if c == v {
			return int32(i), true
		}
	}
	return -1, false
}

// catEncoder dictionary-encodes a column value by value. The dictionary
// starts with the spec's categories, in order (so Preprocess finds each
// category at its own index without a lookup), followed by the other values
// in order of first appearance.
type catEncoder struct {
	base  *catBase
	dict  []string
	extra map[string]int32 // values after the categories; made when many
}

func newCatEncoder(base *catBase) catEncoder {
	n := len(base.cats)
	// The dictionary shares the schema's categories until a value outside
	// them is appended; the capacity limit makes that append copy them.
	return catEncoder{base: base, dict: base.cats[:n:n]}
}

// code returns the dictionary code of v.
func (e *catEncoder) code(v string) int32 {
	if code, ok := e.base.find(v); ok {
		return code
	}
	return e.other(v)
}

// other returns the code of a value outside the categories, adding it to
// the dictionary (as a copy: v may view a reader's buffer) when new.
func (e *catEncoder) other(v string) int32 {
	n := len(e.base.cats)
	if e.extra != nil {
		if code, ok := e.extra[v]; ok {
			return code
		}
	} else {
		for i, d := range e.dict[n:] {
			if d == v {
				return int32(n + i)
			}
		}
		if len(e.dict)-n >= shortCats {
			e.extra = make(map[string]int32)
			for i, d := range e.dict[n:] {
				e.extra[d] = int32(n + i)
			}
		}
	}
	code := int32(len(e.dict))
	v = strings.Clone(v)
	e.dict = append(e.dict, v)
	if e.extra != nil {
		e.extra[v] = code
	}
	return code
}

// tableBuilder parses rows of strings into a table's columns. The columns
// are allocated for a number of rows and written by index; more rows double
// them.
type tableBuilder struct {
	sc    *schema
	idx   headerIndex
	n     int // rows added
	size  int // rows the columns have room for
	num   [][]float64
	codes [][]int32
	label []float32 // nil when the rows carry no label
	enc   []catEncoder
	// numBuf and codeBuf back num and codes, column after column.
	numBuf  []float64
	codeBuf []int32
}

// newTableBuilder makes room for rows rows.
func newTableBuilder(sc *schema, idx headerIndex, rows int) *tableBuilder {
	b := &tableBuilder{sc: sc, idx: idx}
	b.num = make([][]float64, len(sc.numName))
	b.codes = make([][]int32, len(sc.cats))
	b.enc = make([]catEncoder, len(sc.cats))
	for k := range b.enc {
		b.enc[k] = newCatEncoder(&sc.cats[k])
	}
	b.alloc(max(rows, 1))
	return b
}

// alloc gives every column room for rows rows, keeping the rows added.
func (b *tableBuilder) alloc(rows int) {
	b.size = rows
	nums := make([]float64, len(b.num)*rows)
	for k, col := range b.num {
		b.num[k] = nums[k*rows : (k+1)*rows : (k+1)*rows]
		copy(b.num[k], col[:b.n])
	}
	codes := make([]int32, len(b.codes)*rows)
	for k, col := range b.codes {
		b.codes[k] = codes[k*rows : (k+1)*rows : (k+1)*rows]
		copy(b.codes[k], col[:b.n])
	}
	b.numBuf, b.codeBuf = nums, codes
	if b.idx.label >= 0 {
		label := make([]float32, rows)
		copy(label, b.label[:b.n])
		b.label = label
	}
}

// add parses one row, header-ordered. A bad value gives a ParseError with
// the column and value; the caller says where the row is.
func (b *tableBuilder) add(rec []string) *ParseError {
	i := b.n
	if i == b.size {
		b.alloc(2 * i)
	}
	for k, j := range b.idx.num {
		v, ok := parseDecimal(rec[j]) // parseNumber's fast path, without a call
		if !ok {
			var pe *ParseError
			if v, pe = b.number(k, rec[j]); pe != nil {
				return pe
			}
		}
		b.num[k][i] = v
	}
	for k, j := range b.idx.cat {
		b.codes[k][i] = b.enc[k].code(rec[j])
	}
	if b.idx.label >= 0 {
		var pe *ParseError
		if b.label[i], pe = b.labelOf(rec[b.idx.label]); pe != nil {
			return pe
		}
	}
	b.n++
	return nil
}

// number parses the value s of numeric column k.
func (b *tableBuilder) number(k int, s string) (float64, *ParseError) {
	v, err := parseNumber(s)
	if err != nil {
		return 0, &ParseError{Column: b.sc.numName[k], Value: strings.Clone(s), Err: err}
	}
	return v, nil
}

// labelOf parses a label value.
func (b *tableBuilder) labelOf(s string) (float32, *ParseError) {
	switch s {
	case b.sc.positive:
		return 1, nil
	case b.sc.negative:
		return 0, nil
	}
	return 0, &ParseError{Column: b.sc.label, Value: strings.Clone(s),
		Err: fmt.Errorf("%w: want %q or %q", ErrBadLabel, b.sc.positive, b.sc.negative)}
}

// table returns the table built.
func (b *tableBuilder) table() *Table {
	n := b.n
	t := &Table{n: n, numName: b.sc.numName, catName: b.sc.catName}
	t.num = b.num // the builder is done with them
	for k, col := range t.num {
		t.num[k] = col[:n:n]
	}
	t.cat = make([]catColumn, len(b.enc))
	for k, e := range b.enc {
		t.cat[k] = catColumn{dict: e.dict, codes: b.codes[k][:n:n]}
	}
	if b.label != nil {
		t.label = b.label[:n:n]
	}
	return t
}

// RecordParser parses in-memory records that share one header against one
// spec: the serving path. The header is checked and its columns located
// once, when the parser is made; each Parse then only parses values into
// the new table's columns (a handful of allocations, none per value). A
// RecordParser is read-only once made, so Parse may run on several
// goroutines at once, and it keeps its own copy of what it needs of the
// spec.
type RecordParser struct {
	sc     *schema
	source string
	width  int
	idx    headerIndex
	role   []role // per header position
}

// role is what a header position holds: numeric or categorical column k,
// the label, or a column the spec does not use.
type role struct {
	kind roleKind
	k    int
}

type roleKind uint8

const (
	unused roleKind = iota
	numericRole
	categoricalRole
	labelRole
)

// roles returns the role of each of width header positions.
func roles(idx headerIndex, width int) []role {
	r := make([]role, width)
	for k, j := range idx.num {
		r[j] = role{numericRole, k}
	}
	for k, j := range idx.cat {
		r[j] = role{categoricalRole, k}
	}
	if idx.label >= 0 {
		r[idx.label] = role{kind: labelRole}
	}
	return r
}

// NewRecordParser returns a parser of records laid out as header, for spec;
// source names the records' origin in errors ("request"). Extra columns are
// ignored; a missing or repeated spec column is an error. The label is
// optional; when its column is present every value must be valid.
func NewRecordParser(spec *Spec, source string, header []string) (*RecordParser, error) {
	idx, err := indexHeader(spec, header, locator{source: source}, false)
	if err != nil {
		return nil, err
	}
	return &RecordParser{sc: newSchema(spec), source: source, width: len(header), idx: idx,
		role: roles(idx, len(header))}, nil
}

// Parse builds a table from records, each as long as the parser's header,
// with the errors FromRecords gives.
func (p *RecordParser) Parse(records [][]string) (*Table, error) {
	if err := checkRecords(p.source, p.width, records); err != nil {
		return nil, err
	}
	return p.parse(records)
}

// checkRecords refuses no records, and a record whose length is not width.
func checkRecords(source string, width int, records [][]string) error {
	if len(records) == 0 {
		return &ParseError{Source: source, Row: -1, Err: fmt.Errorf("%w: no rows", ErrEmpty)}
	}
	for i, rec := range records {
		if len(rec) != width {
			return locator{source: source}.err(i, "", "", fmt.Errorf(
				"%w: %d fields, the header has %d", ErrRowLength, len(rec), width))
		}
	}
	return nil
}

// parse parses records whose lengths are checked.
func (p *RecordParser) parse(records [][]string) (*Table, error) {
	b := newTableBuilder(p.sc, p.idx, len(records))
	for i, rec := range records {
		if pe := b.add(rec); pe != nil {
			pe.Source, pe.Row = p.source, i
			return nil, pe
		}
	}
	return b.table(), nil
}
