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

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/churn-pdk/churn/dataset"
)

// PreprocessedInput is the name of the V2 input tensor that carries already
// preprocessed model inputs: FP32 (or FP64), shape [rows, width], in the
// order of the feature spec's inputs. A request with it sends no columns.
const PreprocessedInput = "input-0"

// Names of the V2 output tensors.
const (
	OutputProbability = "probability" // FP32, shape [rows]
	OutputLabel       = "label"       // INT64, shape [rows]: 1 when churn
)

// TensorMetadata describes a V2 input or output tensor.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is the answer of GET /v2/models/<name>. Parameters carry
// the label column, its positive and negative values, the threshold and
// the preprocessed input's name and width.
type ModelMetadata struct {
	Name       string           `json:"name"`
	Platform   string           `json:"platform"`
	Inputs     []TensorMetadata `json:"inputs"`
	Outputs    []TensorMetadata `json:"outputs"`
	Parameters map[string]any   `json:"parameters,omitempty"`
}

func (s *Server) serverMetadata(ctx *fasthttp.RequestCtx) error {
	writeJSON(ctx, http.StatusOK, map[string]any{
		"name": "churn", "version": s.cfg.Version, "extensions": []string{},
	})
	return nil
}

func (s *Server) live2(ctx *fasthttp.RequestCtx) error {
	writeBody(ctx, http.StatusOK, []byte(`{"live":true}`))
	return nil
}

// ready2 is 200 once the model is loaded, 503 before (KServe 0.14 always
// says ready; a probe is more useful when it does not).
func (s *Server) ready2(ctx *fasthttp.RequestCtx) error {
	if _, err := s.lookup(s.cfg.ModelName); err != nil {
		return err
	}
	writeBody(ctx, http.StatusOK, []byte(`{"ready":true}`))
	return nil
}

// v2Model serves /v2/models/<name>[/ready|/infer|/versions/...].
func (s *Server) v2Model(ctx *fasthttp.RequestCtx, rest string) error {
	name, tail, _ := strings.Cut(rest, "/")
	switch {
	case tail == "" || tail == "ready":
		if err := allow(ctx, http.MethodGet); err != nil {
			return err
		}
		m, err := s.lookup(name)
		if err != nil {
			return err
		}
		if tail == "ready" {
			writeJSON(ctx, http.StatusOK, map[string]any{"name": name, "ready": true})
		} else {
			writeJSON(ctx, http.StatusOK, m.metadata(name))
		}
		return nil
	case tail == "infer":
		return s.infer(ctx, name, func(m *Model) error {
			return s.v2Infer(ctx, m, name)
		})
	case tail == "versions" || strings.HasPrefix(tail, "versions/"):
		if _, err := s.lookup(name); err != nil {
			return err
		}
		return errorf(ErrNotImplemented, "Model versioning not supported yet.")
	default:
		return errorf(ErrRouteNotFound, "no route %s", ctx.Path())
	}
}

// metadata describes the model's raw columns as V2 inputs.
func (m *Model) metadata(name string) ModelMetadata {
	md := ModelMetadata{Name: name, Platform: "churn"}
	for _, c := range m.columns {
		dt := "FP64"
		if c.kind == categoricalCol {
			dt = "BYTES"
		}
		md.Inputs = append(md.Inputs, TensorMetadata{Name: c.name, Datatype: dt, Shape: []int64{-1}})
	}
	md.Outputs = []TensorMetadata{
		{Name: OutputProbability, Datatype: "FP32", Shape: []int64{-1}},
		{Name: OutputLabel, Datatype: "INT64", Shape: []int64{-1}},
	}
	md.Parameters = map[string]any{
		"label": m.spec.Label, "positive": m.spec.Positive, "negative": m.spec.Negative,
		"threshold": m.Threshold(), "preprocessed_input": PreprocessedInput,
		"preprocessed_width": m.spec.Width(),
	}
	return md
}

