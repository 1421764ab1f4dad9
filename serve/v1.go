package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/churn-pdk/churn/dataset"
)

// output selects what V1 predictions hold.
type output uint8

const (
	outLabels        output = iota // 1.0 at or above the threshold, else 0.0
	outProbabilities               // the model's probability
)

// Values of the V1 request parameter "output".
const (
	OutputLabels        = "labels"
	OutputProbabilities = "probabilities"
)

func (s *Server) live(ctx *fasthttp.RequestCtx) error {
	writeBody(ctx, http.StatusOK, []byte(`{"status":"alive"}`))
	return nil
}

func (s *Server) listModels(ctx *fasthttp.RequestCtx) error {
	writeJSON(ctx, http.StatusOK, map[string][]string{"models": {s.cfg.ModelName}})
	return nil
}

// v1Model serves /v1/models/<name>[:predict|:explain].
func (s *Server) v1Model(ctx *fasthttp.RequestCtx, rest string) error {
	name, verb, hasVerb := strings.Cut(rest, ":")
	switch {
	case !hasVerb:
		if err := allow(ctx, http.MethodGet); err != nil {
			return err
		}
		if _, err := s.lookup(name); err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"name": name, "ready": true})
		return nil
	case verb == "predict" || verb == "explain":
		return s.infer(ctx, name, func(m *Model) error {
			return s.v1Infer(ctx, m, verb == "explain")
		})
	default:
		return errorf(ErrRouteNotFound, "no route %s: unknown verb %q", ctx.Path(), verb)
	}
}

// v1Infer answers a V1 predict or explain request.
func (s *Server) v1Infer(ctx *fasthttp.RequestCtx, m *Model, explain bool) error {
	st := s.getState()
	defer s.putState(st)
	start := time.Now()
	body, err := s.readBody(ctx, st)
	if err != nil {
		return err
	}
	out, x, err := st.inputsV1(m, body)
	if err != nil {
		return err
	}
	t1 := time.Now()
	s.metrics.preprocess.Observe(t1.Sub(start).Seconds())
	if err := st.predict(m, x); err != nil {
		return err
	}
	t2 := time.Now()
	s.metrics.predict.Observe(t2.Sub(t1).Seconds())
	st.out = appendPredictions(st.out[:0], st.probs, out, m.threshold)
	if explain {
		st.out, err = appendExplanations(st.out, m, x, st.probs)
		if err != nil {
			return err
		}
		s.metrics.explain.Observe(time.Since(t2).Seconds())
	} else {
		st.out = append(st.out, '}')
	}
	writeBody(ctx, http.StatusOK, st.out)
	s.metrics.postprocess.Observe(time.Since(t2).Seconds())
	return nil
}

// inputsV1 decodes and preprocesses a V1 body: the common shapes through
// the fast path, anything else (errors included) through decodeV1.
func (st *reqState) inputsV1(m *Model, body string) (output, *dataset.Matrix, error) {
	if out, x, ok := st.fastV1(m, body); ok {
		return out, x, nil
	}
	out, err := st.decodeV1(m, body)
	if err != nil {
		return 0, nil, err
	}
	x, err := st.matrix()
	return out, x, err
}

// decodeV1 parses a V1 body into st.rows and returns the output asked for.
//
// The body is {"instances": [...]} ("inputs" is a synonym); each instance
// is either a table {"data": {column: {"0": v, ...}}} as the original
// example sends it, or a row {column: value, ...}.
func (st *reqState) decodeV1(m *Model, body string) (output, error) {
	t := &st.tree
	root, err := t.parse(body)
	if err != nil {
		return 0, invalid("Unrecognized request format: %v", err)
	}
	if root.kind != kObject {
		return 0, invalid("Unrecognized request format: want a JSON object, got %s", root.kind)
	}
	if err := t.duplicate(root, "request"); err != nil {
		return 0, err
	}
	field := "instances"
	list, ok := t.member(root, field)
	if in, ok2 := t.member(root, "inputs"); ok2 {
		if ok {
			return 0, invalid(`both "instances" and "inputs" given; send one`)
		}
		field, list, ok = "inputs", in, true
	}
	if !ok {
		return 0, invalid(`missing "instances" (or "inputs")`)
	}
	if list.kind != kArray {
		return 0, invalid("Expected %q to be a list", field)
	}
	out, err := outputParam(t, root)
	if err != nil {
		return 0, err
	}
	st.rows.reset(m, st.maxRows)
	for i, in := range t.children(list) {
		at := where{list: field, index: i}
		if in.kind != kObject {
			return 0, &InputError{Field: at.String(), Row: -1,
				Reason: "want a row object or {\"data\": table}, got " + t.describe(in)}
		}
		if data, ok := tableOf(t, m, in); ok {
			err = st.rows.addTable(t, at, data)
		} else {
			err = st.rows.addRow(t, at, in)
		}
		if err != nil {
			return 0, err
		}
	}
	return out, st.rows.check(field)
}

