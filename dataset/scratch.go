package dataset

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
	num     [][]float64 // the table's columns: the builder's, cut to its rows
	cat     []catColumn
	p       plan
	m       Matrix
	missing []int
	unseen  []int
	cols    Columns
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
	s.codes = resize(s.codes, nc*n)
	b.numBuf, b.codeBuf = s.nums, s.codes
	b.num = resize(b.num, nn)
	for k := range b.num {
		b.num[k] = s.nums[k*n : (k+1)*n : (k+1)*n]
	}
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
	n := b.n
	s.num = resize(s.num, len(b.num))
	for k, col := range b.num {
		s.num[k] = col[:n:n]
	}
	s.cat = resize(s.cat, len(b.enc))
	for k, e := range b.enc {
		s.cat[k] = catColumn{dict: e.dict, codes: b.codes[k][:n:n]}
	}
	s.t = Table{n: n, numName: b.sc.numName, num: s.num, catName: b.sc.catName, cat: s.cat}
	if b.label != nil {
		s.t.label = b.label[:n:n]
	}
	return &s.t
}

// preprocess is Preprocess for a whole table (not a view), without a
// report, into s's plan and matrix.
func (s *Scratch) preprocess(spec *Spec, t *Table) (*Matrix, error) {
	if err := s.p.build(spec, t); err != nil {
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
	s.p.fill(spec, x, w, s.missing, s.unseen)
	return &s.m, nil
}

// Footprint returns about the bytes s's buffers hold, for a caller that
// bounds what it keeps for reuse.
func (s *Scratch) Footprint() int {
	return 8*cap(s.nums) + 4*cap(s.codes) + 4*cap(s.labels) + 4*cap(s.m.X)
}

// resize returns s with length n, reusing its storage when it has room.
// The elements are not cleared.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}
