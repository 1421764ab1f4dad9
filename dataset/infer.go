package dataset

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultMaxCategories is the most distinct values Infer keeps in a
// categorical column when InferOptions.MaxCategories is 0.
const DefaultMaxCategories = 50

// InferOptions says how Infer fits a spec.
type InferOptions struct {
	// Label is the label column; required.
	Label string
	// Positive is the label value that means churn. Empty picks it from
	// the label's two distinct values: the one of them that reads as a yes
	// (see PositiveGuesses); when neither or both do, Infer fails with
	// ErrNoPositive.
	Positive string
	// Negative is the other label value; empty means the one other value
	// the label column holds (it must hold exactly two).
	Negative string
	// TestSize and Seed give the split whose training rows the figures are
	// fitted on, as Split makes it; TestSize 0 means 0.2.
	TestSize float64
	Seed     int64
	// MaxCategories drops categorical columns with more distinct values
	// (identifiers); 0 means DefaultMaxCategories.
	MaxCategories int
}

// Dropped is a column Infer left out of the spec, and why.
type Dropped struct {
	Column, Reason string
}

// InferReport says what Infer saw and left out.
type InferReport struct {
	// Files lists the sources read.
	Files []FileStat
	// Rows is the number of rows; TrainRows those the figures come from.
	Rows, TrainRows int
	// Dropped lists the columns left out, in file order.
	Dropped []Dropped
}