// tableOf returns the table of an instance {"data": {...}}. An instance is
// a row instead when the model has a column named "data".
func tableOf(t *tree, m *Model, in node) (node, bool) {
	if in.count != 1 {
		return node{}, false
	}
	d := t.children(in)[0]
	if _, col := m.index["data"]; col || t.key(d) != "data" || d.kind != kObject {
		return node{}, false
	}
	return d, true
}

// outputParam reads parameters.output.
func outputParam(t *tree, root node) (output, error) {
	p, ok := t.member(root, "parameters")
	if !ok || p.kind == kNull {
		return outLabels, nil
	}
	if p.kind != kObject {
		return 0, invalid(`"parameters": want an object, got %s`, t.describe(p))
	}
	if err := t.duplicate(p, "parameters"); err != nil {
		return 0, err
	}
	o, ok := t.member(p, "output")
	switch {
	case !ok || o.kind == kNull:
		return outLabels, nil
	case o.kind == kString && t.text(o) == OutputLabels:
		return outLabels, nil
	case o.kind == kString && t.text(o) == OutputProbabilities:
		return outProbabilities, nil
	}
	return 0, invalid(`"parameters.output": want %q or %q, got %s`,
		OutputLabels, OutputProbabilities, t.describe(o))
}

// matrix preprocesses st.rows and checks the result is finite.
func (st *reqState) matrix() (*dataset.Matrix, error) {
	x, records, err := st.rows.matrix(st.records, &st.scratch)
	st.records = records
	if err != nil {
		return nil, err
	}
	return x, st.rows.m.checkFinite(x)
}

// checkFinite reports an input that standardised beyond float32's range
// (a huge but finite number), naming its column and row.
func (m *Model) checkFinite(x *dataset.Matrix) error {
	for k, v := range x.X {
		if math.Float32bits(v)&0x7f800000 != 0x7f800000 { // exponent all ones: Inf or NaN
			continue
		}
		row, in := k/x.Cols, k%x.Cols
		i, _ := slices.BinarySearchFunc(m.columns, in, func(c column, in int) int {
			return c.first + c.width - 1 - in
		})
		return &InputError{Field: "request", Column: m.columns[i].name, Row: row,
			Reason: "value out of range once standardised"}
	}
	return nil
}

// predict runs the forward pass into st.probs.
func (st *reqState) predict(m *Model, x *dataset.Matrix) error {
	st.probs = slices.Grow(st.probs[:0], x.Rows)[:x.Rows]
	if err := m.net.Predict(x.X, st.probs); err != nil {
		return fmt.Errorf("serve: predict: %w", err)
	}
	return nil
}

// appendPredictions appends {"predictions": [[v], ...] without the closing
// brace: v is 1.0 or 0.0, or the probability written so that parsing it as
// a float64 and rounding to float32 gives back its exact bits.
func appendPredictions(b []byte, probs []float32, out output, threshold float32) []byte {
	b = append(b, `{"predictions":[`...)
	for i, p := range probs {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case out == outProbabilities:
			b = append(b, '[')
			b = strconv.AppendFloat(b, float64(p), 'g', -1, 64)
			b = append(b, ']')
		case p >= threshold:
			b = append(b, "[1.0]"...)
		default:
			b = append(b, "[0.0]"...)
		}
	}
	return append(b, ']')
}

// Explanation is one row's attribution: the logit, a linear function of
// the model's inputs, split into one contribution per raw column (a
// categorical column's one-hot inputs summed back together), ranked by
// absolute size. Intercept plus the contributions equals Logit.
type Explanation struct {
	Probability   float64        `json:"probability"`
	Logit         float64        `json:"logit"`
	Intercept     float64        `json:"intercept"`
	Contributions []Contribution `json:"contributions"`
}

// appendExplanations appends ,"explanations": [...]} for the rows of x.
func appendExplanations(b []byte, m *Model, x *dataset.Matrix, probs []float32) ([]byte, error) {
	ex := make([]Explanation, x.Rows)
	for r := range ex {
		c, logit := m.attribute(x.Row(r))
		slices.SortStableFunc(c, func(a, b Contribution) int {
			return -cmpAbs(a.Contribution, b.Contribution)
		})
		ex[r] = Explanation{Probability: float64(probs[r]), Logit: logit,
			Intercept: m.intercept, Contributions: c}
	}
	enc, err := json.Marshal(ex)
	if err != nil {
		return nil, fmt.Errorf("serve: encode explanations: %w", err)
	}
	b = append(b, `,"explanations":`...)
	b = append(b, enc...)
	return append(b, '}'), nil
}

// cmpAbs compares |a| and |b|.
func cmpAbs(a, b float64) int {
	switch a, b = math.Abs(a), math.Abs(b); {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
