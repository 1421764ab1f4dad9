package dataset

import (
	"fmt"
	"math"
	"slices"
)

// Matrix is a row-major float32 matrix of model inputs with optional labels.
type Matrix struct {
	Rows, Cols int
	// X holds Rows*Cols inputs, row after row.
	X []float32
	// Y holds Rows labels (0 or 1), or is nil when the table had no label.
	Y []float32
}

// Row returns the inputs of row i, sharing X's memory.
func (m *Matrix) Row(i int) []float32 { return m.X[i*m.Cols : (i+1)*m.Cols] }

// Table is a loaded, validated raw table: the spec's numeric columns
// parsed to float64 (NaN where missing), categorical columns as strings
// (held dictionary-encoded) and the label when present. A Table is
// read-only once built; its methods may be called from several goroutines.
//
// A Table may be a view of another's rows (Split gives views): rows then
// lists, in order, the distinct rows of the columns it holds, which it
// shares with the table it views. A view costs an index per row, not a
// copy of every value, so splitting a table for training does not double
// its memory.
type Table struct {
	n       int
	numName []string
	num     [][]float64
	catName []string
	cat     []catColumn
	label   []float32 // nil when the rows carry no label
	rows    []int     // the columns' rows, in order; nil for all of them
}

// row returns the index in the columns of the table's row i.
func (t *Table) row(i int) int {
	if t.rows == nil {
		return i
	}
	return t.rows[i]
}

// gather returns the rows of col that the table holds, as a new slice.
func gather[E any](t *Table, col []E) []E {
	if t.rows == nil {
		return append([]E(nil), col...)
	}
	out := make([]E, len(t.rows))
	for k, i := range t.rows {
		out[k] = col[i]
	}
	return out
}

// Len returns the number of rows.
func (t *Table) Len() int { return t.n }

// HasLabel reports whether every row carries a label.
func (t *Table) HasLabel() bool { return t.label != nil }

// Labels returns a copy of the labels (1 for the positive value, 0 for the
// negative), or nil when the table has no label.
func (t *Table) Labels() []float32 {
	if t.label == nil {
		return nil
	}
	return gather(t, t.label)
}

// Positives returns the number of rows labelled positive.
func (t *Table) Positives() int {
	if t.label == nil {
		return 0
	}
	n := 0
	for i := range t.n {
		if t.label[t.row(i)] == 1 {
			n++
		}
	}
	return n
}

// Numeric returns a copy of numeric column name (NaN where missing), and
// false when the table has no such numeric column.
func (t *Table) Numeric(name string) ([]float64, bool) {
	for j, n := range t.numName {
		if n == name {
			return gather(t, t.num[j]), true
		}
	}
	return nil, false
}

// Categorical returns a copy of categorical column name as read, and false
// when the table has no such categorical column.
func (t *Table) Categorical(name string) ([]string, bool) {
	for j, n := range t.catName {
		if n == name {
			return t.cat[j].values(t), true
		}
	}
	return nil, false
}

// subset returns a view of the rows idx of t, in that order, sharing t's
// columns.
func (t *Table) subset(idx []int) *Table {
	s := *t
	s.n = len(idx)
	s.rows = idx
	if t.rows != nil {
		s.rows = make([]int, len(idx))
		for k, i := range idx {
			s.rows[k] = t.rows[i]
		}
	}
	return &s
}

