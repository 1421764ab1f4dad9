package dataset

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors; the typed errors below wrap them, so callers can test
// with errors.Is.
var (
	// ErrInvalidSpec marks a spec that fails validation.
	ErrInvalidSpec = errors.New("invalid spec")
	// ErrNoInput marks a call with no files or sources.
	ErrNoInput = errors.New("no input files")
	// ErrEmpty marks a file with no header or no data rows.
	ErrEmpty = errors.New("no data")
	// ErrMalformed marks CSV that cannot be read (quotes, field counts).
	ErrMalformed = errors.New("malformed CSV")
	// ErrMissingColumn marks a column the spec needs but the header lacks.
	ErrMissingColumn = errors.New("missing column")
	// ErrDuplicateColumn marks a header that names a needed column twice.
	ErrDuplicateColumn = errors.New("duplicate column")
	// ErrNotNumber marks a value in a numeric column that is not a finite
	// number nor a missing-value marker. Text that does not parse says
	// "not a number"; infinities say "not a finite number".
	ErrNotNumber = errors.New("not a number")
	// ErrBadLabel marks a label value that is neither the positive nor
	// the negative value.
	ErrBadLabel = errors.New("bad label")
	// ErrPositiveAbsent marks a label column that never holds the positive
	// value asked for.
	ErrPositiveAbsent = errors.New("never has the positive value")
	// ErrNoPositive marks a label whose positive value cannot be picked
	// (not two distinct values, or not exactly one that reads as a yes).
	ErrNoPositive = errors.New("cannot tell which value means churn; " +
		"name the positive value")
	// ErrRowLength marks an in-memory record whose length differs from
	// its header's.
	ErrRowLength = errors.New("wrong number of fields")
)

// ParseError says where bad input is: a file and line, or a source and row
// of in-memory records, and the column and value when there is one.
type ParseError struct {
	// Source is the file name, or the name of an in-memory source
	// ("request").
	Source string
	// Line is the 1-based line of a file (the header is line 1); 0 when
	// the error is not about one line or the source is in memory.
	Line int
	// Row is the 0-based record index of an in-memory source; -1 for files
	// and for errors that are not about one record.
	Row int
	// Column is the column name; empty when the error is about no column.
	Column string
	// Value is the offending value, when there is one.
	Value string
	// Err is one of the sentinel errors of this package, possibly wrapping
	// more detail.
	Err error
}

// Error formats the error as "dataset: SOURCE:LINE: column "C": value "V": ERR".
func (e *ParseError) Error() string {
	b := []byte("dataset: ")
	b = append(b, e.Source...)
	switch {
	case e.Line > 0:
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(e.Line), 10)
	case e.Row >= 0:
		b = append(b, ": row "...)
		b = strconv.AppendInt(b, int64(e.Row), 10)
	}
	if e.Column != "" {
		b = append(b, ": column "...)
		b = strconv.AppendQuote(b, e.Column)
	}
	if e.Value != "" || errors.Is(e.Err, ErrNotNumber) || errors.Is(e.Err, ErrBadLabel) {
		b = append(b, ": value "...)
		b = strconv.AppendQuote(b, e.Value)
	}
	b = append(b, ": "...)
	b = append(b, e.Err.Error()...)
	return string(b)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// SpecError says which field of a spec is wrong and why.
type SpecError struct {
	// Source is the spec file, when the spec came from one.
	Source string
	// Field is the JSON path of the field, such as "numeric[3].std".
	Field string
	// Msg says what is wrong.
	Msg string
	// Err is ErrInvalidSpec.
	Err error
}

// Error formats the error as "dataset: spec FILE: FIELD: MSG".
func (e *SpecError) Error() string {
	src := ""
	if e.Source != "" {
		src = " " + e.Source
	}
	return fmt.Sprintf("dataset: spec%s: %s: %s", src, e.Field, e.Msg)
}

// Unwrap returns ErrInvalidSpec.
func (e *SpecError) Unwrap() error { return e.Err }

func specErr(field, msg string) *SpecError {
	return &SpecError{Field: field, Msg: msg, Err: ErrInvalidSpec}
}
