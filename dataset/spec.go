// Package dataset turns churn CSV files into validated model inputs.
//
// A [Spec] says which columns a model reads and how: numeric columns are
// standardised with fixed figures, categorical columns are one-hot encoded
// over fixed category lists, and the label is mapped to 0 or 1. [Load]
// reads one or many CSV files into a [Table] and checks them against a spec;
// [Preprocess] turns a table into a float32 [Matrix]. Training and serving
// call the same [Preprocess] on the same resolved spec, so both see the same
// inputs bit for bit.
package dataset

// Spec describes a model's inputs. The input order is the numeric columns in
// the order listed, then one block per categorical column, in the order
// listed, each block holding one input per category in the order listed.
type Spec struct {
	// Label is the name of the label column.
	Label string `json:"label"`
	// Positive is the label value that means churn ("1", "Yes").
	// Any other value of a known set is the negative class.
	Positive string `json:"positive"`
	// Numeric lists the standardised columns.
	Numeric []NumericColumn `json:"numeric"`
	// Categorical lists the one-hot encoded columns.
	Categorical []CategoricalColumn `json:"categorical"`
	// Inputs names every model input in order; it is derived from the
	// columns above and checked against them when a spec is read.
	Inputs []string `json:"inputs"`
}

// NumericColumn is a column standardised as (x - Mean) / Std.
type NumericColumn struct {
	Name string  `json:"name"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// CategoricalColumn is a column one-hot encoded over Categories, in order.
// A value outside Categories encodes as an all-zero block.
type CategoricalColumn struct {
	Name       string   `json:"name"`
	Categories []string `json:"categories"`
}
