package serve

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// cycled returns n validation rows, starting over when they run out.
func cycled(f *fixture, n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = f.valRows[i%len(f.valRows)]
	}
	return out
}

// columnsInstance writes recs as one columns table instance
// {"data":{...}} in which row i has the key key(i) or, when key is nil,
// each column is the list of its values.
func columnsInstance(header []string, recs [][]string, key func(i int) string) string {
	open, end := "{", "}"
	if key == nil {
		open, end = "[", "]"
	}
	var b strings.Builder
	b.WriteString(`{"data":{`)
	for j, h := range header {
		if j > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Quote(h) + ":" + open)
		for i, rec := range recs {
			if i > 0 {
				b.WriteString(",")
			}
			if key != nil {
				b.WriteString(strconv.Quote(key(i)) + ":")
			}
			b.Write(appendValue(nil, rec[j]))
		}
		b.WriteString(end)
	}
	b.WriteString("}}")
	return b.String()
}

// table is the columns table instance of n rows keyed "0" to "n-1".
func table(f *fixture, n int) string {
	return unwrap(columnsBody(f.header, cycled(f, n), "instances", nil))
}

// rowObjects is n rows as row object instances, comma separated.
func rowObjects(t *testing.T, f *fixture, n int) string {
	return unwrap(v1Rows(t, f.header, cycled(f, n), ""))
}

// maxRowsShape is a way of spreading rows over V1 instances.
type maxRowsShape struct {
	name      string
	instances func(n int) []string // instances holding n rows in all
}

// v1RowShapes are the V1 shapes the row limit must count right: tables,
// rows, mixes of both over several instances, sparse unordered keys,
// list columns and empty row objects.
func v1RowShapes(t *testing.T, f *fixture) []maxRowsShape {
	sparse := func(n int) func(int) string { // descending, huge
		return func(i int) string { return strconv.Itoa((n - i) * 1_000_003) }
	}
	return []maxRowsShape{
		{"one table", func(n int) []string { return []string{table(f, n)} }},
		{"rows", func(n int) []string { return []string{rowObjects(t, f, n)} }},
		{"tables of 2 and the rest", func(n int) []string {
			return []string{table(f, 2), table(f, n-2)}
		}},
		{"table, rows, table", func(n int) []string {
			return []string{table(f, 2), rowObjects(t, f, n-3), table(f, 1)}
		}},
		{"unordered sparse keys", func(n int) []string {
			return []string{columnsInstance(f.header, cycled(f, n), sparse(n))}
		}},
		{"list columns", func(n int) []string {
			return []string{columnsInstance(f.header, cycled(f, n), nil)}
		}},
		{"empty objects then a row", func(n int) []string {
			return []string{strings.Repeat("{},", n-1) + rowObjects(t, f, 1)}
		}},
	}
}

// wantServed checks a V1 answer is a 200 with n predictions.
func wantServed(t *testing.T, what string, code int, ans []byte, n int) {
	t.Helper()
	if code != 200 {
		t.Errorf("%s: status %d: %.200s; want 200", what, code, ans)
	} else if got := len(parseProbs(t, ans)); got != n {
		t.Errorf("%s: %d predictions, want %d", what, got, n)
	}
}

// wantRefused checks an answer is a 413 that names the limit max.
func wantRefused(t *testing.T, what string, code int, ans []byte, max int) {
	t.Helper()
	if code != 413 || !strings.Contains(string(ans), fmt.Sprintf("more than %d rows", max)) {
		t.Errorf("%s: status %d: %.200s; want 413 naming the limit %d", what, code, ans, max)
	}
}