// Infer fits a spec to CSV sources (concatenated, the first one's header
// giving the columns). A column whose every non-missing value is a number
// is numeric. A column that is nearly so (at least NumericShare of its
// non-missing values are numbers, but not all) is taken for a numeric
// column with a typo: Infer fails with a ParseError (ErrNotNumber) at its
// first value that is not a number, rather than silently turning a key
// feature into categories or dropping it. A numeric column's mean and
// sample standard deviation (n-1, as pandas) come from the training rows
// of Split(TestSize, Seed). Other columns are categorical, with the
// training rows' distinct non-missing values sorted as strings. Numeric
// columns come first, then categorical ones, each in file order. Columns
// that cannot be used (no spread, no values, too many categories) are
// dropped and reported.
func Infer(opts InferOptions, sources ...Source) (*Spec, *InferReport, error) {
	if opts.Label == "" {
		return nil, nil, fmt.Errorf("dataset: infer: a label column is required")
	}
	if opts.TestSize == 0 {
		opts.TestSize = 0.2
	}
	if opts.MaxCategories == 0 {
		opts.MaxCategories = DefaultMaxCategories
	}
	cols, rep, err := readAllColumns(opts.Label, sources)
	if err != nil {
		return nil, nil, err
	}
	if opts.Positive == "" {
		if opts.Positive, err = pickPositive(opts.Label, cols.values[cols.label]); err != nil {
			return nil, nil, err
		}
	}
	spec := &Spec{Label: opts.Label, Positive: opts.Positive, Negative: opts.Negative}
	if err := inferNegative(spec, cols.values[cols.label], cols.loc); err != nil {
		return nil, nil, err
	}
	train, _, err := splitIndices(rep.Rows, opts.TestSize, opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	rep.TrainRows = len(train)
	sort.Ints(train)
	for j, name := range cols.names {
		if j != cols.label {
			if err := fitColumn(spec, rep, name, cols.values[j], train,
				opts.MaxCategories); err != nil {
				return nil, nil, cols.loc.err(err.row, name, cols.values[j][err.row], err.err)
			}
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	return spec, rep, nil
}

// allColumns is every column of the concatenated sources, as strings.
type allColumns struct {
	names  []string
	values [][]string
	label  int
	loc    multiLocator
}

// multiLocator says where row i of concatenated sources is.
type multiLocator struct {
	starts []int // first row of each source
	locs   []locator
}

func (m multiLocator) err(row int, column, value string, err error) *ParseError {
	k := sort.SearchInts(m.starts, row+1) - 1
	return m.locs[k].err(row-m.starts[k], column, value, err)
}

func readAllColumns(label string, sources []Source) (*allColumns, *InferReport, error) {
	if len(sources) == 0 {
		return nil, nil, fmt.Errorf("dataset: infer: %w", ErrNoInput)
	}
	cols := &allColumns{label: -1}
	rep := &InferReport{}
	for _, src := range sources {
		raw, err := readSource(src)
		if err != nil {
			return nil, nil, err
		}
		loc := locator{source: raw.name, lines: raw.lines}
		if cols.names == nil {
			if err := cols.setHeader(raw.header, label, loc); err != nil {
				return nil, nil, err
			}
		}
		for j, name := range cols.names {
			k := indexOf(raw.header, name)
			if k < 0 {
				return nil, nil, loc.columnErr(name, ErrMissingColumn)
			}
			cols.values[j] = append(cols.values[j], raw.column(k)...)
		}
		cols.loc.starts = append(cols.loc.starts, rep.Rows)
		cols.loc.locs = append(cols.loc.locs, loc)
		n := len(raw.lines)
		rep.Rows += n
		rep.Files = append(rep.Files,
			FileStat{Name: raw.name, Rows: n, Bytes: raw.bytes, SHA256: raw.sha256})
	}
	return cols, rep, nil
}

// setHeader takes the first source's header as the columns.
func (c *allColumns) setHeader(header []string, label string, loc locator) error {
	seen := map[string]bool{}
	for _, h := range header {
		if seen[h] {
			return loc.columnErr(h, ErrDuplicateColumn)
		}
		seen[h] = true
	}
	c.names = append([]string(nil), header...)
	c.values = make([][]string, len(header))
	c.label = indexOf(header, label)
	if c.label < 0 {
		return fmt.Errorf("%w (the label)", loc.columnErr(label, ErrMissingColumn))
	}
	return nil
}

// inferNegative checks the label values and fills spec.Negative when empty.
func inferNegative(spec *Spec, vals []string, loc multiLocator) error {
	seen := map[string]bool{}
	var order []string
	for i, s := range vals {
		if IsMissing(s) {
			return loc.err(i, spec.Label, s, fmt.Errorf("%w: missing", ErrBadLabel))
		}
		if !seen[s] {
			seen[s] = true
			order = append(order, s)
		}
		if spec.Negative != "" && s != spec.Positive && s != spec.Negative {
			return loc.err(i, spec.Label, s, fmt.Errorf("%w: want %q or %q",
				ErrBadLabel, spec.Positive, spec.Negative))
		}
		if spec.Negative == "" && len(order) > 2 {
			return loc.err(i, spec.Label, s, fmt.Errorf(
				"%w: a third value after %q and %q; give the negative value",
				ErrBadLabel, order[0], order[1]))
		}
	}
	if !seen[spec.Positive] {
		return fmt.Errorf("dataset: infer: label %q: %w %q (it holds %s)",
			spec.Label, ErrPositiveAbsent, spec.Positive, quoteList(order, 5))
	}
	if spec.Negative == "" {
		if len(order) != 2 {
			return fmt.Errorf("dataset: infer: label %q has only the value %q; "+
				"give the negative value", spec.Label, spec.Positive)
		}
		spec.Negative = order[0]
		if order[0] == spec.Positive {
			spec.Negative = order[1]
		}
	}
	return nil
}

// PositiveGuesses are the label values Infer takes as the positive class
// when InferOptions.Positive is empty, compared without case.
var PositiveGuesses = []string{"1", "yes", "y", "true"}

// pickPositive returns the one of the label's two distinct values that
// reads as a yes.
func pickPositive(label string, vals []string) (string, error) {
	var distinct []string
	for _, s := range vals {
		if !IsMissing(s) && !slices.Contains(distinct, s) {
			distinct = append(distinct, s)
			if len(distinct) > 2 {
				break
			}
		}
	}
	var yes []string
	for _, s := range distinct {
		if slices.Contains(PositiveGuesses, strings.ToLower(strings.TrimSpace(s))) {
			yes = append(yes, s)
		}
	}
	if len(distinct) == 2 && len(yes) == 1 {
		return yes[0], nil
	}
	return "", fmt.Errorf("dataset: infer: label %q holds %s: %w", label,
		quoteList(distinct, 3), ErrNoPositive)
}

// quoteList quotes up to n values, with "..." when there are more.
func quoteList(vals []string, n int) string {
	q := make([]string, 0, n+1)
	for i, v := range vals {
		if i == n {
			q = append(q, "...")
			break
		}
		q = append(q, strconv.Quote(v))
	}
	return "[" + strings.Join(q, " ") + "]"
}

// NumericShare is the share of a column's non-missing values that, when
// numbers, makes Infer treat the others as typos in a numeric column.
const NumericShare = 0.95

// valueErr is a bad value at a row of a column, before it is located.
type valueErr struct {
	row int
	err error
}

// fitColumn adds column name to spec, or reports why it is dropped, or
// says which value spoils a nearly numeric column.
func fitColumn(spec *Spec, rep *InferReport, name string, vals []string, train []int,
	maxCats int) *valueErr {
	drop := func(why string) { rep.Dropped = append(rep.Dropped, Dropped{name, why}) }
	nums, bad := numbers(vals)
	if good := bad.nonMissing - bad.count; bad.count > 0 &&
		float64(good) >= NumericShare*float64(bad.nonMissing) {
		return &valueErr{row: bad.first, err: fmt.Errorf("%w (%d of the column's %d values "+
			"are numbers; fix the value, or give a spec listing the column as categorical)",
			bad.err, good, bad.nonMissing)}
	}
	if bad.count == 0 {
		mean, std, n := meanStd(nums, train)
		switch {
		case n == 0:
			drop("no values in the training rows")
		case !(std > 0) || math.IsInf(std, 0):
			drop(fmt.Sprintf("numeric with no spread (std %v over %d values)", std, n))
		default:
			spec.Numeric = append(spec.Numeric, NumericColumn{Name: name, Mean: mean, Std: std})
		}
		return nil
	}
	cats := categories(vals, train)
	switch {
	case len(cats) == 0:
		drop("no values in the training rows")
	case len(cats) > maxCats:
		drop(fmt.Sprintf("%d distinct values > %d (an identifier?)", len(cats), maxCats))
	default:
		spec.Categorical = append(spec.Categorical,
			CategoricalColumn{Name: name, Categories: cats})
	}
	return nil
}

// notNumbers counts a column's values that are not numbers: count of
// nonMissing, the first at row first with its error.
type notNumbers struct {
	count, nonMissing, first int
	err                      error
}

// numbers parses a column and counts the values that do not parse.
func numbers(vals []string) ([]float64, notNumbers) {
	out := make([]float64, len(vals))
	var bad notNumbers
	for i, s := range vals {
		v, err := parseNumber(s)
		if err != nil {
			if bad.count == 0 {
				bad.first, bad.err = i, err
			}
			bad.count++
		}
		if err != nil || !math.IsNaN(v) {
			bad.nonMissing++
		}
		out[i] = v
	}
	return out, bad
}

// meanStd returns the mean and sample standard deviation of the
// non-missing values at rows, and how many there are.
func meanStd(vals []float64, rows []int) (mean, std float64, n int) {
	sum := 0.0
	for _, i := range rows {
		if v := vals[i]; v == v {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	mean = sum / float64(n)
	ss := 0.0
	for _, i := range rows {
		if v := vals[i]; v == v {
			d := v - mean
			ss += d * d
		}
	}
	return mean, math.Sqrt(ss / float64(n-1)), n
}

// categories returns the distinct non-missing values at rows, sorted.
func categories(vals []string, rows []int) []string {
	seen := map[string]bool{}
	var out []string
	for _, i := range rows {
		s := vals[i]
		if !IsMissing(s) && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
