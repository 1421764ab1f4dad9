package dataset

// This file holds the agreed exported API of the package while it is being
// written. The owner of the package replaces these stubs with real code
// (keeping the signatures, or telling the lead before changing them).

import (
	"errors"
	"io"
)

var errStub = errors.New("dataset: not implemented yet")

// Matrix is a row-major float32 matrix of model inputs with optional labels.
type Matrix struct {
	Rows, Cols int
	// X holds Rows*Cols inputs, row after row.
	X []float32
	// Y holds Rows labels (0 or 1), or is nil when the table had no label.
	Y []float32
}

// Table is a loaded, validated raw table: the spec's numeric columns
// parsed to float64 (NaN where missing), categorical columns as strings,
// and the label when present. Gota stays behind this type.
type Table struct{}

// Len returns the number of rows.
func (t *Table) Len() int { return 0 }

// Report counts what loading and preprocessing saw: rows per file, missing
// numeric values imputed per column, unseen categories per column, labels.
type Report struct{}

// ReadSpec parses and validates a JSON spec.
func ReadSpec(r io.Reader) (*Spec, error) { return nil, errStub }

// LoadSpec reads a JSON spec file.
func LoadSpec(path string) (*Spec, error) { return nil, errStub }

// Load reads and concatenates CSV files, checks each header against spec
// (label optional when requireLabel is false) and parses the values.
func Load(spec *Spec, requireLabel bool, paths ...string) (*Table, *Report, error) {
	return nil, nil, errStub
}

// FromRecords builds a table from in-memory rows (serving): header names the
// columns of each record; source names the origin in errors ("request").
// Extra columns are ignored; a missing spec column is an error.
func FromRecords(spec *Spec, source string, header []string, records [][]string) (*Table, error) {
	return nil, errStub
}

// Split shuffles row indices with a local RNG seeded by seed and returns the
// training and validation tables (validation gets round(testSize*n) rows).
func Split(t *Table, testSize float64, seed int64) (train, val *Table, err error) {
	return nil, nil, errStub
}

// Preprocess standardises and one-hot encodes t into a Matrix, computing in
// float64 and storing float32. It adds its counts to rep when rep is non-nil.
func Preprocess(spec *Spec, t *Table, rep *Report) (*Matrix, error) { return nil, errStub }
