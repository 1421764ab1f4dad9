package serve

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// updateHostile rewrites testdata/hostile from the generator below.
var updateHostile = flag.Bool("update-hostile", false, "rewrite serve/testdata/hostile")

// hostileDir holds the corpus files, one request each.
const hostileDir = "testdata/hostile"

// maxCorpusFile is the largest request written to a corpus file; larger
// ones (10,000 rows, bodies over the limit) are only generated.
const maxCorpusFile = 64 << 10

// hostileLimit is the body limit of the server the corpus is sent to
// (twice the default, so the 10,000-row table fits).
const hostileLimit = 16 << 20

// hostile is one request of the corpus and the answer it must get: code,
// and a message holding every string of want.
type hostile struct {
	name         string
	method, path string
	ctype        string
	body         string
	code         int
	want         []string
}

// corpus builds the hostile requests from the model's columns and one
// valid row (the fixture's header and values). Its order and content are
// fixed, so the files it writes are reproducible.
type corpus struct {
	header []string
	vals   []string // raw JSON of each header column's valid value
	m      *Model
	out    []hostile
}

const (
	predictPath = "/v1/models/churn:predict"
	inferPath   = "/v2/models/churn/infer"
	jsonType    = "application/json"
)

func (c *corpus) add(name, method, path, ctype, body string, code int, want ...string) {
	c.out = append(c.out, hostile{name: name, method: method, path: path, ctype: ctype,
		body: body, code: code, want: want})
}

// v1 adds a V1 predict request sent as JSON.
func (c *corpus) v1(name, body string, code int, want ...string) {
	c.add(name, "POST", predictPath, jsonType, body, code, want...)
}

// v2 adds a V2 infer request sent as JSON.
func (c *corpus) v2(name, body string, code int, want ...string) {
	c.add(name, "POST", inferPath, jsonType, body, code, want...)
}

// row renders the valid row with column col's value replaced by raw
// (dropped when raw is "", repeated when dup is set).
func (c *corpus) row(col, raw string, dup bool) string {
	var parts []string
	for j, h := range c.header {
		v := c.vals[j]
		if h == col {
			if raw == "" {
				continue
			}
			if dup {
				parts = append(parts, strconv.Quote(h)+":"+v)
			}
			v = raw
		}
		parts = append(parts, strconv.Quote(h)+":"+v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// table renders n copies of the valid row as one V1 columns table.
func (c *corpus) table(n int) string {
	var b strings.Builder
	b.WriteString(`{"instances":[{"data":{`)
	for k, mc := range c.m.columns {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(mc.name) + ":{")
		v := c.vals[indexOf(c.header, mc.name)]
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + strconv.Itoa(i) + `":` + v)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}]}")
	return b.String()
}

// instances wraps rows in a V1 body.
func instances(rows ...string) string {
	return `{"instances":[` + strings.Join(rows, ",") + `]}`
}

