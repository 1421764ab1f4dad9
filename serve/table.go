package serve

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/churn-pdk/churn/dataset"
)

// rows collects a request's raw values in the model's column order, as the
// strings a CSV file would hold: a JSON number keeps its literal text, a
// string its value, and null or an absent value becomes "" (missing, so
// imputed as in training).
type rows struct {
	m       *Model
	n       int
	max     int      // rows a request may hold; 0: no limit
	cells   []string // n * len(m.columns)
	filled  []bool   // parallel to cells: a value was given
	present []bool   // per column: some row gave it
	keys    []int    // scratch for row index keys
	colOf   []int    // scratch: a table member's model column, -1 for none
}

// reset prepares r for a request to model m of at most max rows (0: no
// limit), keeping its storage.
func (r *rows) reset(m *Model, max int) {
	r.m, r.n, r.max = m, 0, max
	r.cells, r.filled, r.keys = r.cells[:0], r.filled[:0], r.keys[:0]
	r.present = slices.Grow(r.present[:0], len(m.columns))[:len(m.columns)]
	clear(r.present)
}

// grow appends k empty rows and returns the first one's number; beyond
// the limit on rows it appends none and returns an error.
func (r *rows) grow(k int) (int, error) {
	if err := checkRows(r.n+k, r.max); err != nil {
		return 0, err
	}
	first, nc := r.n, len(r.m.columns)
	r.n += k
	r.cells = slices.Grow(r.cells, k*nc)[:r.n*nc]
	r.filled = slices.Grow(r.filled, k*nc)[:r.n*nc]
	clear(r.cells[first*nc:])
	clear(r.filled[first*nc:])
	return first, nil
}

// checkRows refuses n rows when max is a limit (above 0) and n is over it.
func checkRows(n, max int) error {
	if max > 0 && n > max {
		return errorf(ErrTooLarge, "request has more than %d rows, the limit per request", max)
	}
	return nil
}

// where locates a value in a request body for error messages; its text is
// built only when an error needs it.
type where struct {
	list   string // "instances" or "inputs"
	index  int    // the instance or tensor
	name   string // a V2 tensor's name
	key    string // a table's column key, when table is set
	table  bool
	suffix string // appended, such as ".data"
}

// String renders the location as a JSON path: instances[0].data["months"].
func (w where) String() string {
	s := w.list + "[" + strconv.Itoa(w.index) + "]"
	if w.name != "" {
		s += " (" + strconv.Quote(w.name) + ")"
	}
	if w.table {
		s += ".data[" + strconv.Quote(w.key) + "]"
	}
	return s + w.suffix
}

// set stores value v of column col in row row; at locates v in the body.
func (r *rows) set(t *tree, at where, row, col int, v node) error {
	c := r.m.columns[col]
	k := row*len(r.m.columns) + col
	if r.filled[k] {
		return &InputError{Field: at.String(), Column: c.name, Row: row, Reason: "given twice"}
	}
	r.filled[k] = true
	r.present[col] = true
	switch {
	case v.kind == kNull:
		r.cells[k] = ""
	case v.kind == kNumber:
		r.cells[k] = t.text(v)
	case v.kind == kString && c.kind == categoricalCol:
		r.cells[k] = t.text(v)
	default:
		want := "a number or null"
		if c.kind == categoricalCol {
			want = "a string, a number or null"
		}
		return &InputError{Field: at.String(), Column: c.name, Row: row,
			Reason: fmt.Sprintf("want %s, got %s", want, t.describe(v))}
	}
	return nil
}

// addRow reads one row object {column: value, ...}. Members that are not
// model columns (the label among them) are ignored.
func (r *rows) addRow(t *tree, at where, obj node) error {
	row, err := r.grow(1)
	if err != nil {
		return err
	}
	for _, v := range t.children(obj) {
		col, ok := r.m.index[t.key(v)]
		if !ok {
			continue
		}
		if err := r.set(t, at, row, col, v); err != nil {
			return err
		}
	}
	return nil
}