// Ensures every V1 shape, through the fast path and the general one, is
// served at exactly MaxRows rows and refused with 413 naming the limit at
// MaxRows+1, the rows counted over all instances.
func TestMaxRowsV1Shapes(t *testing.T) {
	f := trained(t)
	const max = 6
	url := startServer(t, newServer(t, Config{Model: f.model, MaxRows: max})) +
		"/v1/models/churn:predict"
	for _, shape := range v1RowShapes(t, f) {
		for _, path := range []string{"fast", "general"} {
			body := func(n int) string {
				if path == "general" { // an unknown member: no fast path
					return `{"id":"x","instances":[` + strings.Join(shape.instances(n), ",") + "]}"
				}
				return envelope(shape.instances(n)...)
			}
			what := fmt.Sprintf("%s, %s path, %%d rows", shape.name, path)
			code, ans := post(t, url, body(max))
			wantServed(t, fmt.Sprintf(what, max), code, ans, max)
			code, ans = post(t, url, body(max+1))
			wantRefused(t, fmt.Sprintf(what, max+1), code, ans, max)
		}
	}
}

// pdTensor is the V2 "pd" input tensor of column name of recs, of shape
// [n], or [n,1] with each value in a list of its own when nested.
func pdTensor(f *fixture, recs [][]string, name, dtype string, nested bool) string {
	j := indexOf(f.header, name)
	d := make([]string, len(recs))
	for i, r := range recs {
		d[i] = string(appendValue(nil, r[j]))
		if dtype == "BYTES" {
			d[i] = strconv.Quote(r[j])
		}
		if nested {
			d[i] = "[" + d[i] + "]"
		}
	}
	shape := strconv.Itoa(len(recs))
	if nested {
		shape += ",1"
	}
	return fmt.Sprintf(`{"name":%q,"datatype":%q,"shape":[%s],"data":[%s]}`,
		name, dtype, shape, strings.Join(d, ","))
}

// pdBody is a V2 request of n rows as "pd" column tensors, nested or
// not, after, when labels is over 0, a label tensor of that many values.
func pdBody(f *fixture, n int, nested bool, labels int) string {
	recs := cycled(f, n)
	var ins []string
	if labels > 0 {
		lab := strings.TrimSuffix(strings.Repeat(`"No",`, labels), ",")
		ins = append(ins, fmt.Sprintf(`{"name":%q,"datatype":"BYTES","shape":[%d],"data":[%s]}`,
			f.spec.Label, labels, lab))
	}
	for _, in := range f.model.metadata("churn").Inputs {
		ins = append(ins, pdTensor(f, recs, in.Name, in.Datatype, nested))
	}
	return `{"inputs":[` + strings.Join(ins, ",") + "]}"
}

// preprocessedBody is a V2 request of n preprocessed rows of width w, as
// nested lists of type dtype.
func preprocessedBody(n, w int, dtype string) string {
	row := "[" + strings.TrimSuffix(strings.Repeat("0.5,", w), ",") + "]"
	data := strings.TrimSuffix(strings.Repeat(row+",", n), ",")
	return fmt.Sprintf(`{"inputs":[{"name":"input-0","datatype":%q,"shape":[%d,%d],`+
		`"data":[%s]}]}`, dtype, n, w, data)
}

// Ensures the V2 shapes ("pd" columns as [n] and as nested [n,1], after a
// label tensor far longer than the rows, and the preprocessed tensor,
// nested, as FP32 and FP64) are served at MaxRows rows and refused above.
func TestMaxRowsV2Shapes(t *testing.T) {
	f := trained(t)
	const max = 4
	url := startServer(t, newServer(t, Config{Model: f.model, MaxRows: max})) +
		"/v2/models/churn/infer"
	w := f.model.spec.Width()
	for _, tc := range []struct {
		name string
		body func(int) string
	}{
		{"pd [n]", func(n int) string { return pdBody(f, n, false, 0) }},
		{"pd [n,1] nested", func(n int) string { return pdBody(f, n, true, 0) }},
		{"pd label first", func(n int) string { return pdBody(f, n, false, 50*max) }},
		{"preprocessed FP32", func(n int) string { return preprocessedBody(n, w, "FP32") }},
		{"preprocessed FP64", func(n int) string { return preprocessedBody(n, w, "FP64") }},
	} {
		code, ans := post(t, url, tc.body(max))
		if code != 200 || !strings.Contains(string(ans), fmt.Sprintf(`"shape":[%d]`, max)) {
			t.Errorf("%s, %d rows: status %d: %.300s; want %d outputs",
				tc.name, max, code, ans, max)
		}
		code, ans = post(t, url, tc.body(max+1))
		wantRefused(t, fmt.Sprintf("%s, %d rows", tc.name, max+1), code, ans, max)
	}
}