// Concat returns the rows of tables one after the other. The tables must
// hold the same columns in the same order (as tables loaded with one spec
// do); the result has a label only when every table has one. A single
// table is returned as it is (tables are read-only).
func Concat(tables ...*Table) (*Table, error) {
	if len(tables) == 0 {
		return nil, fmt.Errorf("dataset: concat: %w", ErrNoInput)
	}
	if len(tables) == 1 {
		return tables[0], nil
	}
	first := tables[0]
	out := &Table{numName: first.numName, catName: first.catName}
	out.num = make([][]float64, len(first.num))
	out.cat = make([]catColumn, len(first.cat))
	withLabel := true
	for i, t := range tables {
		if !slices.Equal(t.numName, first.numName) || !slices.Equal(t.catName, first.catName) {
			return nil, fmt.Errorf("dataset: concat: table %d has other columns than table 0", i)
		}
		out.n += t.n
		withLabel = withLabel && t.label != nil
	}
	for _, t := range tables {
		for j := range t.num {
			out.num[j] = append(out.num[j], gather(t, t.num[j])...)
		}
		for j := range t.cat {
			out.cat[j] = out.cat[j].appendColumn(t.cat[j].subset(t))
		}
		if withLabel {
			out.label = append(out.label, gather(t, t.label)...)
		}
	}
	return out, nil
}

// Split returns the training and validation tables of a shuffled split, the
// rows scikit-learn's train_test_split(test_size=testSize,
// random_state=seed) gives, in the order it gives them: the rows are
// permuted as numpy's RandomState(seed).permutation(n) permutes them (see
// mt19937), the first ceil(testSize*n) go to validation and the rest, in
// permutation order, to training. Both tables must get at least one row.
// The same seed, size and row count give the same split. The two tables
// are views of t's rows: they share its columns rather than copy them.
func Split(t *Table, testSize float64, seed int64) (train, val *Table, err error) {
	tr, va, err := splitIndices(t.n, testSize, seed)
	if err != nil {
		return nil, nil, err
	}
	return t.subset(tr), t.subset(va), nil
}

// splitIndices returns the training and validation row indices of a
// shuffled split of n rows, as Split describes. Infer uses it too, so that
// a fitted spec sees exactly the training rows Split gives.
func splitIndices(n int, testSize float64, seed int64) (train, val []int, err error) {
	if !(testSize > 0 && testSize < 1) {
		return nil, nil, fmt.Errorf("dataset: split: test size %v, want 0 < size < 1", testSize)
	}
	nVal := int(math.Ceil(testSize * float64(n)))
	if nVal < 1 || n-nVal < 1 {
		return nil, nil, fmt.Errorf(
			"dataset: split: %d rows at test size %v leave an empty side", n, testSize)
	}
	perm := newMT19937(seed).perm(n)
	return perm[nVal:], perm[:nVal], nil
}

// catColumn is a dictionary-encoded categorical column: row i holds
// dict[codes[i]]. Preprocess looks each distinct value up once, not once
// per row.
type catColumn struct {
	dict  []string
	codes []int32
}

// values returns the rows of the column that t holds, as strings.
func (c catColumn) values(t *Table) []string {
	out := make([]string, t.n)
	for i := range out {
		out[i] = c.dict[c.codes[t.row(i)]]
	}
	return out
}

// subset returns the rows of the column that t holds, sharing the
// dictionary (and the codes, when t is not a view).
func (c catColumn) subset(t *Table) catColumn {
	if t.rows == nil {
		return c
	}
	return catColumn{dict: c.dict, codes: gather(t, c.codes)}
}

// appendColumn returns c followed by d, with d's codes moved onto a merged
// dictionary. c's dictionary is copied before it grows, as subsets share it.
func (c catColumn) appendColumn(d catColumn) catColumn {
	pos := make(map[string]int32, len(c.dict)+len(d.dict))
	for i, v := range c.dict {
		pos[v] = int32(i)
	}
	dict := append([]string(nil), c.dict...)
	remap := make([]int32, len(d.dict))
	for i, v := range d.dict {
		code, ok := pos[v]
		if !ok {
			code = int32(len(dict))
			pos[v] = code
			dict = append(dict, v)
		}
		remap[i] = code
	}
	codes := make([]int32, len(c.codes), len(c.codes)+len(d.codes))
	copy(codes, c.codes)
	for _, code := range d.codes {
		codes = append(codes, remap[code])
	}
	return catColumn{dict: dict, codes: codes}
}