// tensor is a V2 input tensor read from the tree.
type tensor struct {
	at       where
	field    string // "inputs[i] (name)"
	name     string
	datatype string
	shape    []int64
	data     []node // flattened elements
}

// v2Infer answers POST /v2/models/<name>/infer.
func (s *Server) v2Infer(ctx *fasthttp.RequestCtx, m *Model, name string) error {
	st := s.getState()
	defer s.putState(st)
	start := time.Now()
	body, err := s.readBody(ctx, st)
	if err != nil {
		return err
	}
	req, err := st.decodeV2(m, body)
	if err != nil {
		return err
	}
	t1 := time.Now()
	s.metrics.preprocess.Observe(t1.Sub(start).Seconds())
	if err := st.predict(m, req.x); err != nil {
		return err
	}
	t2 := time.Now()
	s.metrics.predict.Observe(t2.Sub(t1).Seconds())
	st.out = appendV2Response(st.out[:0], name, req, st.probs, m.threshold)
	writeBody(ctx, http.StatusOK, st.out)
	s.metrics.postprocess.Observe(time.Since(t2).Seconds())
	return nil
}

// v2Request is a decoded infer request.
type v2Request struct {
	id               string
	x                *dataset.Matrix
	probability, lab bool // outputs asked for
}

// decodeV2 parses a V2 infer body for model m and preprocesses its inputs.
func (st *reqState) decodeV2(m *Model, body string) (v2Request, error) {
	{
		var req v2Request
		t := &st.tree
		root, err := t.parse(body)
		if err != nil {
			return req, invalid("Unrecognized request format: %v", err)
		}
		if root.kind != kObject {
			return req, invalid("Unrecognized request format: want a JSON object, got %s", root.kind)
		}
		if err := t.duplicate(root, "request"); err != nil {
			return req, err
		}
		if req.id, err = requestID(t, root); err != nil {
			return req, err
		}
		if req.probability, req.lab, err = outputsAsked(t, root); err != nil {
			return req, err
		}
		ins, err := inputTensors(t, root)
		if err != nil {
			return req, err
		}
		if len(ins) == 1 && ins[0].name == PreprocessedInput {
			req.x, err = preprocessed(t, m, ins[0])
			if err == nil {
				err = checkRows(req.x.Rows, st.maxRows)
			}
			return req, err
		}
		if err := st.columns(m, ins); err != nil {
			return req, err
		}
		req.x, err = st.matrix()
		return req, err
	}
}

// requestID returns the request's id, or a new UUID when it has none.
func requestID(t *tree, root node) (string, error) {
	id, ok := t.member(root, "id")
	switch {
	case !ok || id.kind == kNull:
		return uuid.NewString(), nil
	case id.kind != kString:
		return "", invalid(`"id": want a string, got %s`, t.describe(id))
	}
	return t.text(id), nil
}

// outputsAsked reads "outputs": which of probability and label to return
// (both when absent).
func outputsAsked(t *tree, root node) (prob, label bool, err error) {
	outs, ok := t.member(root, "outputs")
	if !ok || outs.kind == kNull {
		return true, true, nil
	}
	if outs.kind != kArray {
		return false, false, invalid(`"outputs": want a list, got %s`, t.describe(outs))
	}
	for i, o := range t.children(outs) {
		n, _ := t.member(o, "name")
		switch {
		case o.kind == kObject && n.kind == kString && t.text(n) == OutputProbability:
			prob = true
		case o.kind == kObject && n.kind == kString && t.text(n) == OutputLabel:
			label = true
		default:
			return false, false, invalid(`"outputs[%d]": want {"name": %q} or {"name": %q}`,
				i, OutputProbability, OutputLabel)
		}
	}
	return prob, label, nil
}

