package serve

import (
	"fmt"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// colKind says how a raw column is read.
type colKind uint8

const (
	numericCol colKind = iota
	categoricalCol
)

// column is one raw input column of the model, in the spec's order
// (numeric columns first, then categorical ones).
type column struct {
	name string
	kind colKind
	// first and width locate the column's inputs in a preprocessed row:
	// one input for a numeric column, one per category for a categorical.
	first, width int
}

// Model is a loaded churn model ready to serve: the resolved feature spec,
// the network and the decision threshold. It is immutable and safe for
// concurrent use.
type Model struct {
	spec      *dataset.Spec
	net       *nn.Model
	threshold float32
	columns   []column
	index     map[string]int        // column name -> position in columns
	header    []string              // column names, in columns' order
	parser    *dataset.RecordParser // parses rows laid out as header
	// weights and intercept make the network's logit a linear function of
	// its inputs (it has no activation between its two layers):
	// logit = intercept + sum_i weights[i]*x[i], with nn's W1ᵀW2 and
	// W2·B1 + B2.
	weights   []float64
	intercept float64
}

// NewModel builds a Model from a spec, a network and a threshold in (0, 1]
// (zero means checkpoint.DefaultThreshold). The network's input width must
// match the spec's.
func NewModel(spec *dataset.Spec, net *nn.Model, threshold float64) (*Model, error) {
	if spec == nil || net == nil {
		return nil, fmt.Errorf("serve: model: nil spec or network")
	}
	if threshold == 0 {
		threshold = checkpoint.DefaultThreshold
	}
	if !(threshold > 0 && threshold <= 1) {
		return nil, fmt.Errorf("serve: model: threshold %v, want a value in (0, 1]", threshold)
	}
	p := net.Params()
	if p.Inputs != spec.Width() {
		return nil, fmt.Errorf("serve: model: network has %d inputs, the feature spec gives %d",
			p.Inputs, spec.Width())
	}
	m := &Model{spec: spec, net: net, threshold: float32(threshold)}
	m.indexColumns()
	var err error
	if m.parser, err = dataset.NewRecordParser(spec, "request", m.header); err != nil {
		return nil, fmt.Errorf("serve: model: %w", err)
	}
	m.weights, m.intercept = linear(net)
	return m, nil
}

// Load reads a checkpoint directory and builds a Model from it.
func Load(dir string) (*Model, error) {
	ck, err := checkpoint.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("serve: load model: %w", err)
	}
	return NewModel(ck.Spec, ck.Model, ck.Metadata.Threshold)
}

// Spec returns the model's feature spec. Callers must not modify it.
func (m *Model) Spec() *dataset.Spec { return m.spec }

// Threshold returns the probability at or above which the model says churn.
func (m *Model) Threshold() float64 { return float64(m.threshold) }

func (m *Model) indexColumns() {
	m.index = make(map[string]int, len(m.spec.Numeric)+len(m.spec.Categorical))
	at := 0
	for _, c := range m.spec.Numeric {
		m.index[c.Name] = len(m.columns)
		m.columns = append(m.columns, column{name: c.Name, kind: numericCol, first: at, width: 1})
		at++
	}
	for _, c := range m.spec.Categorical {
		m.index[c.Name] = len(m.columns)
		w := len(c.Categories)
		m.columns = append(m.columns, column{name: c.Name, kind: categoricalCol, first: at, width: w})
		at += w
	}
	for _, c := range m.columns {
		m.header = append(m.header, c.name)
	}
}

// linear returns the network's linear form (nn.Model.Linear) in float64.
func linear(net *nn.Model) ([]float64, float64) {
	lf := net.Linear()
	w := make([]float64, len(lf.W))
	for i, v := range lf.W {
		w[i] = float64(v)
	}
	return w, float64(lf.C)
}

// Contribution is one column's share of a row's logit.
type Contribution struct {
	Column       string  `json:"column"`
	Contribution float64 `json:"contribution"`
}

// attribute returns the per-column contributions of one preprocessed row,
// in column order, and their sum plus the intercept (the logit).
func (m *Model) attribute(x []float32) ([]Contribution, float64) {
	out := make([]Contribution, len(m.columns))
	logit := m.intercept
	for k, c := range m.columns {
		var s float64
		for i := c.first; i < c.first+c.width; i++ {
			s += float64(x[i]) * m.weights[i]
		}
		out[k] = Contribution{Column: c.name, Contribution: s}
		logit += s
	}
	return out, logit
}
