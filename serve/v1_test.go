package serve

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tableBody renders rows as the original's columns table, with the row
// keys listed in the order given by keys (keys[i] is row i's index key).
func tableBody(header []string, recs [][]string, keys []int) string {
	var b strings.Builder
	b.WriteString(`{"parameters": {"output": "probabilities"}, "instances": [{"data": {`)
	for j, h := range header {
		if j > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Quote(h) + ": {")
		for n, i := range slices.Backward(keys) { // written in reverse key order
			if n != len(keys)-1 {
				b.WriteString(",")
			}
			b.WriteString(`"` + strconv.Itoa(i) + `": ` + string(appendValue(nil, recs[i][j])))
		}
		b.WriteString("}")
	}
	b.WriteString("}}]}")
	return b.String()
}

// predictProbs posts body to the in-process handler and returns the
// probabilities.
func predictProbs(t *testing.T, s *Server, body string) []float32 {
	t.Helper()
	a := call(s, "POST", "/v1/models/churn:predict", body)
	if a.code != 200 {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	return parseProbs(t, []byte(a.body))
}

// Ensures the accepted V1 forms (row objects, columns table with keys in
// any order, "inputs") give the same answer as the training forward pass,
// and that null or absent values are imputed as an empty CSV field is.
func TestV1Forms(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	recs := slices.Clone(f.valRows[:12])
	want := reference(t, f, f.header, recs)
	check := func(name string, got []float32, want []float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d predictions, want %d", name, len(got), len(want))
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s: row %d: %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	rowsBody, _ := V1Body(f.header, recs, OutputProbabilities)
	check("rows", predictProbs(t, s, string(rowsBody)), want)
	check("inputs", predictProbs(t, s, strings.Replace(string(rowsBody), `"instances"`, `"inputs"`, 1)), want)
	// Keys 0, 2, 4, ... order rows numerically, not as written or as text.
	keys := make([]int, len(recs))
	for i := range keys {
		keys[i] = i
	}
	check("table", predictProbs(t, s, tableBody(f.header, recs, keys)), want)
	sparse := strings.NewReplacer(`"10": `, `"100": `, `"11": `, `"20": `).Replace(tableBody(f.header, recs, keys))
	// Key 11 became 20 and 10 became 100: numerically 20 comes first
	// (as text "100" would).
	swapped := slices.Clone(want)
	swapped[10], swapped[11] = want[11], want[10]
	check("sparse keys", predictProbs(t, s, sparse), swapped)

	// Missing values: null and an absent member match an empty CSV field.
	miss := [][]string{recs[0], recs[0]} // the second row stays whole
	miss[0] = slices.Clone(miss[0])
	jm := slices.Index(f.header, "months")
	ja := slices.Index(f.header, "area")
	miss[0][jm], miss[0][ja] = "", ""
	wantMiss := reference(t, f, f.header, miss)
	withNull := row(t, f, "months", "null")
	withNull = strings.Replace(withNull, `"area":`, `"area_was":`, 1)
	got := predictProbs(t, s, `{"parameters": {"output": "probabilities"}, "instances": [`+
		withNull+`,`+string(rowsBody[len(`{"instances":[`):strings.Index(string(rowsBody), "},{")+1])+`]}`)
	check("missing", got, wantMiss)
	if got[0] == want[0] {
		t.Errorf("missing values gave the unchanged row's probability %v", got[0])
	}
}

// Ensures the default answer thresholds at the checkpoint's threshold.
func TestV1Threshold(t *testing.T) {
	f := trained(t)
	recs := f.valRows[:40]
	p := reference(t, f, f.header, recs)
	thr := p[0] // at the threshold, the answer is churn
	m, err := NewModel(f.spec, f.net, float64(thr))
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Config{Model: m})
	body, _ := V1Body(f.header, recs, "")
	a := call(s, "POST", "/v1/models/churn:predict", string(body))
	var resp struct{ Predictions [][]float64 }
	if err := json.Unmarshal([]byte(a.body), &resp); err != nil {
		t.Fatal(err)
	}
	ones := 0
	for i, pr := range resp.Predictions {
		want := 0.0
		if p[i] >= thr {
			want = 1
		}
		if pr[0] != want {
			t.Errorf("row %d: %v for probability %v, threshold %v", i, pr[0], p[i], thr)
		}
		ones += int(want)
	}
	if ones == 0 || ones == len(recs) {
		t.Errorf("threshold %v made %d of %d churn; pick a row with a middle probability", thr, ones, len(recs))
	}
}

// Ensures explain's contributions plus the intercept give the logit, whose
// sigmoid is the served probability, ranked by absolute size, one per column.
func TestV1Explain(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	recs := f.valRows[:5]
	body, _ := V1Body(f.header, recs, OutputProbabilities)
	a := call(s, "POST", "/v1/models/churn:explain", string(body))
	if a.code != 200 {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	var resp V1Response
	if err := json.Unmarshal([]byte(a.body), &resp); err != nil {
		t.Fatal(err)
	}
	want := reference(t, f, f.header, recs)
	if len(resp.Explanations) != len(recs) || len(resp.Predictions) != len(recs) {
		t.Fatalf("%d explanations, %d predictions, want %d", len(resp.Explanations), len(resp.Predictions), len(recs))
	}
	const tol = 1e-5
	for i, e := range resp.Explanations {
		if len(e.Contributions) != len(f.spec.Numeric)+len(f.spec.Categorical) {
			t.Fatalf("row %d: %d contributions", i, len(e.Contributions))
		}
		sum := e.Intercept
		for k, c := range e.Contributions {
			sum += c.Contribution
			if k > 0 && math.Abs(c.Contribution) > math.Abs(e.Contributions[k-1].Contribution) {
				t.Errorf("row %d: contribution %d (%v) ranks above a smaller one", i, k, c)
			}
		}
		if math.Abs(sum-e.Logit) > 1e-9 {
			t.Errorf("row %d: contributions + intercept = %v, logit %v", i, sum, e.Logit)
		}
		if sig := 1 / (1 + math.Exp(-e.Logit)); math.Abs(sig-float64(want[i])) > tol {
			t.Errorf("row %d: sigmoid(logit) = %v, forward pass %v", i, sig, want[i])
		}
		if e.Probability != float64(want[i]) {
			t.Errorf("row %d: probability %v, want %v", i, e.Probability, want[i])
		}
	}
}

// Ensures a columns table whose model columns do not all give every row
// (a short list, or a row key missing from one column) is refused with a
// 400 naming the column and both row counts, instead of imputing the
// cells left out.
func TestV1RaggedTable(t *testing.T) {
	f := trained(t)
	s := newServer(t, Config{Model: f.model})
	recs := f.valRows[:10]
	col := "months"
	lists := func(short int) string {
		var b strings.Builder
		b.WriteString(`{"instances":[{"data":{`)
		for j, h := range f.header {
			if j > 0 {
				b.WriteString(",")
			}
			n := len(recs)
			if h == col {
				n = short
			}
			b.WriteString(strconv.Quote(h) + ":[")
			for i := range n {
				if i > 0 {
					b.WriteString(",")
				}
				b.Write(appendValue(nil, recs[i][j]))
			}
			b.WriteString("]")
		}
		b.WriteString("}}]}")
		return b.String()
	}
	keys := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	full := tableBody(f.header, recs, keys)
	// Drop row key "4" from the months column only.
	at := strings.Index(full, `"months": {`)
	end := at + strings.Index(full[at:], "}")
	colText := full[at:end]
	k4 := strings.Index(colText, `"4": `)
	k3 := strings.Index(colText, `,"3": `)
	dropped := full[:at] + colText[:k4] + colText[k3+1:] + full[end:]
	for _, tc := range []struct{ name, body, want string }{
		{"short list", lists(3), `instances[0].data[\"months\"]: column \"months\": 3 rows, the table has 10`},
		{"missing key", dropped, `column \"months\": 9 rows, the table has 10`},
	} {
		a := call(s, "POST", "/v1/models/churn:predict", tc.body)
		if a.code != 400 || !strings.Contains(a.body, tc.want) {
			t.Errorf("%s: status %d, body %s; want 400 with %s", tc.name, a.code, a.body, tc.want)
		}
	}
	// The same table, whole, is answered.
	if got := predictProbs(t, s, lists(len(recs))); len(got) != len(recs) {
		t.Errorf("whole list table: %d predictions, want %d", len(got), len(recs))
	}
}
