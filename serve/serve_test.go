package serve

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// reference computes probabilities the way training validates: the same
// dataset.FromRecords and dataset.Preprocess, then the in-memory model's
// forward pass.
func reference(t testing.TB, f *fixture, header []string, recs [][]string) []float32 {
	t.Helper()
	tab, err := dataset.FromRecords(f.spec, "reference", header, recs)
	if err != nil {
		t.Fatal(err)
	}
	x, err := dataset.Preprocess(f.spec, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, x.Rows)
	if err := f.net.Predict(x.X, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// parseProbs reads V1 probability predictions as float32s.
func parseProbs(t testing.TB, body []byte) []float32 {
	t.Helper()
	var resp struct {
		Predictions [][]json.Number `json:"predictions"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	out := make([]float32, len(resp.Predictions))
	for i, p := range resp.Predictions {
		if len(p) != 1 {
			t.Fatalf("prediction %d = %v, want one value", i, p)
		}
		v, err := strconv.ParseFloat(string(p[0]), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = float32(v)
	}
	return out
}

// Ensures every validation row's probability served over HTTP (V1 and V2)
// equals the training code's forward pass bit for bit.
func TestBitConsistencyOverHTTP(t *testing.T) {
	f := trained(t)
	url := startServer(t, newServer(t, Config{Model: f.model}))
	want := reference(t, f, f.header, f.valRows)

	body, err := V1Body(f.header, f.valRows, OutputProbabilities)
	if err != nil {
		t.Fatal(err)
	}
	code, resp := post(t, url+"/v1/models/churn:predict", string(body))
	if code != 200 {
		t.Fatalf("predict: status %d: %s", code, resp)
	}
	got := parseProbs(t, resp)
	if len(got) != len(want) {
		t.Fatalf("predict: %d predictions, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("V1 row %d: served %v (%08x), training forward %v (%08x)",
				i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}

	c := &Client{BaseURL: url, Model: "churn"}
	md, err := c.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := V2Body(md, "bits", f.header, f.valRows)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := c.Infer(t.Context(), v2)
	if err != nil {
		t.Fatal(err)
	}
	prob, ok := ans.Output(OutputProbability)
	if !ok || len(prob.Data) != len(want) || ans.ID != "bits" {
		t.Fatalf("infer: id %q, outputs %+v", ans.ID, ans.Outputs)
	}
	for i := range want {
		v, _ := strconv.ParseFloat(string(prob.Data[i]), 64)
		if math.Float32bits(float32(v)) != math.Float32bits(want[i]) {
			t.Fatalf("V2 row %d: served %v, training forward %v", i, float32(v), want[i])
		}
	}
}

// sharedDir is where the original example's files are kept.
func sharedDir() string {
	if d := os.Getenv("CHURN_SHARED"); d != "" {
		return d
	}
	return "/work/shared"
}

// Ensures the original example's request body, unchanged, gets ten
// thresholded predictions shaped [[1.0],[0.0],...] that agree with the
// training code's forward pass on the same rows read from CSV.
func TestOriginalRequest(t *testing.T) {
	dir := filepath.Join(sharedDir(), "data", "pdk-churn")
	body, err := os.ReadFile(filepath.Join(dir, "request_v1_sample.json"))
	if err != nil {
		t.Skipf("original request body absent (set CHURN_SHARED): %v", err)
	}
	f := trained(t)
	url := startServer(t, newServer(t, Config{Model: f.model}))
	code, resp := post(t, url+"/v1/models/churn:predict", string(body))
	if code != 200 {
		t.Fatalf("status %d: %s", code, resp)
	}
	if !regexp.MustCompile(`^\{"predictions":\[\[[01]\.0\](,\[[01]\.0\]){9}\]\}$`).Match(resp) {
		t.Fatalf("answer %s, want ten [1.0] or [0.0]", resp)
	}
	code, probs := post(t, url+"/v1/models/churn:predict",
		string(bytes.Replace(body, []byte(`{"instances"`),
			[]byte(`{"parameters":{"output":"probabilities"},"instances"`), 1)))
	if code != 200 {
		t.Fatalf("probabilities: status %d: %s", code, probs)
	}
	got := parseProbs(t, probs)
	var labels struct{ Predictions [][]float64 }
	if err := json.Unmarshal(resp, &labels); err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		want := 0.0
		if p >= 0.5 {
			want = 1
		}
		if labels.Predictions[i][0] != want {
			t.Errorf("row %d: label %v, probability %v", i, labels.Predictions[i][0], p)
		}
	}
	csvRows, err := os.ReadFile(filepath.Join(dir, "customer_churn_sample.csv"))
	if err != nil {
		t.Logf("sample CSV absent; skipping the comparison with CSV rows: %v", err)
		return
	}
	all := readCSV(t, csvRows)
	want := reference(t, f, all[0], all[1:])
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("row %d: served %v, forward pass on the CSV row %v", i, got[i], want[i])
		}
	}
}
