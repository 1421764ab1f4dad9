package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/churn-pdk/churn/dataset"
)

// Client calls a churn (or any KServe) predictor over V1 and V2 REST.
type Client struct {
	// BaseURL is the server's address, such as "http://localhost:8080".
	BaseURL string
	// Model is the model's name in URLs.
	Model string
	// HTTP sends the requests; nil uses a client with a 30 s timeout.
	HTTP *http.Client
}

// ConnError is a request that got no HTTP answer (refused connection,
// DNS failure, timeout).
type ConnError struct {
	URL string
	Err error
}

// Error implements error.
func (e *ConnError) Error() string {
	return fmt.Sprintf("serve: client: no answer from %s: %v", e.URL, e.Err)
}

// Unwrap returns the transport's error.
func (e *ConnError) Unwrap() error { return e.Err }

// StatusError is a non-200 answer; Message is the server's "error" field,
// or the start of the body when it has none.
type StatusError struct {
	URL     string
	Code    int
	Message string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("serve: client: %s answered %d %s: %s",
		e.URL, e.Code, http.StatusText(e.Code), e.Message)
}

// V1Response is a V1 predict or explain answer.
type V1Response struct {
	Predictions  [][]float64   `json:"predictions"`
	Explanations []Explanation `json:"explanations,omitempty"`
}

// V2Output is an output tensor of a V2 answer.
type V2Output struct {
	Name     string        `json:"name"`
	Datatype string        `json:"datatype"`
	Shape    []int64       `json:"shape"`
	Data     []json.Number `json:"data"`
}

// V2Response is a V2 infer answer.
type V2Response struct {
	ModelName string     `json:"model_name"`
	ID        string     `json:"id"`
	Outputs   []V2Output `json:"outputs"`
}

// Output returns the output tensor called name.
func (r *V2Response) Output(name string) (V2Output, bool) {
	for _, o := range r.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return V2Output{}, false
}

// Predict posts a V1 body to :predict, or :explain when explain is set.
func (c *Client) Predict(ctx context.Context, body []byte, explain bool) (*V1Response, error) {
	verb := ":predict"
	if explain {
		verb = ":explain"
	}
	var out V1Response
	err := c.do(ctx, http.MethodPost, "/v1/models/"+c.Model+verb, body, &out)
	return &out, err
}

// Infer posts a V2 body to /v2/models/<model>/infer.
func (c *Client) Infer(ctx context.Context, body []byte) (*V2Response, error) {
	var out V2Response
	err := c.do(ctx, http.MethodPost, "/v2/models/"+c.Model+"/infer", body, &out)
	return &out, err
}

