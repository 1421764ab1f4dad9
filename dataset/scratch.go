package dataset

import "fmt"

// Scratch is reusable storage for RecordParser.Matrix: the parsed columns,
// the preprocessing plan and the output matrix of one call, kept for the
// next. The zero value is ready to use. A Scratch serves one call at a
// time; a server keeps one per in-flight request (in a sync.Pool).
type Scratch struct {
	b       tableBuilder
	nums    []float64
	codes   []int32
	labels  []float32
	t       Table
	cat     []catColumn
	p       plan
	m       Matrix
	missing []int
	unseen  []int
}

// Matrix parses records as Parse does and preprocesses the table as
// Preprocess does with spec, with the same results and errors, into
// storage held by s: once s has served a call of as many rows, a call
// allocates nothing but the copies of values outside a column's
// categories. The matrix returned is s's and is valid until s's next use;
// so are its X and Y. spec must be the spec the parser was made with.
func (p *RecordParser) Matrix(spec *Spec, records [][]string, s *Scratch) (*Matrix, error) {
	if err := checkRecords(p.source, p.width, records); err != nil {
		return nil, err
	}
	b := s.builder(p, len(records))
	for i, rec := range records {
		if pe := b.add(rec); pe != nil {
			pe.Source, pe.Row = p.source, i
			return nil, pe
		}
	}
	return s.preprocess(spec, s.table())
}

// builder readies s's table builder for n rows of p's records.
func (s *Scratch) builder(p *RecordParser, n int) *tableBuilder {
	b := &s.b
	b.sc, b.idx, b.n, b.size = p.sc, p.idx, 0, n
	nn, nc := len(p.sc.numName), len(p.sc.cats)
	s.nums = resize(s.nums, nn*n)
	b.num = resize(b.num, nn)
	for k := range b.num {
		b.num[k] = s.nums[k*n : (k+1)*n : (k+1)*n]
	}
	s.codes = resize(s.codes, nc*n)
	b.codes = resize(b.codes, nc)
	for k := range b.codes {
		b.codes[k] = s.codes[k*n : (k+1)*n : (k+1)*n]
	}
	b.enc = resize(b.enc, nc)
	for k := range b.enc {
		b.enc[k] = newCatEncoder(&p.sc.cats[k])
	}
	b.label = nil
	if b.idx.label >= 0 {
		s.labels = resize(s.labels, n)
		b.label = s.labels
	}
	return b
}

// table returns the table s's builder holds, in s's storage.
func (s *Scratch) table() *Table {
	b := &s.b
	s.cat = resize(s.cat, len(b.enc))
	for k, e := range b.enc {
		s.cat[k] = catColumn{dict: e.dict, codes: b.codes[k]}
	}
	s.t = Table{n: b.n, numName: b.sc.numName, num: b.num, catName: b.sc.catName,
		cat: s.cat, label: b.label}
	return &s.t
}

// preprocess is Preprocess for a whole table (not a view), without a
// report, into s's plan and matrix.
func (s *Scratch) preprocess(spec *Spec, t *Table) (*Matrix, error) {
	p, err := s.plan(spec, t)
	if err != nil {
		return nil, err
	}
	w := spec.Width()
	x := resize(s.m.X, t.n*w)
	clear(x)
	s.m = Matrix{Rows: t.n, Cols: w, X: x, Y: t.label}
	s.missing = resize(s.missing, len(spec.Numeric))
	s.unseen = resize(s.unseen, len(spec.Categorical))
	clear(s.missing)
	clear(s.unseen)
	for lo := 0; lo < p.n; lo += blockRows {
		hi := min(lo+blockRows, p.n)
		p.numeric(spec, x, w, lo, hi, s.missing)
		p.categorical(x, w, lo, hi, s.unseen)
	}
	return &s.m, nil
}

// plan is newPlan for a whole table, into s's plan.
func (s *Scratch) plan(spec *Spec, t *Table) (*plan, error) {
	p := &s.p
	p.n, p.to = t.n, nil
	p.num = p.num[:0]
	for k, c := range spec.Numeric {
		j := indexAt(t.numName, c.Name, k)
		if j < 0 {
			return nil, &specError{column: c.Name, kind: "numeric"}
		}
		p.num = append(p.num, t.num[j])
	}
	nc := len(spec.Categorical)
	p.codes, p.same = resize(p.codes, nc), resize(p.same, nc)
	p.look, p.off = resize(p.look, nc), resize(p.off, nc)
	off := len(spec.Numeric)
	for k, c := range spec.Categorical {
		j := indexAt(t.catName, c.Name, k)
		if j < 0 {
			return nil, &specError{column: c.Name, kind: "categorical"}
		}
		p.codes[k] = t.cat[j].codes
		p.same[k], p.look[k] = lookup(t.cat[j].dict, c.Categories)
		p.off[k] = off
		off += len(c.Categories)
	}
	return p, nil
}

// specError is Preprocess's error for a table that lacks a spec column.
type specError struct{ column, kind string }

func (e *specError) Error() string {
	return fmt.Sprintf("dataset: preprocess: table has no %s column %q", e.kind, e.column)
}

// resize returns s with length n, reusing its storage when it has room.
// The elements are not cleared.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