// tensors renders the valid row as V2 column tensors, with column col's
// tensor replaced by raw (dropped when raw is "").
func (c *corpus) tensors(col, raw string) string {
	var parts []string
	for _, mc := range c.m.columns {
		j := indexOf(c.header, mc.name)
		dt := "FP64"
		if mc.kind == categoricalCol {
			dt = "BYTES"
		}
		t := fmt.Sprintf(`{"name":%q,"datatype":%q,"shape":[1],"data":[%s]}`, mc.name, dt, c.vals[j])
		if mc.name == col {
			if raw == "" {
				continue
			}
			t = raw
		}
		parts = append(parts, t)
	}
	return `{"id":"h","inputs":[` + strings.Join(parts, ",") + `]}`
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// build generates the whole corpus.
func (c *corpus) build() []hostile {
	c.syntax()
	c.v1Shapes()
	c.v1Values()
	c.v2Shapes()
	c.v2Values()
	c.http()
	c.sizes()
	c.valid()
	return c.out
}

// syntax: bodies that are not JSON, sent to both protocols.
func (c *corpus) syntax() {
	bad := []string{
		``, ` `, `{`, `[`, `}`, `{"instances": [`, `nul`, `tru`, `{"instances":[{"a":1}],}`,
		`{'instances':[]}`, `{"instances":[NaN]}`, `{"instances":[Infinity]}`,
		`{"instances":[-Infinity]}`, `{"instances":[01]}`, `{"instances":[1.]}`,
		`{"instances":[.5]}`, `{"instances":[1e]}`, `{"instances":[+1]}`,
		`{"instances":[0x10]}`, `{"instances":["\x"]}`, "{\"instances\":[\"a\nb\"]}",
		`{"instances":[]} x`, `{"instances":[]}{}`, "\xef\xbb\xbf{\"instances\":[]}",
		`{"instances"}`, `{"instances":}`, `{,}`, `{"a" "b"}`, `{"a":1 "b":2}`,
		`[1,]`, `{"instances":[1 2]}`, "\xff\xfe{}", `{"instances":["unterminated]}`,
		`{"instances":["\ud800\u"]}`, strings.Repeat("[", 65) + strings.Repeat("]", 65),
		`{"instances":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
	}
	for i, b := range bad {
		c.v1(fmt.Sprintf("syntax-v1-%02d", i), b, 400, "Unrecognized request format")
		c.v2(fmt.Sprintf("syntax-v2-%02d", i), b, 400, "Unrecognized request format")
	}
	for i, b := range []string{`[]`, `"instances"`, `123`, `null`, `true`, `[{"instances":[]}]`} {
		c.v1(fmt.Sprintf("toplevel-v1-%d", i), b, 400, "want a JSON object")
		c.v2(fmt.Sprintf("toplevel-v2-%d", i), b, 400, "want a JSON object")
	}
}

// v1Shapes: JSON whose V1 envelope is wrong.
func (c *corpus) v1Shapes() {
	good := c.row("", "", false)
	for i, tc := range []struct{ body, want string }{
		{`{}`, `missing "instances"`},
		{`{"instance":[` + good + `]}`, `missing "instances"`},
		{`{"instances":{}}`, `Expected "instances" to be a list`},
		{`{"instances":"rows"}`, `Expected "instances" to be a list`},
		{`{"instances":null}`, `Expected "instances" to be a list`},
		{`{"instances":1}`, `Expected "instances" to be a list`},
		{`{"inputs":{"a":1}}`, `Expected "inputs" to be a list`},
		{`{"instances":[],"inputs":[]}`, `both "instances" and "inputs"`},
		{`{"instances":[]}`, "instances: no rows"},
		{`{"inputs":[]}`, "inputs: no rows"},
		{`{"instances":[1]}`, "instances[0]"},
		{`{"instances":[` + good + `,"x"]}`, "instances[1]"},
		{`{"instances":[null]}`, "instances[0]"},
		{`{"instances":[[1,2,3]]}`, "instances[0]"},
		{`{"instances":[true]}`, "instances[0]"},
		{`{"instances":[{}]}`, "missing from every row"},
		{`{"instances":[{"data":{}}]}`, "no rows"},
		{`{"instances":[{"data":[]}]}`, "missing from every row"},
		{`{"instances":[{"data":null}]}`, "missing from every row"},
		{`{"instances":[` + good + `],"instances":[]}`, `key "instances" given twice`},
		{`{"instances":[` + good + `],"parameters":1}`, `"parameters": want an object`},
		{`{"instances":[` + good + `],"parameters":{"output":"logits"}}`, `"parameters.output"`},
		{`{"instances":[` + good + `],"parameters":{"output":1}}`, `"parameters.output"`},
		{`{"instances":[` + good + `],"parameters":{"output":"labels","output":"x"}}`,
			`key "output" given twice`},
	} {
		c.v1(fmt.Sprintf("v1-envelope-%02d", i), tc.body, 400, tc.want)
	}
	col := c.m.columns[0].name
	table := func(inner string) string {
		return `{"instances":[{"data":{` + strconv.Quote(col) + `:` + inner + `}}]}`
	}
	for i, inner := range []string{`{"-1":1}`, `{"01":1}`, `{"a":1}`, `{"1.0":1}`, `{"":1}`,
		`{"9999999999":1}`, `"12"`, `12`, `true`} {
		c.v1(fmt.Sprintf("v1-table-%d", i), table(inner), 400, strconv.Quote(col))
	}
	c.v1("v1-table-dupkey", table(`{"0":1,"0":2}`), 400, "given twice", strconv.Quote(col))
}

// v1Values: a bad value in each column of a V1 row; the message names the
// column (and the row).
func (c *corpus) v1Values() {
	numBad := []string{`"NaN"`, `"Infinity"`, `"-Infinity"`, `"12abc"`, `true`, `[1]`, `{}`,
		`1e400`, `"nan"`}
	catBad := []string{`true`, `[]`, `{"a":1}`, `false`}
	for k, mc := range c.m.columns {
		bad := numBad
		if mc.kind == categoricalCol {
			bad = catBad
		}
		// Every column gets two bad values, the first ones in turn; numeric
		// column 0 gets them all.
		pick := []string{bad[k%len(bad)], bad[(k+1)%len(bad)]}
		if k == 0 {
			pick = bad
		}
		for i, v := range pick {
			c.v1(fmt.Sprintf("v1-value-%s-%d", mc.name, i),
				instances(c.row("", "", false), c.row(mc.name, v, false)), 400,
				strconv.Quote(mc.name), "row 1")
		}
		c.v1("v1-missing-"+mc.name, instances(c.row(mc.name, "", false)), 400,
			strconv.Quote(mc.name), "missing from every row")
		c.v1("v1-dup-"+mc.name, instances(c.row(mc.name, c.vals[indexOf(c.header, mc.name)], true)),
			400, strconv.Quote(mc.name), "given twice")
	}
}

// v2Shapes: V2 envelopes and tensors that are wrong.
func (c *corpus) v2Shapes() {
	first := c.m.columns[0].name
	for i, tc := range []struct{ body, want string }{
		{`{}`, "inputs"},
		{`{"inputs":{}}`, "inputs"},
		{`{"inputs":null}`, "inputs"},
		{`{"inputs":[]}`, "inputs"},
		{`{"inputs":[1]}`, "inputs[0]"},
		{`{"inputs":[{}]}`, "inputs[0].name"},
		{`{"inputs":[{"name":""}]}`, "inputs[0].name"},
		{`{"inputs":[{"name":1,"datatype":"FP64","shape":[1],"data":[1]}]}`, "inputs[0].name"},
		{`{"inputs":[{"name":"nope","datatype":"FP64","shape":[1],"data":[1]}]}`, `unknown input "nope"`},
		{`{"inputs":[{"name":"input-0","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}`, "shape"},
		{`{"inputs":[{"name":"input-0","datatype":"BYTES","shape":[1,1],"data":["a"]}]}`, "datatype"},
		{`{"inputs":[{"name":"input-0","datatype":"FP32","shape":[0,` + strconv.Itoa(c.m.spec.Width()) +
			`],"data":[]}]}`, "shape"},
		{`{"id":1,"inputs":[]}`, "id"},
		{`{"id":"a","id":"b","inputs":[]}`, `key "id" given twice`},
		{`{"inputs":[],"inputs":[]}`, `key "inputs" given twice`},
		{`{"inputs":[{"name":"a","name":"b"}]}`, `key "name" given twice`},
		{`{"outputs":[{"name":"logits"}],"inputs":[]}`, "outputs"},
		{`{"outputs":{},"inputs":[]}`, "outputs"},
	} {
		c.v2(fmt.Sprintf("v2-envelope-%02d", i), tc.body, 400, tc.want)
	}
	tensor := func(body string) string { return c.tensors(first, body) }
	q := strconv.Quote(first)
	for i, tc := range []struct{ t, want string }{
		{`{"name":` + q + `,"datatype":"FP64","shape":[2],"data":[1]}`, "shape"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[1],"data":[1,2]}`, "shape"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[-1],"data":[1]}`, "shape"},
		{`{"name":` + q + `,"datatype":"FP64","shape":"1","data":[1]}`, "shape"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[1.5],"data":[1]}`, "shape"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[1]}`, "data"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[1],"data":1}`, "data"},
		{`{"name":` + q + `,"shape":[1],"data":[1]}`, "datatype"},
		{`{"name":` + q + `,"datatype":"FP16","shape":[1],"data":[1]}`, "datatype"},
		{`{"name":` + q + `,"datatype":"BYTES","shape":[1],"data":["1"]}`, "datatype"},
		{`{"name":` + q + `,"datatype":"BOOL","shape":[1],"data":[true]}`, "datatype"},
		{`{"name":` + q + `,"datatype":"INT64","shape":[1],"data":[1.5]}`, "INT64"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[2],"data":[1,2]}`, "rows"},
		{`{"name":` + q + `,"datatype":"FP64","shape":[1,1],"data":[[1,2]]}`, "shape"},
	} {
		c.v2(fmt.Sprintf("v2-tensor-%02d", i), tensor(tc.t), 400, tc.want)
	}
}

// v2Values: a bad element in each column tensor, and each column left out.
func (c *corpus) v2Values() {
	numBad := []string{`"NaN"`, `"Infinity"`, `"-1e999"`, `"1"`, `true`, `[]`, `{}`, `1e400`}
	for k, mc := range c.m.columns {
		q := strconv.Quote(mc.name)
		if mc.kind == numericCol {
			v := numBad[k%len(numBad)]
			c.v2("v2-value-"+mc.name, c.tensors(mc.name,
				`{"name":`+q+`,"datatype":"FP64","shape":[1],"data":[`+v+`]}`), 400, q)
		} else {
			c.v2("v2-value-"+mc.name, c.tensors(mc.name,
				`{"name":`+q+`,"datatype":"BYTES","shape":[1],"data":[{}]}`), 400, q)
		}
		c.v2("v2-missing-"+mc.name, c.tensors(mc.name, ""), 400, q, "missing")
	}
}

// http: wrong methods, routes, model names and content types.
func (c *corpus) http() {
	good := instances(c.row("", "", false))
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		c.add("method-v1-"+m, m, predictPath, jsonType, good, 405, "not allowed", "use POST")
		c.add("method-v2-"+m, m, inferPath, jsonType, c.tensors("", ""), 405, "not allowed", "use POST")
	}
	c.add("method-ready-POST", "POST", "/v2/health/ready", jsonType, "", 405, "use GET")
	for i, name := range []string{"nope", "CHURN", "churn%20", "churn%00", "%F0%9F%98%80",
		strings.Repeat("m", 4000)} {
		c.add(fmt.Sprintf("model-v1-%d", i), "POST", "/v1/models/"+name+":predict", jsonType,
			good, 404, "does not exist")
		c.add(fmt.Sprintf("model-v2-%d", i), "POST", "/v2/models/"+name+"/infer", jsonType,
			c.tensors("", ""), 404, "does not exist")
	}
	c.add("model-v2-dotdot", "POST", "/v2/models/..%2F..%2Fetc/infer", jsonType,
		c.tensors("", ""), 404, "no route")
	c.add("route-verb", "POST", "/v1/models/churn:train", jsonType, good, 404, "unknown verb")
	c.add("route-none", "POST", "/v3/models/churn/infer", jsonType, good, 404, "no route")
	c.add("route-v2-tail", "POST", "/v2/models/churn/infer/x", jsonType, good, 404, "no route")
	for i, ct := range []string{"text/csv", "application/xml", "multipart/form-data; boundary=x",
		"application/octet-stream", "image/png", "application/x-protobuf", "text/html"} {
		c.add(fmt.Sprintf("ctype-v1-%d", i), "POST", predictPath, ct, good, 415, "Content-Type")
		c.add(fmt.Sprintf("ctype-v2-%d", i), "POST", inferPath, ct, c.tensors("", ""), 415,
			"Content-Type")
	}
}

