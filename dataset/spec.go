// Package dataset turns churn CSV files into validated model inputs.
//
// A [Spec] says which columns a model reads and how: numeric columns are
// standardised with fixed figures, categorical columns are one-hot encoded
// over fixed category lists, and the label is mapped to 0 or 1. [Load]
// reads one or many CSV files into a [Table] and checks them against a spec;
// [Preprocess] turns a table into a float32 [Matrix]. Training and serving
// call the same [Preprocess] on the same resolved spec, so both see the same
// inputs bit for bit. For serving, [RecordParser] takes rows of strings
// already in memory and [Columns] values handed over one by one (numbers
// read with [ScanNumber]); both reuse a [Scratch] across requests and end
// in the same preprocessing.
package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Spec describes a model's inputs. The input order is the numeric columns in
// the order listed, then one block per categorical column, in the order
// listed, each block holding one input per category in the order listed.
type Spec struct {
	// Label is the name of the label column.
	Label string `json:"label"`
	// Positive is the label value that means churn ("1", "Yes"); it maps to 1.
	Positive string `json:"positive"`
	// Negative is the one other label value ("0", "No"); it maps to 0.
	// A label value that is neither is an error.
	Negative string `json:"negative"`
	// Numeric lists the standardised columns.
	Numeric []NumericColumn `json:"numeric"`
	// Categorical lists the one-hot encoded columns.
	Categorical []CategoricalColumn `json:"categorical"`
	// Inputs names every model input in order; it is derived from the
	// columns above and checked against them when a spec is read.
	Inputs []string `json:"inputs"`
}