// inputTensors reads and checks "inputs": names, datatypes, shapes and
// that each tensor's data holds as many elements as its shape says.
func inputTensors(t *tree, root node) ([]tensor, error) {
	list, ok := t.member(root, "inputs")
	if !ok || list.kind != kArray || list.count == 0 {
		return nil, invalid(`"inputs": want a non-empty list of tensors`)
	}
	ins := make([]tensor, 0, list.count)
	for i, in := range t.children(list) {
		ts, err := readTensor(t, i, in)
		if err != nil {
			return nil, err
		}
		ins = append(ins, ts)
	}
	return ins, nil
}

func readTensor(t *tree, i int, in node) (tensor, error) {
	field := "inputs[" + strconv.Itoa(i) + "]"
	ts := tensor{field: field}
	if in.kind != kObject {
		return ts, invalid("%s: want a tensor object, got %s", field, t.describe(in))
	}
	if err := t.duplicate(in, field); err != nil {
		return ts, err
	}
	name, _ := t.member(in, "name")
	dt, _ := t.member(in, "datatype")
	shape, _ := t.member(in, "shape")
	data, hasData := t.member(in, "data")
	switch {
	case name.kind != kString || t.text(name) == "":
		return ts, invalid("%s.name: want a non-empty string", field)
	case dt.kind != kString:
		return ts, invalid("%s.datatype: want a string", field)
	case shape.kind != kArray:
		return ts, invalid("%s.shape: want a list of sizes", field)
	case !hasData:
		return ts, invalid("%s.data: missing", field)
	case data.kind != kArray:
		return ts, invalid("%s.data: want a list, got %s", field, t.describe(data))
	}
	ts.name, ts.datatype = t.text(name), t.text(dt)
	ts.at = where{list: "inputs", index: i, name: ts.name, suffix: ".data"}
	ts.field = fmt.Sprintf("%s (%q)", field, ts.name)
	n := int64(1)
	for _, d := range t.children(shape) {
		v, err := strconv.ParseInt(t.text(d), 10, 32)
		if d.kind != kNumber || err != nil || v < 0 || (v > 0 && n > math.MaxInt32/v) {
			return ts, invalid("%s.shape: want non-negative integer sizes of at most 2^31 "+
				"values in all, got %s", ts.field, t.describe(d))
		}
		ts.shape = append(ts.shape, v)
		n *= v
	}
	ts.data = flatten(t, data, nil)
	if int64(len(ts.data)) != n {
		return ts, invalid("%s: shape %v holds %d values, data has %d",
			ts.field, ts.shape, n, len(ts.data))
	}
	return ts, nil
}

// flatten appends the scalar elements of a possibly nested list, in
// row-major order (a scalar counts as one element).
func flatten(t *tree, n node, out []node) []node {
	if n.kind != kArray {
		return append(out, n)
	}
	for _, c := range t.children(n) {
		out = flatten(t, c, out)
	}
	return out
}

// rowsOf returns the row count a column tensor's shape gives: [n] or [n, 1].
func rowsOf(ts tensor) (int, error) {
	switch {
	case len(ts.shape) == 1:
		return int(ts.shape[0]), nil
	case len(ts.shape) == 2 && ts.shape[1] == 1:
		return int(ts.shape[0]), nil
	}
	return 0, invalid("%s.shape: %v; a column tensor has shape [n] or [n, 1]", ts.field, ts.shape)
}

// columns reads one tensor per raw column (KServe's "pd" convention) into
// st.rows. The label column is ignored; another unknown name is an error.
func (st *reqState) columns(m *Model, ins []tensor) error {
	st.rows.reset(m, st.maxRows)
	n := -1
	for _, ts := range ins {
		col, ok := m.index[ts.name]
		if !ok {
			if ts.name == m.spec.Label {
				continue
			}
			return invalid("%s: unknown input %q; the inputs are the model's columns "+
				"(see the model metadata), or %q alone", ts.field, ts.name, PreprocessedInput)
		}
		rows, err := rowsOf(ts)
		if err != nil {
			return err
		}
		if n < 0 {
			n = rows
			if _, err := st.rows.grow(n); err != nil {
				return err
			}
		} else if rows != n {
			return invalid("%s: %d rows, the first column tensor has %d", ts.field, rows, n)
		}
		if err := checkDatatype(&st.tree, m.columns[col], ts); err != nil {
			return err
		}
		for i, v := range ts.data {
			if err := st.rows.set(&st.tree, ts.at, i, col, v); err != nil {
				return err
			}
		}
	}
	return st.rows.check("inputs")
}