// manyRows returns a builder of V1 bodies of one columns table of n
// rows, cycling through the validation rows, whose values are written
// once: bodies of ten thousand rows are then cheap, even under the race
// detector.
func manyRows(f *fixture) func(n int) string {
	vals := make([][]string, len(f.header)) // by column, then row
	for j := range vals {
		vals[j] = make([]string, len(f.valRows))
		for i, rec := range f.valRows {
			vals[j][i] = string(appendValue(nil, rec[j]))
		}
	}
	return func(n int) string {
		b := []byte(`{"instances":[{"data":{`)
		for j, h := range f.header {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(strconv.AppendQuote(b, h), ":{"...)
			for i := range n {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(strconv.AppendQuote(b, strconv.Itoa(i)), ':')
				b = append(b, vals[j][i%len(f.valRows)]...)
			}
			b = append(b, '}')
		}
		return string(append(b, "}}]}"...))
	}
}

// Ensures MaxRows 0 means DefaultMaxRows (exactly that many rows are
// served, one more is refused), a negative MaxRows no limit, and MaxRows
// 1 one row. Under -short only the refusals are checked.
func TestMaxRowsConfig(t *testing.T) {
	f := trained(t)
	url := func(maxRows int) string {
		s := newServer(t, Config{Model: f.model, MaxRows: maxRows, MaxBodyBytes: 64 << 20})
		return startServer(t, s) + "/v1/models/churn:predict"
	}
	body := manyRows(f)
	def := url(0)
	code, ans := post(t, def, body(DefaultMaxRows+1))
	wantRefused(t, "default limit, one row more", code, ans, DefaultMaxRows)
	if !testing.Short() { // serving ten thousand rows takes seconds under -race
		code, ans = post(t, def, body(DefaultMaxRows))
		wantServed(t, "default limit, DefaultMaxRows rows", code, ans, DefaultMaxRows)
		code, ans = post(t, url(-1), body(DefaultMaxRows+5))
		wantServed(t, "no limit", code, ans, DefaultMaxRows+5)
	}
	one := url(1)
	code, ans = post(t, one, body(1))
	wantServed(t, "limit 1, 1 row", code, ans, 1)
	code, ans = post(t, one, body(2))
	wantRefused(t, "limit 1, 2 rows", code, ans, 1)
}

// Ensures a refused request leaves nothing behind in the pooled state: the
// answers after each 413 (the fast path cut short mid-table) are those of
// a server that never saw one.
func TestMaxRowsStateAfterRefusal(t *testing.T) {
	f := trained(t)
	const max = 5
	url := startServer(t, newServer(t, Config{Model: f.model, MaxRows: max})) +
		"/v1/models/churn:predict"
	fresh := startServer(t, newServer(t, Config{Model: f.model})) + "/v1/models/churn:predict"
	small := columnsBody(f.header, f.valRows[10:13], "instances", nil)
	code, want := post(t, fresh, small)
	wantServed(t, "fresh server, 3 rows", code, want, 3)
	for i := range 20 {
		big := columnsBody(f.header, cycled(f, max+1+i), "instances", nil)
		code, ans := post(t, url, big)
		wantRefused(t, fmt.Sprintf("%d rows", max+1+i), code, ans, max)
		if code, got := post(t, url, small); code != 200 || string(got) != string(want) {
			t.Fatalf("after a 413 of %d rows: %d %s, want %s", max+1+i, code, got, want)
		}
	}
}
