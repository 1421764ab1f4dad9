package serve

import (
	"unicode/utf8"

	"github.com/churn-pdk/churn/dataset"
)

// This file holds the fast path for the V1 body almost every client sends:
// one pandas columns table, as the original example does,
//
//	{"instances": [{"data": {column: {"0": v, "1": v, ...}, ...}}]}
//
// read in one pass straight into the preprocessing's columns
// (dataset.Columns): no parse tree, no rows of strings, and each number
// converted in the same pass that finds its end (dataset.ScanNumber). It
// takes only a plain, well-formed subset: the envelope holds just
// "instances" (or "inputs") with one table; every model column lists the
// row keys "0", "1", ... in order, the same number of them; values are
// numbers, strings, or null, of the kinds their columns take; every model
// column is given once; every value is valid. On anything else it gives
// up and the general decoder reads the body again, so errors keep their
// one wording and the fast path needs none. Where it succeeds, the matrix
// is bit for bit the general path's (a fuzz test checks both).

// cursor reads a body byte by byte.
type cursor struct {
	s     string
	i     int
	ascii bool // no byte of a string read so far is 0x80 or above
}

// space skips JSON whitespace. Bodies written by machines mostly have
// none, so one comparison settles the common case.
func (c *cursor) space() {
	for c.i < len(c.s) && c.s[c.i] <= ' ' {
		switch c.s[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// byte skips whitespace and then b, reporting whether b was there.
func (c *cursor) byte(b byte) bool {
	c.space()
	if c.i < len(c.s) && c.s[c.i] == b {
		c.i++
		return true
	}
	return false
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (c *cursor) peek() byte {
	c.space()
	if c.i < len(c.s) {
		return c.s[c.i]
	}
	return 0
}

// str reads a string, after whitespace, and returns its contents. With
// escaped false, a string with escapes gives up.
func (c *cursor) str(escaped bool) (string, bool) {
	if !c.byte('"') {
		return "", false
	}
	start, esc := c.i, false
	for c.i < len(c.s) {
		b := c.s[c.i]
		switch {
		case b == '"':
			c.i++
			if esc {
				return unescape(c.s[start : c.i-1])
			}
			return c.s[start : c.i-1], true
		case b == '\\':
			if !escaped {
				return "", false
			}
			esc = true
			c.i++ // the escaped byte, which unescape checks
		case b < 0x20:
			return "", false
		case b >= 0x80:
			c.ascii = false
		}
		c.i++
	}
	return "", false
}

// unescape decodes the contents of a string with escapes. It knows the
// one-letter escapes (pandas writes "/" as "\/"); \u escapes give up.
func unescape(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i++; i == len(s) {
			return "", false
		}
		switch e := s[i]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		default:
			return "", false
		}
	}
	return string(b), true
}

// key reads an object key without escapes, and the colon after it.
func (c *cursor) key() (string, bool) {
	k, ok := c.str(false)
	return k, ok && c.byte(':')
}

// rowKey reads the key of row row and the colon after it: "0" to "9"
// compared as four bytes at once, later rows as any key.
func (c *cursor) rowKey(row int) bool {
	c.space()
	if row < 10 && len(c.s)-c.i >= 4 {
		s := c.s[c.i : c.i+4]
		got := uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
		if got == '"'|('0'+uint32(row))<<8|'"'<<16|':'<<24 { // "row":
			c.i += 4
			return true
		}
	}
	k, ok := c.key()
	if !ok {
		return false
	}
	n, ok := rowKey(k)
	return ok && n == row
}

// null reads null.
func (c *cursor) null() bool {
	if len(c.s)-c.i >= 4 && c.s[c.i:c.i+4] == "null" {
		c.i += 4
		return true
	}
	return false
}

// more reads what follows a member: true after a comma, false after the
// closing byte; ok is false for anything else.
func (c *cursor) more(closing byte) (more, ok bool) {
	switch c.peek() {
	case ',':
		c.i++
		return true, true
	case closing:
		c.i++
		return false, true
	}
	return false, false
}

// fastTable is the state of one fast read.
type fastTable struct {
	c    cursor
	m    *Model
	cols *dataset.Columns
	seen []bool // per model column
	// order is the model column of each member of the last table read
	// (-1: not a model column). Clients send their columns in one order,
	// so comparing a name with the one at its place last time mostly
	// saves the map lookup.
	order []int
	n     int // members read so far
}

// fastV1 reads and preprocesses body when it has the plain shape
// described above. On false, the caller decodes the body with the general
// decoder; nothing of the fast read is kept.
func (st *reqState) fastV1(m *Model, body string) (*dataset.Matrix, bool) {
	if _, clash := m.index["data"]; clash {
		return nil, false // an instance {"data": ...} would be a row
	}
	f := &st.fast
	if f.m != m {
		f.order = f.order[:0] // another model's columns
	}
	f.c, f.m, f.n = cursor{s: body, ascii: true}, m, 0
	f.seen = resize(f.seen, len(m.columns))
	clear(f.seen)
	f.cols = m.parser.Columns(&st.scratch, st.lastRows)
	if !f.envelope() || !f.columns() {
		return nil, false
	}
	c := &f.c
	ok := c.byte('}') && c.byte(']') && c.byte('}')
	c.space()
	if !ok || c.i != len(c.s) || (!c.ascii && !utf8.ValidString(body)) {
		return nil, false
	}
	for _, seen := range f.seen {
		if !seen {
			return nil, false
		}
	}
	x, err := f.cols.Matrix(m.spec)
	if err != nil || m.checkFinite(x) != nil {
		return nil, false
	}
	st.lastRows = x.Rows
	return x, true
}

// envelope reads {"instances": [{"data": { up to the table's first column.
func (f *fastTable) envelope() bool {
	c := &f.c
	if !c.byte('{') {
		return false
	}
	if k, ok := c.key(); !ok || (k != "instances" && k != "inputs") {
		return false
	}
	if !c.byte('[') || !c.byte('{') {
		return false
	}
	k, ok := c.key()
	return ok && k == "data" && c.byte('{') && c.peek() != '}'
}

// columns reads the table's columns, through its closing brace.
func (f *fastTable) columns() bool {
	c := &f.c
	for {
		name, ok := c.key()
		if !ok || !c.byte('{') {
			return false
		}
		if col := f.lookup(name); col >= 0 {
			ok = f.column(col)
		} else {
			ok = skipColumn(c)
		}
		if !ok {
			return false
		}
		if more, ok := c.more('}'); !ok || !more {
			return ok
		}
	}
}

// lookup returns the model column named name, -1 for none, and records
// it in f.order.
func (f *fastTable) lookup(name string) int {
	k := f.n
	f.n++
	if k < len(f.order) {
		if col := f.order[k]; col >= 0 && f.m.columns[col].name == name {
			return col
		}
	}
	col, ok := f.m.index[name]
	if !ok {
		col = -1
	}
	if k < len(f.order) {
		f.order[k] = col
	} else {
		f.order = append(f.order, col)
	}
	return col
}

// column reads the values of model column col, after its opening brace.
// The first model column read adds the rows; the others must have as
// many.
func (f *fastTable) column(col int) bool {
	if f.seen[col] {
		return false // the column given twice
	}
	f.seen[col] = true
	c, cols := &f.c, f.cols
	first := cols.Rows() == 0
	for row := 0; ; row++ {
		if !c.rowKey(row) {
			return false
		}
		if first {
			cols.AddRow()
		} else if row >= cols.Rows() {
			return false
		}
		if !f.value(col, row) {
			return false
		}
		more, ok := c.more('}')
		if !ok {
			return false
		}
		if !more {
			return row+1 == cols.Rows()
		}
	}
}

// value reads the value of column col in row row: a number, null, or for
// a categorical column a string.
func (f *fastTable) value(col, row int) bool {
	c := &f.c
	b := c.peek()
	switch {
	case b == '"':
		s, ok := c.str(true)
		return ok && f.m.columns[col].kind == categoricalCol &&
			f.cols.Text(col, row, s) == nil
	case b == 'n':
		return c.null() && f.cols.Text(col, row, "") == nil
	}
	v, n, exact := dataset.ScanNumber(c.s[c.i:])
	if n == 0 {
		return false
	}
	tok := c.s[c.i : c.i+n]
	c.i += n
	if exact && f.cols.Number(col, row, v) {
		return true
	}
	return f.cols.Text(col, row, tok) == nil
}

// skipColumn reads a column the model does not take (the label, say),
// after its opening brace: an object of plain keys to numbers, strings,
// booleans or null.
func skipColumn(c *cursor) bool {
	if c.peek() == '}' {
		c.i++
		return true
	}
	for {
		if _, ok := c.key(); !ok {
			return false
		}
		switch b := c.peek(); {
		case b == '"':
			if _, ok := c.str(true); !ok {
				return false
			}
		case b == 't' && len(c.s)-c.i >= 4 && c.s[c.i:c.i+4] == "true":
			c.i += 4
		case b == 'f' && len(c.s)-c.i >= 5 && c.s[c.i:c.i+5] == "false":
			c.i += 5
		case b == 'n':
			if !c.null() {
				return false
			}
		default:
			_, n, _ := dataset.ScanNumber(c.s[c.i:])
			if n == 0 {
				return false
			}
			c.i += n
		}
		if more, ok := c.more('}'); !ok || !more {
			return ok
		}
	}
}

// resize returns s with length n, reusing its storage when it has room.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
