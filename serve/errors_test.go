package serve

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// do sends a request and returns the status, the Allow header and the
// decoded error message (empty when the body has none).
func do(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error string `json:"error"`
	}
	if resp.StatusCode != 200 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: status %d, body %q is not {\"error\": ...}", method, url, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, url, ct)
		}
	}
	return resp.StatusCode, resp.Header, e.Error
}

// row renders the first validation row as a V1 row object, with the named
// column's value replaced by raw JSON (or removed when raw is "").
func row(t *testing.T, f *fixture, column, raw string) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("{")
	first := true
	for j, h := range f.header {
		v := string(appendValue(nil, f.valRows[0][j]))
		if h == column {
			if raw == "" {
				continue
			}
			v = raw
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + h + `":` + v)
	}
	b.WriteString("}")
	return b.String()
}

// Ensures every client mistake gets its KServe status and a message that
// names what is wrong, and none yields a 5xx.
func TestErrorPaths(t *testing.T) {
	f := trained(t)
	url := startServer(t, newServer(t, Config{Model: f.model, MaxBodyBytes: 64 << 10}))
	good := row(t, f, "", "")
	predict := url + "/v1/models/churn:predict"
	infer := url + "/v2/models/churn/infer"
	tests := []struct {
		name, method, url, body string
		code                    int
		msg                     []string
	}{
		{"bad json", "POST", predict, `{"instances": [`, 400,
			[]string{"Unrecognized request format", "unexpected end of JSON input"}},
		{"trailing garbage", "POST", predict, `{"instances": []} x`, 400,
			[]string{"Unrecognized request format", "offset 18"}},
		{"not an object", "POST", predict, `[1, 2]`, 400, []string{"want a JSON object"}},
		{"no instances", "POST", predict, `{"rows": []}`, 400, []string{`missing "instances"`}},
		{"instances not a list", "POST", predict, `{"instances": {}}`, 400,
			[]string{`Expected "instances" to be a list`}},
		{"both keys", "POST", predict, `{"instances": [], "inputs": []}`, 400,
			[]string{`both "instances" and "inputs"`}},
		{"no rows", "POST", predict, `{"instances": []}`, 400, []string{"instances: no rows"}},
		{"instance not object", "POST", predict, `{"instances": [3]}`, 400,
			[]string{"instances[0]", "number 3"}},
		{"string in numeric", "POST", predict,
			`{"instances": [` + good + `,` + row(t, f, "months", `"ten"`) + `]}`, 400,
			[]string{"instances[1]", `column "months"`, "row 1", `want a number or null, got string "ten"`}},
		{"bool in categorical", "POST", predict, `{"instances": [` + row(t, f, "area", `true`) + `]}`, 400,
			[]string{`column "area"`, "row 0", "got boolean"}},
		{"missing column", "POST", predict, `{"inputs": [` + row(t, f, "eqpdays", "") + `]}`, 400,
			[]string{"inputs", `column "eqpdays"`, "missing from every row"}},
		{"column given twice", "POST", predict,
			`{"instances": [` + strings.Replace(good, "{", `{"months": 3,`, 1) + `]}`, 400,
			[]string{`column "months"`, "row 0", "given twice"}},
		{"bad table row key", "POST", predict, `{"instances": [{"data": {"months": {"a": 1}}}]}`, 400,
			[]string{`instances[0].data["months"]`, `row key "a"`}},
		{"non-canonical row key", "POST", predict, `{"instances": [{"data": {"months": {"01": 1}}}]}`, 400,
			[]string{`instances[0].data["months"]`, `row key "01"`}},
		{"row key twice", "POST", predict, `{"instances": [{"data": {"months": {"1": 1, "1": 2}}}]}`, 400,
			[]string{`column "months"`, "row 0", "given twice"}},
		{"table column not object", "POST", predict, `{"instances": [{"data": {"months": 5}}]}`, 400,
			[]string{`column "months"`, "want an object of row keys"}},
		{"huge number", "POST", predict, `{"instances": [` + row(t, f, "months", `1e300`) + `]}`, 400,
			[]string{`column "months"`, "row 0", "out of range"}},
		{"overflowing number", "POST", predict, `{"instances": [` + row(t, f, "months", `1e999`) + `]}`, 400,
			[]string{`request: column "months", row 0: value "1e999": not a finite number`}},
		{"bad output parameter", "POST", predict,
			`{"instances": [` + good + `], "parameters": {"output": "logits"}}`, 400,
			[]string{`"parameters.output"`, `"logits"`}},
		{"unknown model", "POST", url + "/v1/models/other:predict", good, 404,
			[]string{"Model with name other does not exist."}},
		{"unknown model readiness", "GET", url + "/v1/models/other", "", 404,
			[]string{"Model with name other does not exist."}},
		{"unknown verb", "POST", url + "/v1/models/churn:train", good, 404, []string{`unknown verb "train"`}},
		{"unknown route", "GET", url + "/v3/models", "", 404, []string{"no route /v3/models"}},
		{"predict with GET", "GET", predict, "", 405, []string{"method GET not allowed", "use POST"}},
		{"readiness with POST", "POST", url + "/v1/models/churn", "{}", 405, []string{"use GET"}},
		{"metrics with POST", "POST", url + "/metrics", "", 405, []string{"use GET"}},
		{"body too large", "POST", predict, `{"instances": [` + strings.Repeat(good+",", 40) + good + `]}`, 413,
			[]string{"over the limit of 65536 bytes"}},
		{"v2 bad json", "POST", infer, `{`, 400, []string{"Unrecognized request format"}},
		{"v2 no inputs", "POST", infer, `{"inputs": []}`, 400, []string{`"inputs": want a non-empty list`}},
		{"v2 shape mismatch", "POST", infer,
			`{"inputs": [{"name": "months", "datatype": "FP64", "shape": [3], "data": [1, 2]}]}`, 400,
			[]string{`inputs[0] ("months")`, "shape [3] holds 3 values, data has 2"}},
		{"v2 wrong datatype", "POST", infer,
			`{"inputs": [{"name": "area", "datatype": "FP64", "shape": [1], "data": [1]}]}`, 400,
			[]string{`column "area"`, `datatype "FP64", want BYTES`}},
		{"v2 float in INT64", "POST", infer,
			`{"inputs": [{"name": "months", "datatype": "INT64", "shape": [1], "data": [1.5]}]}`, 400,
			[]string{`column "months"`, "INT64 tensor holds 1.5"}},
		{"v2 unknown input", "POST", infer,
			`{"inputs": [{"name": "mnths", "datatype": "FP64", "shape": [1], "data": [1]}]}`, 400,
			[]string{`unknown input "mnths"`}},
		{"v2 rows differ", "POST", infer,
			`{"inputs": [{"name": "months", "datatype": "FP64", "shape": [2], "data": [1, 2]},` +
				`{"name": "totcalls", "datatype": "FP64", "shape": [1, 1], "data": [[1]]}]}`, 400,
			[]string{`"totcalls"`, "1 rows, the first column tensor has 2"}},
		{"v2 bad shape rank", "POST", infer,
			`{"inputs": [{"name": "months", "datatype": "FP64", "shape": [1, 2], "data": [1, 2]}]}`, 400,
			[]string{"a column tensor has shape [n] or [n, 1]"}},
		{"v2 missing column", "POST", infer,
			`{"inputs": [{"name": "months", "datatype": "FP64", "shape": [1], "data": [1]}]}`, 400,
			[]string{`column "rev_Mean"`, "missing from every row"}},
		{"v2 preprocessed width", "POST", infer,
			`{"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]}`, 400,
			[]string{`"input-0"`, "want [rows, 139]"}},
		{"v2 bad id", "POST", infer, `{"id": 5, "inputs": []}`, 400, []string{`"id": want a string`}},
		{"v2 bad outputs", "POST", infer, `{"outputs": [{"name": "x"}], "inputs": []}`, 400,
			[]string{`"outputs[0]"`}},
		{"v2 unknown model", "POST", url + "/v2/models/other/infer", "{}", 404,
			[]string{"Model with name other does not exist."}},
		{"v2 versions", "GET", url + "/v2/models/churn/versions/1", "", 501,
			[]string{"Model versioning not supported yet."}},
		{"v2 infer with GET", "GET", infer, "", 405, []string{"use POST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, msg := do(t, tc.method, tc.url, tc.body)
			if code != tc.code {
				t.Fatalf("%s %s: status %d (%q), want %d", tc.method, tc.url, code, msg, tc.code)
			}
			for _, m := range tc.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
			if code == 405 && h.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}
