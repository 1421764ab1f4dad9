package serve

import (
	"unicode/utf8"

	"github.com/churn-pdk/churn/dataset"
)

// This file holds the fast path for the V1 bodies clients send: the
// pandas columns table of the original example,
//
//	{"instances": [{"data": {column: {"0": v, "1": v, ...}, ...}}]}
//
// row objects, {"instances": [{column: v, ...}, ...]}, or both, with
// "parameters" before or after. It reads the body in one pass straight
// into the preprocessing's columns (dataset.Columns): no parse tree, no
// rows of strings, and each number converted in the same pass that finds
// its end (dataset.ScanNumber). It takes only a plain, well-formed
// subset: the envelope holds "instances" (or "inputs") and at most
// "parameters" with at most "output"; a table's model columns list the
// row keys "0", "1", ... in order, the same number of them; values are
// numbers, strings or null, of the kinds their columns take; an instance
// gives a model column once; every value is valid. On anything else it
// gives up and the general decoder reads the body again, so errors keep
// their one wording and the fast path needs none. Where it succeeds, the
// matrix is bit for bit the general path's (a fuzz test checks both).

// cursor reads a body byte by byte.
type cursor struct {
	s     string
	i     int
	ascii bool // no byte of a string read so far is 0x80 or above
}

// space skips JSON whitespace.
func (c *cursor) space() { c.i = skipSpace(c.s, c.i) }