// addTable reads a table of columns, as pandas' DataFrame.to_dict() (and
// to_json()) write it: {column: {"0": value, "1": value, ...}, ...}. Rows
// are ordered by their index keys taken as integers; a column may also be a
// list of values, one per row. Columns that are not model columns are
// ignored.
func (r *rows) addTable(t *tree, at where, data node) error {
	at.table = true
	r.colOf = r.colOf[:0]
	for _, c := range t.children(data) {
		col, ok := r.m.index[t.key(c)]
		if !ok {
			col = -1
		}
		r.colOf = append(r.colOf, col)
	}
	if rowOf, ok := r.uniformKeys(t, data); ok {
		base, err := r.grow(len(rowOf))
		if err != nil {
			return err
		}
		for j, c := range t.children(data) {
			if col := r.colOf[j]; col >= 0 {
				at.key = t.key(c)
				for i, v := range t.children(c) {
					if err := r.set(t, at, base+rowOf[i], col, v); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	keys, err := r.indexKeys(t, at, data)
	if err != nil {
		return err
	}
	base, err := r.grow(len(keys))
	if err != nil {
		return err
	}
	dense := len(keys) == 0 || keys[len(keys)-1] == len(keys)-1
	for j, c := range t.children(data) {
		col := r.colOf[j]
		if col < 0 {
			continue
		}
		at.key = t.key(c)
		for i, v := range t.children(c) {
			k := i
			if c.kind == kObject {
				k, _ = rowKey(t.key(v)) // checked by indexKeys
			}
			if !dense {
				k, _ = slices.BinarySearch(keys, k)
			}
			if err := r.set(t, at, base+k, col, v); err != nil {
				return err
			}
		}
	}
	return r.rectangular(t, at, data, len(keys))
}

// rectangular reports a model column of a table that does not give a value
// for each of the table's n rows (the union of its columns' row keys). A
// pandas columns table is rectangular; pandas would read a short column or
// a missing row key as NaN, which the original then imputed without a
// word. Serving refuses it instead: a value left out by mistake would be
// answered as if it were the column's mean. A client that means "impute"
// sends null.
func (r *rows) rectangular(t *tree, at where, data node, n int) error {
	for j, c := range t.children(data) {
		col := r.colOf[j]
		if col < 0 || int(c.count) == n {
			continue
		}
		at.key = t.key(c)
		return &InputError{Field: at.String(), Column: r.m.columns[col].name, Row: -1,
			Reason: fmt.Sprintf("%d rows, the table has %d (a columns table must be "+
				"rectangular; send null for a value to impute)", c.count, n)}
	}
	return nil
}

// uniformKeys handles the common table, whose model columns all list the
// same distinct, valid row keys in the same order: it returns the row of
// each position (r.colOf holds the members' columns). For any other table
// it reports false, and addTable's own loop reads it and reports its
// errors.
func (r *rows) uniformKeys(t *tree, data node) (rowOf []int, ok bool) {
	var first []node
	for j, c := range t.children(data) {
		if r.colOf[j] < 0 {
			continue
		}
		if c.kind != kObject {
			return nil, false
		}
		kids := t.children(c)
		if first == nil {
			first = kids
			continue
		}
		if len(kids) != len(first) {
			return nil, false
		}
		for i := range kids {
			if t.key(kids[i]) != t.key(first[i]) {
				return nil, false
			}
		}
	}
	if len(first) == 0 {
		return nil, false
	}
	keys := r.keys[:0]
	for _, v := range first {
		k, ok := rowKey(t.key(v))
		if !ok {
			return nil, false
		}
		keys = append(keys, k)
	}
	sorted := append(keys, keys...)[len(keys):] // a copy after keys
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(keys) {
		return nil, false
	}
	for i, k := range keys {
		keys[i], _ = slices.BinarySearch(sorted, k)
	}
	r.keys = keys
	return keys, true
}

// indexKeys returns the sorted distinct row index keys of a table's model
// columns, checking each column's shape and keys.
func (r *rows) indexKeys(t *tree, at where, data node) ([]int, error) {
	keys := r.keys[:0]
	for j, c := range t.children(data) {
		col := r.colOf[j]
		if col < 0 {
			continue
		}
		switch c.kind {
		case kArray:
			for i := range t.children(c) {
				keys = append(keys, i)
			}
		case kObject:
			for _, v := range t.children(c) {
				k, ok := rowKey(t.key(v))
				if !ok {
					at.table, at.key = true, t.key(c)
					return nil, &InputError{Field: at.String(),
						Column: r.m.columns[col].name, Row: -1,
						Reason: fmt.Sprintf("row key %q is not a non-negative integer", t.key(v))}
				}
				keys = append(keys, k)
			}
		default:
			at.suffix = ".data"
			return nil, &InputError{Field: at.String(), Column: strings.Clone(t.key(c)), Row: -1,
				Reason: "want an object of row keys to values, or a list, got " + t.describe(c)}
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	r.keys = keys
	return keys, nil
}

// check reports a model column that no row gave, or an empty request.
func (r *rows) check(field string) error {
	if r.n == 0 {
		return invalid("%s: no rows", field)
	}
	for i, ok := range r.present {
		if !ok {
			return &InputError{Field: field, Column: r.m.columns[i].name, Row: -1,
				Reason: "missing from every row"}
		}
	}
	return nil
}

// matrix runs the training code's preprocessing on the rows: the same
// parsing as dataset.FromRecords and the same dataset.Preprocess with the
// model's spec, through the model's RecordParser into sc's storage (the
// matrix is sc's). records is scratch storage, reused across calls.
func (r *rows) matrix(records [][]string, sc *dataset.Scratch) (*dataset.Matrix, [][]string, error) {
	nc := len(r.m.columns)
	records = records[:0]
	for i := 0; i < r.n; i++ {
		records = append(records, r.cells[i*nc:(i+1)*nc:(i+1)*nc])
	}
	x, err := r.m.parser.Matrix(r.m.spec, records, sc)
	var pe *dataset.ParseError
	switch {
	case errors.As(err, &pe) && pe.Column != "":
		return nil, records, &InputError{Field: "request", Column: pe.Column, Row: pe.Row,
			Reason: fmt.Sprintf("value %q: %v", pe.Value, pe.Err)}
	case errors.As(err, &pe):
		return nil, records, errorf(ErrInvalidInput, "%v", err)
	case err != nil:
		return nil, records, fmt.Errorf("serve: %w", err)
	}
	return x, records, nil
}

// rowKey parses a table's row key: a non-negative integer in canonical
// form ("0", "17"; not "+1", "01" or "1.0"), as pandas writes a RangeIndex.
func rowKey(s string) (int, bool) {
	if s == "" || len(s) > 9 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	k := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + int(c-'0')
	}
	return k, true
}