// sizes: empty, huge and over-the-limit bodies.
func (c *corpus) sizes() {
	many := strings.Repeat("{},", 200_000) + "{}"
	c.v1("huge-empty-instances", `{"instances":[`+many+`]}`, 413, "more than 10000 rows")
	full := c.table(1)
	c.v1("huge-padded-table", full[:len(full)-2]+","+many+"]}", 413, "more than 10000 rows")
	c.v1("over-limit-v1", `{"instances":[`+strings.Repeat(" ", hostileLimit)+`]}`, 413,
		"over the limit")
	c.v2("over-limit-v2", `{"inputs":[`+strings.Repeat(" ", hostileLimit)+`]}`, 413,
		"over the limit")
	c.v1("huge-string", instances(c.row(c.m.columns[0].name,
		`"`+strings.Repeat("9", 1<<20)+`x"`, false)), 400, strconv.Quote(c.m.columns[0].name))
}

// validAfterAll lists the corpus entries that are valid requests after
// all, answered 200: categories nobody trained on (odd Unicode included,
// an unseen category is one-hot all zeros), nulls (imputed as a missing
// value), extra columns (ignored, as FromRecords does), curl's default
// Content-Type, and a 10,000-row request under the body limit.
var validAfterAll = []string{
	"unicode-nul", "unicode-rtl", "unicode-emoji", "unicode-invalid-utf8",
	"unicode-lone-surrogate", "unicode-bidi-override", "unicode-long", "category-number",
	"category-empty", "null-numeric", "null-categorical", "extra-columns", "ctype-form",
	"ctype-none", "ctype-json-charset", "rows-10000", "v2-unicode",
}