// expect skips whitespace and then b, reporting whether b was there.
func (c *cursor) expect(b byte) bool {
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
	if !c.expect('"') {
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
	return k, ok && c.expect(':')
}

// indexKey reads the key of row row of a table, and the colon after it:
// the row's number as pandas writes a RangeIndex. The keys of rows 0 to 9
// are compared as four bytes at once.
func (c *cursor) indexKey(row int) bool {
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

// fastRead is the state of one fast read.
type fastRead struct {
	c    cursor
	m    *Model
	cols *dataset.Columns
	out  output
	max  int // rows a request may hold; 0: no limit
	// mark holds, per model column, the stamp of the instance that last
	// set it (0: none did): an instance gives each column once. Stamps
	// count instances from 1.
	mark  []int
	stamp int
	// order is the model column of each member of the last body read
	// (-1: not a model column). Clients send their columns in one order,
	// so comparing a name with the one at its place last time mostly
	// saves the map lookup.
	order   []int
	lookups int // names looked up so far in this body
}

// fastV1 reads and preprocesses body when it has the plain shape
// described above, and returns the output it asks for and the matrix. On
// false, the caller decodes the body with the general decoder; of the fast
// read, only the column order remembered for the next body is kept.
func (st *reqState) fastV1(m *Model, body string) (output, *dataset.Matrix, bool) {
	f := &st.fast
	if f.m != m {
		f.order = f.order[:0] // another model's columns
	}
	f.c, f.m, f.lookups, f.out, f.stamp = cursor{s: body, ascii: true}, m, 0, outLabels, 0
	f.max = st.maxRows
	f.mark = resize(f.mark, len(m.columns))
	clear(f.mark)
	f.cols = m.parser.Columns(&st.scratch, st.lastRows)
	if !f.envelope() {
		return 0, nil, false
	}
	c := &f.c
	c.space()
	if c.i != len(c.s) || (!c.ascii && !utf8.ValidString(body)) {
		return 0, nil, false
	}
	for _, stamp := range f.mark {
		if stamp == 0 { // a column no instance gave
			return 0, nil, false
		}
	}
	x, err := f.cols.Matrix(m.spec)
	if err != nil || m.checkFinite(x) != nil {
		return 0, nil, false
	}
	st.lastRows = x.Rows
	return f.out, x, true
}

// envelope reads the body's object: "instances" (or "inputs") and,
// before or after, "parameters".
func (f *fastRead) envelope() bool {
	c := &f.c
	if !c.expect('{') {
		return false
	}
	var list, params bool
	for {
		k, ok := c.key()
		switch {
		case !ok:
			return false
		case (k == "instances" || k == "inputs") && !list:
			list, ok = true, f.instances()
		case k == "parameters" && !params:
			params, ok = true, f.parameters()
		default:
			return false
		}
		if !ok {
			return false
		}
		if more, ok := c.more('}'); !ok || !more {
			return ok && list
		}
	}
}

// parameters reads the parameters object: null, or {"output": o} with o
// null, "labels" or "probabilities".
func (f *fastRead) parameters() bool {
	c := &f.c
	if c.peek() == 'n' {
		return c.null()
	}
	if !c.expect('{') {
		return false
	}
	if c.peek() == '}' {
		c.i++
		return true
	}
	if k, ok := c.key(); !ok || k != "output" {
		return false
	}
	if c.peek() == 'n' {
		return c.null() && c.expect('}')
	}
	switch o, _ := c.str(false); o {
	case OutputLabels:
		f.out = outLabels
	case OutputProbabilities:
		f.out = outProbabilities
	default:
		return false
	}
	return c.expect('}')
}

// instances reads the list of instances: tables and row objects.
func (f *fastRead) instances() bool {
	c := &f.c
	if !c.expect('[') || c.peek() == ']' {
		return false // no instances: the general path words the error
	}
	for {
		if !c.expect('{') {
			return false
		}
		f.stamp++
		if !f.instance() {
			return false
		}
		if more, ok := c.more(']'); !ok || !more {
			return ok
		}
	}
}

// instance reads one instance after its opening brace: {"data": table}
// (unless the model has a column named "data", when that is a row), or a
// row object, whose row is added once a model column is in it, or at its
// end.
func (f *fastRead) instance() bool {
	c := &f.c
	if c.peek() == '}' {
		c.i++
		_, ok := f.addRow() // a row of missing values, as the general path reads it
		return ok
	}
	row := -1
	for first := true; ; first = false {
		name, ok := c.key()
		if !ok {
			return false
		}
		col := f.lookup(name)
		switch {
		case first && col < 0 && name == "data" && c.peek() == '{':
			c.i++
			return f.table() && c.expect('}')
		case name == "data":
			return false // a row with a member "data": left to the general path
		case col < 0:
			ok = skipScalar(c)
		case row < 0:
			if row, ok = f.addRow(); ok {
				ok = f.set(col, row)
			}
		default:
			ok = f.set(col, row)
		}
		if !ok {
			return false
		}
		if more, ok := c.more('}'); !ok || !more {
			if ok && row < 0 {
				_, ok = f.addRow()
			}
			return ok
		}
	}
}

// addRow adds a row, unless the request would pass the limit on rows:
// then the general path refuses it.
func (f *fastRead) addRow() (int, bool) {
	if checkRows(f.cols.Rows()+1, f.max) != nil {
		return 0, false
	}
	return f.cols.AddRow(), true
}

// set reads the value of model column col in row row, once per instance.
func (f *fastRead) set(col, row int) bool {
	if f.mark[col] == f.stamp {
		return false // the column given twice
	}
	f.mark[col] = f.stamp
	return f.value(col, row)
}

// table reads a table's columns after the table's opening brace, through
// its closing one. The first model column adds the table's rows; the
// others must have as many.
func (f *fastRead) table() bool {
	c := &f.c
	if c.peek() == '}' {
		return false // an empty table
	}
	base, rows := f.cols.Rows(), -1
	for {
		name, ok := c.key()
		if !ok || !c.expect('{') {
			return false
		}
		if col := f.lookup(name); col >= 0 {
			var n int
			n, ok = f.column(col, base, rows)
			rows = n
		} else {
			ok = skipColumn(c)
		}
		if !ok {
			return false
		}
		if more, ok := c.more('}'); !ok || !more {
			return ok && rows > 0
		}
	}
}

// lookup returns the model column named name, -1 for none, and records
// it in f.order.
func (f *fastRead) lookup(name string) int {
	k := f.lookups
	f.lookups++
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

// column reads the values of model column col of a table whose rows start
// at base, after the column's opening brace, and returns its row count.
// rows is the table's row count, or -1 before its first model column,
// which adds the rows.
func (f *fastRead) column(col, base, rows int) (int, bool) {
	if f.mark[col] == f.stamp {
		return 0, false // the column given twice
	}
	f.mark[col] = f.stamp
	c := &f.c
	i := 0
	if dst := f.cols.NumberColumn(col); rows > 0 && dst != nil {
		var closed bool
		if i, closed = c.plainNumbers(dst[base : base+rows]); closed {
			return rows, i == rows
		}
	}
	for ; ; i++ {
		if !c.indexKey(i) {
			return 0, false
		}
		switch {
		case rows < 0:
			if _, ok := f.addRow(); !ok {
				return 0, false
			}
		case i >= rows:
			return 0, false
		}
		if !f.value(col, base+i) {
			return 0, false
		}
		more, ok := c.more('}')
		switch {
		case !ok:
			return 0, false
		case !more:
			return i + 1, rows < 0 || i+1 == rows
		}
	}
}

// value reads the value of column col in row row: a number, null, or for
// a categorical column a string.
func (f *fastRead) value(col, row int) bool {
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

// plainNumbers reads the values of a numeric column for as long as they
// take the plainest form, "i":number followed by a comma, with no
// whitespace, row keys below 10 and numbers ScanNumber reads exactly, into
// dst[i]. It returns the rows read; closed reports that the column's
// closing brace followed the last one. Anything else stops it before the
// row's key, for the general loop to read.
func (c *cursor) plainNumbers(dst []float64) (i int, closed bool) {
	s, p := c.s, c.i
	for ; i < len(dst) && i < 10 && len(s)-p > 5; i++ {
		k := s[p : p+4]
		got := uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
		if got != '"'|('0'+uint32(i))<<8|'"'<<16|':'<<24 {
			break
		}
		v, n, exact := dataset.ScanNumber(s[p+4:])
		q := p + 4 + n
		if n == 0 || !exact || q >= len(s) {
			break
		}
		switch s[q] {
		case ',':
			dst[i], p = v, q+1
			continue
		case '}':
			dst[i], c.i = v, q+1
			return i + 1, true
		}
		break
	}
	c.i = p
	return i, false
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
		if _, ok := c.key(); !ok || !skipScalar(c) {
			return false
		}
		if more, ok := c.more('}'); !ok || !more {
			return ok
		}
	}
}

// skipScalar reads a value the model does not take: a number, a string, a
// boolean or null.
func skipScalar(c *cursor) bool {
	switch b := c.peek(); {
	case b == '"':
		_, ok := c.str(true)
		return ok
	case b == 't' && len(c.s)-c.i >= 4 && c.s[c.i:c.i+4] == "true":
		c.i += 4
	case b == 'f' && len(c.s)-c.i >= 5 && c.s[c.i:c.i+5] == "false":
		c.i += 5
	case b == 'n':
		return c.null()
	default:
		_, n, _ := dataset.ScanNumber(c.s[c.i:])
		c.i += n
		return n > 0
	}
	return true
}

// resize returns s with length n, reusing its storage when it has room.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
