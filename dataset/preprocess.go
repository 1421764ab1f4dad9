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
}

func newPlan(spec *Spec, t *Table) (*plan, error) {
	p := &plan{num: make([][]float64, 0, len(spec.Numeric))}
	for k, c := range spec.Numeric {
		j := indexAt(t.numName, c.Name, k)
		if j < 0 {
			return nil, fmt.Errorf("dataset: preprocess: table has no numeric column %q", c.Name)
		}
		p.num = append(p.num, t.num[j])
	}
	nc := len(spec.Categorical)
	p.codes, p.same = make([][]int32, nc), make([]int, nc)
	p.look, p.off = make([][]int32, nc), make([]int, nc)
	off := len(spec.Numeric)
	for k, c := range spec.Categorical {
		j := indexAt(t.catName, c.Name, k)
		if j < 0 {
			return nil, fmt.Errorf(
				"dataset: preprocess: table has no categorical column %q", c.Name)
		}
		p.codes[k] = t.cat[j].codes
		p.same[k], p.look[k] = lookup(t.cat[j].dict, c.Categories)
		p.off[k] = off
		off += len(c.Categories)
	}
	return p, nil
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
	for lo := 0; lo < t.n; lo += blockRows {
		hi := min(lo+blockRows, t.n)
		p.numeric(spec, m.X, w, lo, hi, missing)
		p.categorical(m.X, w, lo, hi, unseen)
	}
	if t.label != nil {
		m.Y = append([]float32(nil), t.label...)
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

// numeric fills the numeric inputs of rows [lo, hi).
func (p *plan) numeric(spec *Spec, x []float32, w, lo, hi int, missing []int) {
	for j, c := range spec.Numeric {
		col := p.num[j][lo:hi]
		mean, std := c.Mean, c.Std
		k := lo*w + j
		for _, v := range col {
			if v != v { // NaN: missing, imputed with the mean
				missing[j]++
				x[k] = 0
			} else {
				x[k] = float32((v - mean) / std)
			}
			k += w
		}
	}
}

// categorical fills the one-hot inputs of rows [lo, hi).
func (p *plan) categorical(x []float32, w, lo, hi int, unseen []int) {
	for j, codes := range p.codes {
		look, same := p.look[j], int32(p.same[j])
		k := lo*w + p.off[j]
		for _, code := range codes[lo:hi] {
			c := code
			if code >= same {
				c = -1
				if look != nil {
					c = look[code-same]
				}
			}
			if c >= 0 {
				x[k+int(c)] = 1
			} else {
				unseen[j]++
			}
			k += w
		}
	}
}