// valid: the requests of validAfterAll.
func (c *corpus) valid() {
	var cat column
	for _, mc := range c.m.columns {
		if mc.kind == categoricalCol {
			cat = mc
			break
		}
	}
	for _, tc := range []struct{ name, v string }{
		{"unicode-nul", `"\u0000"`}, {"unicode-rtl", `"\u200fAREA\u200e"`},
		{"unicode-emoji", `"` + "\U0001F600\U0001F4A9" + `"`},
		{"unicode-invalid-utf8", "\"\xff\xfe\xc3\x28\""}, {"unicode-lone-surrogate", `"\ud800"`},
		{"unicode-bidi-override", `"\u202eAERA\u202c"`},
		{"unicode-long", `"` + strings.Repeat("\u00e9", 10_000) + `"`},
		{"category-number", `12`}, {"category-empty", `""`}, {"null-categorical", `null`},
	} {
		c.v1(tc.name, instances(c.row(cat.name, tc.v, false)), 200)
	}
	c.v1("null-numeric", instances(c.row(c.m.columns[0].name, "null", false)), 200)
	extra := strings.Replace(c.row("", "", false), "{", `{"extra":[1,{"x":null}],"id":"c-1",`, 1)
	c.v1("extra-columns", instances(extra), 200)
	good := instances(c.row("", "", false))
	c.add("ctype-form", "POST", predictPath, "application/x-www-form-urlencoded", good, 200)
	c.add("ctype-none", "POST", predictPath, "", good, 200)
	c.add("ctype-json-charset", "POST", predictPath, "application/json; charset=utf-8", good, 200)
	c.v1("rows-10000", c.table(10_000), 200)
	q := strconv.Quote(cat.name)
	c.v2("v2-unicode", c.tensors(cat.name,
		`{"name":`+q+`,"datatype":"BYTES","shape":[1],"data":["\u202e`+"\U0001F600"+`\u0000"]}`), 200)
}