// NumericColumn is a column standardised as (x - Mean) / Std. A missing
// value is imputed with Mean, so it standardises to exactly 0.
type NumericColumn struct {
	Name string  `json:"name"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// CategoricalColumn is a column one-hot encoded over Categories, in order.
// A value outside Categories (missing values included) encodes as an
// all-zero block.
type CategoricalColumn struct {
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
}

// InputName returns the name of the one-hot input for category of column,
// "<column>_<category>", as pandas get_dummies names it with a prefix.
func InputName(column, category string) string { return column + "_" + category }

// Width returns the number of model inputs the spec produces.
func (s *Spec) Width() int {
	n := len(s.Numeric)
	for _, c := range s.Categorical {
		n += len(c.Categories)
	}
	return n
}

// DeriveInputs returns the input names the columns produce, in input order.
func (s *Spec) DeriveInputs() []string {
	in := make([]string, 0, s.Width())
	for _, c := range s.Numeric {
		in = append(in, c.Name)
	}
	for _, c := range s.Categorical {
		for _, v := range c.Categories {
			in = append(in, InputName(c.Name, v))
		}
	}
	return in
}

// Validate checks the spec and fills Inputs when it is empty. It returns a
// *SpecError that names the offending field.
func (s *Spec) Validate() error {
	if err := s.validateLabel(); err != nil {
		return err
	}
	seen := map[string]string{s.Label: "label"}
	if err := s.validateNumeric(seen); err != nil {
		return err
	}
	if err := s.validateCategorical(seen); err != nil {
		return err
	}
	if s.Width() == 0 {
		return specErr("numeric", "no input columns")
	}
	return s.checkInputs()
}

func (s *Spec) validateLabel() error {
	switch {
	case s.Label == "":
		return specErr("label", "empty")
	case s.Positive == "":
		return specErr("positive", "empty")
	case s.Negative == "":
		return specErr("negative", "empty")
	case s.Positive == s.Negative:
		return specErr("negative", fmt.Sprintf("equal to positive %q", s.Positive))
	}
	return nil
}

func (s *Spec) validateNumeric(seen map[string]string) error {
	for i, c := range s.Numeric {
		field := fmt.Sprintf("numeric[%d]", i)
		if err := claimName(seen, c.Name, field); err != nil {
			return err
		}
		if math.IsNaN(c.Mean) || math.IsInf(c.Mean, 0) {
			return specErr(field+".mean", fmt.Sprintf("column %q: not finite", c.Name))
		}
		if !(c.Std > 0) || math.IsInf(c.Std, 0) {
			return specErr(field+".std",
				fmt.Sprintf("column %q: %v, want a finite number > 0", c.Name, c.Std))
		}
	}
	return nil
}

func (s *Spec) validateCategorical(seen map[string]string) error {
	for i, c := range s.Categorical {
		field := fmt.Sprintf("categorical[%d]", i)
		if err := claimName(seen, c.Name, field); err != nil {
			return err
		}
		if len(c.Categories) == 0 {
			return specErr(field+".categories", fmt.Sprintf("column %q: empty", c.Name))
		}
		cats := make(map[string]bool, len(c.Categories))
		for j, v := range c.Categories {
			f := fmt.Sprintf("%s.categories[%d]", field, j)
			if v == "" {
				return specErr(f, fmt.Sprintf("column %q: empty category", c.Name))
			}
			if cats[v] {
				return specErr(f, fmt.Sprintf("column %q: duplicate category %q", c.Name, v))
			}
			cats[v] = true
		}
	}
	return nil
}

// claimName records name as used by field, or says which field has it.
func claimName(seen map[string]string, name, field string) error {
	if name == "" {
		return specErr(field+".name", "empty")
	}
	if prev, ok := seen[name]; ok {
		if prev == "label" {
			return specErr(field+".name", fmt.Sprintf("%q is the label", name))
		}
		return specErr(field+".name", fmt.Sprintf("duplicate column %q (also %s)", name, prev))
	}
	seen[name] = field
	return nil
}

// checkInputs derives Inputs when absent and otherwise checks them.
func (s *Spec) checkInputs() error {
	want := s.DeriveInputs()
	dup := make(map[string]bool, len(want))
	for i, n := range want {
		if dup[n] {
			return specErr(fmt.Sprintf("inputs[%d]", i), fmt.Sprintf("duplicate input %q", n))
		}
		dup[n] = true
	}
	if len(s.Inputs) == 0 {
		s.Inputs = want
		return nil
	}
	if len(s.Inputs) != len(want) {
		return specErr("inputs",
			fmt.Sprintf("%d names, the columns give %d", len(s.Inputs), len(want)))
	}
	for i := range want {
		if s.Inputs[i] != want[i] {
			return specErr(fmt.Sprintf("inputs[%d]", i),
				fmt.Sprintf("%q, the columns give %q", s.Inputs[i], want[i]))
		}
	}
	return nil
}

// ReadSpec parses and validates a JSON spec. Unknown fields are an error;
// Inputs is derived when absent.
func ReadSpec(r io.Reader) (*Spec, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return nil, &SpecError{Field: "json", Msg: msg, Err: ErrInvalidSpec}
	}
	if dec.More() {
		return nil, specErr("json", "data after the spec object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadSpec reads a JSON spec file; errors name the file.
func LoadSpec(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: spec: %w", err)
	}
	defer f.Close()
	s, err := ReadSpec(f)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			se.Source = path
		}
		return nil, err
	}
	return s, nil
}

// Encode writes the spec as indented JSON, Inputs included.
func (s *Spec) Encode(w io.Writer) error {
	c := *s
	c.Inputs = s.DeriveInputs()
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return fmt.Errorf("dataset: encode spec: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("dataset: encode spec: %w", err)
	}
	return nil
}

// WriteFile validates the spec and writes it to path as indented JSON,
// through a temporary file renamed into place.
func (s *Spec) WriteFile(path string) error {
	c := *s
	c.Inputs = nil
	if err := c.Validate(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		return err
	}
	return writeFileAtomic(path, buf.Bytes())
}

// writeFileAtomic writes data to a temporary file next to path and renames it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("dataset: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("dataset: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("dataset: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dataset: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dataset: write %s: %w", path, err)
	}
	return nil
}