// Metadata gets the V2 model metadata.
func (c *Client) Metadata(ctx context.Context) (*ModelMetadata, error) {
	var out ModelMetadata
	err := c.do(ctx, http.MethodGet, "/v2/models/"+c.Model, nil, &out)
	return &out, err
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	url := strings.TrimRight(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("serve: client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &ConnError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &ConnError{URL: url, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return &StatusError{URL: url, Code: resp.StatusCode, Message: errorMessage(b)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("serve: client: %s: decoding the answer: %w", url, err)
	}
	return nil
}

// errorMessage extracts {"error": msg} from a body, or its start.
func errorMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// V1Body builds a V1 request of row objects from CSV-style rows: a value
// that is a JSON number is sent as that number (its text unchanged), one
// that parses as another finite number is sent in Go's shortest form, a
// missing value ("", "NA", ...) as null, and anything else as a string.
// output is "" (labels) or a value for parameters.output.
func V1Body(header []string, records [][]string, output string) ([]byte, error) {
	b := []byte(`{"instances":[`)
	for i, rec := range records {
		if len(rec) != len(header) {
			return nil, fmt.Errorf("serve: row %d has %d values, the header %d", i, len(rec), len(header))
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for j, v := range rec {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, header[j])
			b = append(b, ':')
			b = appendValue(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	if output != "" {
		b = append(b, `,"parameters":{"output":`...)
		b = appendString(b, output)
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendValue appends a CSV value as the JSON value V1Body documents.
func appendValue(b []byte, v string) []byte {
	if dataset.IsMissing(v) {
		return append(b, "null"...)
	}
	if isJSONNumber(v) {
		return append(b, v...)
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	return appendString(b, v)
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var t tree
	_, err := t.parse(s)
	return err == nil
}

// V2Body builds a V2 infer request with one tensor per column the metadata
// lists ("pd" style): FP64 columns carry numbers (null when missing), BYTES
// columns strings. Columns the metadata does not list are left out.
func V2Body(md *ModelMetadata, id string, header []string, records [][]string) ([]byte, error) {
	pos := make(map[string]int, len(header))
	for j, h := range header {
		pos[h] = j
	}
	b := []byte(`{"id":`)
	b = appendString(b, id)
	b = append(b, `,"parameters":{"content_type":"pd"},"inputs":[`...)
	n := strconv.Itoa(len(records))
	first := true
	for _, in := range md.Inputs {
		j, ok := pos[in.Name]
		if !ok {
			return nil, fmt.Errorf("serve: the rows lack the model's column %q", in.Name)
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"name":`...)
		b = appendString(b, in.Name)
		b = append(b, `,"datatype":`...)
		b = appendString(b, in.Datatype)
		b = append(b, `,"shape":[`+n+`],"data":[`...)
		for i, rec := range records {
			if i > 0 {
				b = append(b, ',')
			}
			if in.Datatype == "BYTES" && !dataset.IsMissing(rec[j]) {
				b = appendString(b, rec[j])
			} else {
				b = appendValue(b, rec[j])
			}
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...), nil
}

// IsConnError reports whether err is a request that got no answer.
func IsConnError(err error) bool {
	var ce *ConnError
	return errors.As(err, &ce)
}

// Models lists the server's models (GET /v1/models).
func (c *Client) Models(ctx context.Context) ([]string, error) {
	var out struct {
		Models []string `json:"models"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/models", nil, &out)
	return out.Models, err
}

// LabelValues returns the label column's values of a V1 body (row objects
// or columns tables, rows in the order the server reads them) or of a V2
// body (the tensor named label), as text; nil when the body is not JSON or
// some row lacks the label.
func LabelValues(body []byte, label string) []string {
	var t tree
	root, err := t.parse(string(body))
	if err != nil || root.kind != kObject {
		return nil
	}
	list, ok := t.member(root, "instances")
	if !ok {
		list, ok = t.member(root, "inputs")
	}
	if !ok || list.kind != kArray {
		return nil
	}
	var out []string
	for _, in := range t.children(list) {
		vals, ok := labelsOf(&t, in, label)
		if !ok {
			return nil
		}
		out = append(out, vals...)
	}
	return out
}

// labelsOf returns the label values of one V1 instance or V2 tensor.
func labelsOf(t *tree, in node, label string) ([]string, bool) {
	if in.kind != kObject {
		return nil, false
	}
	if name, ok := t.member(in, "name"); ok && name.kind == kString {
		if t.text(name) != label {
			return nil, true // another V2 tensor
		}
		data, _ := t.member(in, "data")
		var out []string
		for _, v := range flatten(t, data, nil) {
			out = append(out, t.text(v))
		}
		return out, true
	}
	if data, ok := t.member(in, "data"); ok && data.kind == kObject && in.count == 1 {
		col, ok := t.member(data, label)
		if !ok || col.kind != kObject {
			return nil, false
		}
		kids := slices.Clone(t.children(col))
		slices.SortStableFunc(kids, func(a, b node) int {
			ka, _ := rowKey(t.key(a))
			kb, _ := rowKey(t.key(b))
			return ka - kb
		})
		var out []string
		for _, v := range kids {
			out = append(out, t.text(v))
		}
		return out, true
	}
	v, ok := t.member(in, label)
	return []string{t.text(v)}, ok
}