// hostileCorpus returns the corpus for the fixture model.
func hostileCorpus(t testing.TB, f *fixture) []hostile {
	t.Helper()
	c := &corpus{header: f.header, m: f.model}
	for _, v := range f.valRows[0] {
		c.vals = append(c.vals, string(appendValue(nil, v)))
	}
	return c.build()
}

// fileText renders a corpus entry as its file: the request line, the
// Content-Type, the expected answer, a blank line and the body.
func (h hostile) fileText() string {
	return fmt.Sprintf("%s %s\nContent-Type: %s\nWant: %d %s\n\n%s", h.method, h.path, h.ctype,
		h.code, strings.Join(h.want, " | "), h.body)
}

// Ensures the checked-in corpus files are exactly what the generator
// writes (run with -update-hostile to rewrite them), so the files a
// person reads are the requests the test sends.
func TestHostileCorpusFiles(t *testing.T) {
	f := trained(t)
	cases := hostileCorpus(t, f)
	if len(cases) < 200 {
		t.Fatalf("corpus has %d requests, want at least 200", len(cases))
	}
	if *updateHostile {
		if err := os.RemoveAll(hostileDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(hostileDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	written := 0
	for _, h := range cases {
		if len(h.body) > maxCorpusFile {
			continue
		}
		written++
		path := filepath.Join(hostileDir, h.name+".req")
		if *updateHostile {
			if err := os.WriteFile(path, []byte(h.fileText()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./serve -run TestHostileCorpusFiles -update-hostile)", err)
		}
		if string(b) != h.fileText() {
			t.Errorf("%s differs from the generator (rerun with -update-hostile)", path)
		}
	}
	files, _ := filepath.Glob(filepath.Join(hostileDir, "*.req"))
	if len(files) != written {
		t.Errorf("%d corpus files, the generator writes %d", len(files), written)
	}
}

// Ensures every hostile request gets its 4xx with a message naming what is
// wrong (or 200 for those in validAfterAll), never a 5xx, on a real
// loopback server; and that the heap returns to its baseline afterwards.
func TestHostileCorpus(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model, MaxBodyBytes: hostileLimit})
	url := startServer(t, s)
	cases := hostileCorpus(t, f)
	valid := map[string]bool{}
	for _, n := range validAfterAll {
		valid[n] = true
	}
	client := &http.Client{}
	send := func(h hostile) (int, string) {
		req, err := http.NewRequest(h.method, url+h.path, strings.NewReader(h.body))
		if err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		if h.ctype != "" {
			req.Header.Set("Content-Type", h.ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", h.name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != 200 && json.Unmarshal(b, &e) != nil {
			t.Errorf("%s: status %d, body %.200q is not {\"error\": ...}", h.name, resp.StatusCode, b)
		}
		return resp.StatusCode, e.Error
	}
	send(cases[0]) // warm the connection and the pools before the baseline
	defer runtime.KeepAlive(cases)
	base := heapAfterGC()
	seen := 0
	for round := range 3 {
		for _, h := range cases {
			code, msg := send(h)
			if round > 0 {
				continue
			}
			if h.code == 200 {
				seen++
				if !valid[h.name] {
					t.Errorf("%s: expects 200 but is not listed in validAfterAll", h.name)
				}
			}
			if code != h.code || code >= 500 {
				t.Errorf("%s: status %d (%q), want %d", h.name, code, msg, h.code)
				continue
			}
			for _, w := range h.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: message %q does not contain %q", h.name, msg, w)
				}
			}
		}
	}
	if seen != len(validAfterAll) {
		t.Errorf("%d requests expect 200, validAfterAll lists %d", seen, len(validAfterAll))
	}
	client.CloseIdleConnections()
	// The margin allows for what a few pooled request states keep (their
	// buffers are pooled only under 1 MiB each) and for the runtime's own
	// variation; a leak of the 8 MiB bodies sent would exceed it.
	const margin = 4 << 20
	if after := heapAfterGC(); after > base+margin {
		t.Errorf("heap after the corpus %d bytes, baseline %d (margin %d)", after, base, margin)
	} else {
		t.Logf("heap: baseline %d bytes, after 3 rounds of %d requests %d bytes", base,
			len(cases), after)
	}
}

// heapAfterGC returns HeapAlloc after the garbage collector has run and
// emptied sync.Pools (two cycles).
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