// checkDatatype checks a column tensor's datatype against the column, and
// that integer tensors hold integers.
func checkDatatype(t *tree, c column, ts tensor) error {
	switch dt := ts.datatype; {
	case c.kind == categoricalCol && dt == "BYTES":
		return nil
	case c.kind == numericCol && (dt == "FP32" || dt == "FP64"):
		return nil
	case c.kind == numericCol && (strings.HasPrefix(dt, "INT") || strings.HasPrefix(dt, "UINT")):
		for i, v := range ts.data {
			if v.kind == kNumber && strings.ContainsAny(t.text(v), ".eE") {
				return &InputError{Field: ts.field + ".data", Column: c.name, Row: i,
					Reason: fmt.Sprintf("%s tensor holds %s", dt, t.text(v))}
			}
		}
		if slices.Contains([]string{"INT8", "INT16", "INT32", "INT64",
			"UINT8", "UINT16", "UINT32", "UINT64"}, dt) {
			return nil
		}
	}
	want := "FP64 (or FP32 or an integer type)"
	if c.kind == categoricalCol {
		want = "BYTES"
	}
	return &InputError{Field: ts.field + ".datatype", Column: c.name, Row: -1,
		Reason: fmt.Sprintf("datatype %q, want %s", ts.datatype, want)}
}

// preprocessed reads the PreprocessedInput tensor into a matrix.
func preprocessed(t *tree, m *Model, ts tensor) (*dataset.Matrix, error) {
	w := m.spec.Width()
	if ts.datatype != "FP32" && ts.datatype != "FP64" {
		return nil, invalid("%s.datatype: %q, want FP32", ts.field, ts.datatype)
	}
	if len(ts.shape) != 2 || ts.shape[1] != int64(w) || ts.shape[0] < 1 {
		return nil, invalid("%s.shape: %v, want [rows, %d]", ts.field, ts.shape, w)
	}
	x := &dataset.Matrix{Rows: int(ts.shape[0]), Cols: w, X: make([]float32, len(ts.data))}
	for k, v := range ts.data {
		f, err := strconv.ParseFloat(t.text(v), 32)
		if v.kind != kNumber || err != nil {
			return nil, &InputError{Field: ts.field + ".data", Column: m.spec.Inputs[k%w],
				Row: k / w, Reason: "want a finite number, got " + t.describe(v)}
		}
		x.X[k] = float32(f)
	}
	return x, nil
}

// appendV2Response encodes the infer answer.
func appendV2Response(b []byte, name string, req v2Request, probs []float32, thr float32) []byte {
	b = append(b, `{"model_name":`...)
	b = appendString(b, name)
	b = append(b, `,"id":`...)
	b = appendString(b, req.id)
	b = append(b, `,"outputs":[`...)
	shape := strconv.Itoa(len(probs))
	if req.probability {
		b = append(b, `{"name":"probability","datatype":"FP32","shape":[`+shape+`],"data":[`...)
		for i, p := range probs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, float64(p), 'g', -1, 64)
		}
		b = append(b, "]}"...)
	}
	if req.lab {
		if req.probability {
			b = append(b, ',')
		}
		b = append(b, `{"name":"label","datatype":"INT64","shape":[`+shape+`],"data":[`...)
		for i, p := range probs {
			if i > 0 {
				b = append(b, ',')
			}
			if p >= thr {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // a string always encodes
	return append(b, enc...)
}
