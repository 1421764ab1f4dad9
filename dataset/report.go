package dataset

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// FileStat describes one loaded source.
type FileStat struct {
	// Name is the file name or source name.
	Name string
	// Rows is the number of data rows.
	Rows int
	// Bytes is the size of the CSV text.
	Bytes int64
	// SHA256 is the hex sha256 of the CSV text, for data provenance.
	SHA256 string
}

// Report counts what loading and preprocessing saw. Load fills Files, Rows
// and the label counts; Preprocess adds the missing numeric values it
// imputed and the unseen categories it met (so preprocessing a training and
// a validation table with one Report counts every row once).
type Report struct {
	// Files lists the sources in load order.
	Files []FileStat
	// Rows is the total number of rows loaded.
	Rows int
	// Label is the label column; Positive and Negative its two values.
	Label, Positive, Negative string
	// HasLabel says whether the rows carried labels.
	HasLabel bool
	// Positives and Negatives count the rows of each label value.
	Positives, Negatives int
	// Missing counts the missing numeric values imputed, per column.
	Missing map[string]int
	// Unseen counts the categorical values outside the spec's categories
	// (missing ones included), per column.
	Unseen map[string]int
	// Warnings are findings about the data a reader should see (a
	// validation split without one of the classes); WriteTo prints them.
	Warnings []string
}

// NewReport returns an empty report for spec's label.
func NewReport(spec *Spec) *Report {
	return &Report{
		Label: spec.Label, Positive: spec.Positive, Negative: spec.Negative,
		Missing: map[string]int{}, Unseen: map[string]int{},
	}
}

func (r *Report) addFile(f FileStat) {
	r.Files = append(r.Files, f)
	r.Rows += f.Rows
}

func (r *Report) addLabels(t *Table) {
	r.HasLabel = t.HasLabel()
	if !r.HasLabel {
		return
	}
	r.Positives = t.Positives()
	r.Negatives = t.n - r.Positives
}

// add adds n to m[name], making m when needed; zero counts are not stored.
func add(m *map[string]int, name string, n int) {
	if n == 0 {
		return
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[name] += n
}

// WriteTo prints the report as an aligned table.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "file\trows\tbytes\tsha256\t\n")
	for _, f := range r.Files {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.12s\t\n", f.Name, f.Rows, f.Bytes, f.SHA256)
	}
	fmt.Fprintf(tw, "total\t%d\t\t\t\n", r.Rows)
	if err := tw.Flush(); err != nil {
		return cw.n, err
	}
	if r.HasLabel && r.Rows > 0 {
		fmt.Fprintf(cw, "label %s: %s %d (%.1f%%), %s %d (%.1f%%)\n", r.Label,
			r.Positive, r.Positives, 100*float64(r.Positives)/float64(r.Rows),
			r.Negative, r.Negatives, 100*float64(r.Negatives)/float64(r.Rows))
	} else {
		fmt.Fprintf(cw, "label %s: absent\n", r.Label)
	}
	writeCounts(cw, "missing numeric values imputed with the mean", r.Missing)
	writeCounts(cw, "unseen categories (encoded as all zeros)", r.Unseen)
	for _, w := range r.Warnings {
		fmt.Fprintf(cw, "warning: %s\n", w)
	}
	return cw.n, cw.err
}

// writeCounts prints one count per column, by column name.
func writeCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		fmt.Fprintf(w, "%s: none\n", title)
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%d\t\n", n, m[n])
	}
	tw.Flush()
}

// countingWriter counts bytes written and keeps the first error.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
