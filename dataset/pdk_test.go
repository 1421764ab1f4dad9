package dataset

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite experiment/features.json from PDKSpec")

// pdkDir is the folder with the original example's files, next to the
// repository (the repository root's parent holds shared/).
const pdkDir = "../../shared/data/pdk-churn"

// needPDK skips the test when the original example's files are absent.
func needPDK(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(pdkDir); err != nil {
		t.Skipf("original pdk-churn files absent (%s not found): "+
			"the bit-for-bit checks against the original need them", pdkDir)
	}
}

// ensures the committed experiment/features.json is PDKSpec, and rewrites
// it with -update.
func TestPDKFeaturesFile(t *testing.T) {
	path := filepath.Join("..", "experiment", "features.json")
	var want bytes.Buffer
	if err := PDKSpec().Encode(&want); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := PDKSpec().WriteFile(path); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run go test ./dataset -run PDKFeaturesFile -update)", path, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%s differs from PDKSpec(); rerun with -update", path)
	}
	s, err := LoadSpec(path)
	if err != nil {
		t.Fatalf("LoadSpec(%s): %v", path, err)
	}
	if len(s.Numeric) != 73 || len(s.Categorical) != 14 || s.Width() != 139 {
		t.Errorf("LoadSpec(%s): %d numeric, %d categorical, width %d; want 73, 14, 139",
			path, len(s.Numeric), len(s.Categorical), s.Width())
	}
}

// ensures PDKSpec's figures are numscale.json's float64 values exactly and
// its numeric columns follow the original header order.
func TestPDKSpecMatchesNumscale(t *testing.T) {
	needPDK(t)
	b, err := os.ReadFile(filepath.Join(pdkDir, "numscale.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ns map[string]struct{ Mean, Std float64 }
	if err := json.Unmarshal(b, &ns); err != nil {
		t.Fatal(err)
	}
	spec := PDKSpec()
	if len(spec.Numeric) != len(ns) {
		t.Fatalf("PDKSpec has %d numeric columns, numscale.json %d", len(spec.Numeric), len(ns))
	}
	for _, c := range spec.Numeric {
		want, ok := ns[c.Name]
		if !ok {
			t.Errorf("column %q not in numscale.json", c.Name)
			continue
		}
		if c.Mean != want.Mean || c.Std != want.Std {
			t.Errorf("column %q: mean, std = %v, %v; numscale.json has %v, %v",
				c.Name, c.Mean, c.Std, want.Mean, want.Std)
		}
	}
	header := readCSVFile(t, filepath.Join(pdkDir, "customer_churn_sample.csv"))[0]
	if !slices.Equal(header, PDKHeader()) {
		t.Errorf("PDKHeader() = %q, sample header %q", PDKHeader(), header)
	}
	var order []string
	for _, h := range header {
		if _, ok := ns[h]; ok {
			order = append(order, h)
		}
	}
	for i, c := range spec.Numeric {
		if c.Name != order[i] {
			t.Fatalf("numeric column %d is %q, header order gives %q", i, c.Name, order[i])
		}
	}
}

// ensures Preprocess reproduces the original pandas preprocessing of the
// ten sample rows bit for bit, and the input names match its header.
func TestPreprocessMatchesPandas(t *testing.T) {
	needPDK(t)
	spec, err := LoadSpec(filepath.Join("..", "experiment", "features.json"))
	if err != nil {
		t.Fatal(err)
	}
	tab, rep, err := Load(spec, true, filepath.Join(pdkDir, "customer_churn_sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Preprocess(spec, tab, rep)
	if err != nil {
		t.Fatal(err)
	}
	golden := readCSVFile(t, filepath.Join(pdkDir, "customer_churn_sample.features.csv"))
	head := golden[0]
	if !slices.Equal(head[:len(head)-1], spec.Inputs) {
		t.Fatalf("golden header %q != spec.Inputs %q", head[:len(head)-1], spec.Inputs)
	}
	if m.Rows != len(golden)-1 || m.Cols != 139 {
		t.Fatalf("matrix %dx%d, want %dx139", m.Rows, m.Cols, len(golden)-1)
	}
	for i, rec := range golden[1:] {
		for j, s := range rec[:m.Cols] {
			want, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.X[i*m.Cols+j]; got != float32(want) {
				t.Errorf("row %d input %s: got %v, want %v", i, head[j], got, float32(want))
			}
		}
		y, _ := strconv.ParseFloat(rec[m.Cols], 32)
		if m.Y[i] != float32(y) {
			t.Errorf("row %d label: got %v, want %v", i, m.Y[i], y)
		}
	}
}

func readCSVFile(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
