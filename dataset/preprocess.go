package dataset

import "fmt"

// blockRows is the number of rows Preprocess fills column by column before
// moving on, so that the block of output rows stays in cache.
const blockRows = 128

// plan maps a spec's columns to a table's.
type plan struct {
	num   [][]float64
	codes [][]int32 // dictionary codes of each categorical column
	same  []int     // dictionary codes below same[j] are category indexes
	look  [][]int32 // code same[j]+i -> category index look[j][i], -1 unseen
	off   []int     // first input of each categorical block
	to    []int32   // output row of each column row, -1 for none; nil: the same
	n     int       // column rows to read
}

func newPlan(spec *Spec, t *Table) (*plan, error) {
	p := &plan{}
	if err := p.build(spec, t); err != nil {
		return nil, err
	}
	return p, nil
}

// build maps spec's columns to t's into p, reusing p's storage.
func (p *plan) build(spec *Spec, t *Table) error {
	p.n, p.to = t.n, nil
	if t.rows != nil {
		p.to, p.n = outputRows(t.rows)
	}
	p.num = p.num[:0]
	for k, c := range spec.Numeric {
		j := indexAt(t.numName, c.Name, k)
		if j < 0 {
			return fmt.Errorf("dataset: preprocess: table has no numeric column %q", c.Name)
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
			return fmt.Errorf(
				"dataset: preprocess: table has no categorical column %q", c.Name)
		}
		p.codes[k] = t.cat[j].codes
		p.same[k], p.look[k] = lookup(t.cat[j].dict, c.Categories)
		p.off[k] = off
		off += len(c.Categories)
	}
	return nil
}

// fill writes every input of the plan's rows into x (zeroed, w inputs a
// row), counting missing values and unseen categories per column.
func (p *plan) fill(spec *Spec, x []float32, w int, missing, unseen []int) {
	for lo := 0; lo < p.n; lo += blockRows {
		hi := min(lo+blockRows, p.n)
		p.numeric(spec, x, w, lo, hi, missing)
		p.categorical(x, w, lo, hi, unseen)
	}
}

// outputRows inverts a view's rows: to[i] is the output row of column row
// i, -1 when the view does not hold it; n is the number of column rows
// worth reading (one past the last held).
func outputRows(rows []int) (to []int32, n int) {
	for _, i := range rows {
		n = max(n, i+1)
	}
	to = make([]int32, n)
	for i := range to {
		to[i] = -1
	}
	for k, i := range rows {
		to[i] = int32(k)
	}
	return to, n
}

// lookup maps a column's dictionary to its categories. Tables built with
// the spec start their dictionaries with its categories, in order, and hold
// each value once: then codes below same are category indexes and the rest
// are unseen values, and look is nil. Otherwise look maps each code from
// same on to a category index, -1 for a value outside the categories.
func lookup(dict, categories []string) (same int, look []int32) {
	for same < len(dict) && same < len(categories) && dict[same] == categories[same] {
		same++
	}
	if same == len(categories) || same == len(dict) {
		return same, nil
	}
	at := make(map[string]int32, len(categories))
	for k, v := range categories {
		at[v] = int32(k)
	}
	look = make([]int32, len(dict)-same)
	for i, v := range dict[same:] {
		k, ok := at[v]
		if !ok {
			k = -1
		}
		look[i] = k
	}
	return same, look
}

// indexAt returns the index of name in names, looking first at index k,
// where tables built with the spec have it.
func indexAt(names []string, name string, k int) int {
	if k < len(names) && names[k] == name {
		return k
	}
	return indexOf(names, name)
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// Preprocess standardises and one-hot encodes t into a Matrix, computing in
// float64 and storing float32. It adds its counts to rep when rep is non-nil.
//
// A view (as Split gives) is not copied: Preprocess reads the viewed
// columns in order, as for a whole table, and writes each row held to its
// place in the output. Reading in order rather than gathering through the
// view's index keeps the reads sequential; the writes, a row at a time,
// land in a block of rows that stays in cache.
//
// A numeric input is float32((x - mean) / std), the value pandas gives for
// the same column before a cast to float32; a missing x gives 0, as the
// mean imputed. A categorical block has a 1 at its value's category and 0
// elsewhere; a value outside the categories gives all zeros. The matrix is
// allocated once and no row allocates: each distinct value of a column is
// looked up once, through a precomputed map, and rows index the result.
func Preprocess(spec *Spec, t *Table, rep *Report) (*Matrix, error) {
	p, err := newPlan(spec, t)
	if err != nil {
		return nil, err
	}
	w := spec.Width()
	m := &Matrix{Rows: t.n, Cols: w, X: make([]float32, t.n*w)}
	missing := make([]int, len(spec.Numeric))
	unseen := make([]int, len(spec.Categorical))
	p.fill(spec, m.X, w, missing, unseen)
	if t.label != nil {
		m.Y = gather(t, t.label)
	}
	if rep != nil {
		for j, c := range spec.Numeric {
			add(&rep.Missing, c.Name, missing[j])
		}
		for j, c := range spec.Categorical {
			add(&rep.Unseen, c.Name, unseen[j])
		}
	}
	return m, nil
}

// numeric fills the numeric inputs of column rows [lo, hi).
func (p *plan) numeric(spec *Spec, x []float32, w, lo, hi int, missing []int) {
	for j, c := range spec.Numeric {
		col, mean, std := p.num[j], c.Mean, c.Std
		if p.to == nil {
			for k, v := range col[lo:hi] {
				x[(lo+k)*w+j] = scaled(v, mean, std, &missing[j])
			}
			continue
		}
		for i, out := range p.to[lo:hi] {
			if out >= 0 {
				x[int(out)*w+j] = scaled(col[lo+i], mean, std, &missing[j])
			}
		}
	}
}

// scaled returns float32((v - mean) / std), or 0 for a missing (NaN) v,
// imputed with the mean, which it counts in missing.
func scaled(v, mean, std float64, missing *int) float32 {
	if v != v {
		*missing++
		return 0
	}
	return float32((v - mean) / std)
}

// categorical fills the one-hot inputs of column rows [lo, hi).
func (p *plan) categorical(x []float32, w, lo, hi int, unseen []int) {
	for j, codes := range p.codes {
		if p.to == nil {
			for k, code := range codes[lo:hi] {
				p.oneHot(x, (lo+k)*w, j, code, &unseen[j])
			}
			continue
		}
		for i, out := range p.to[lo:hi] {
			if out >= 0 {
				p.oneHot(x, int(out)*w, j, codes[lo+i], &unseen[j])
			}
		}
	}
}

// oneHot sets the input of category code of column j in the row starting
// at x[row], or counts code in unseen when it is no category.
func (p *plan) oneHot(x []float32, row, j int, code int32, unseen *int) {
	c := code
	if same := int32(p.same[j]); code >= same {
		c = -1
		if look := p.look[j]; look != nil {
			c = look[code-same]
		}
	}
	if c < 0 {
		*unseen++
		return
	}
	x[row+p.off[j]+int(c)] = 1
}
