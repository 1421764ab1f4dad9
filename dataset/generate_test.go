package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goldenGenerate is the sha256 of Generate(w, 1000, 42) on amd64. A change
// to the generator that changes its output must change this on purpose.
const goldenGenerate = "1a4836f3fec7554286dc5e0af89f0bbb4d57a09ddb05c28e71e62bca3373db96"

func generated(t testing.TB, rows int, seed int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, rows, seed); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes()
}

// ensures Generate is byte-for-byte reproducible for a seed, differs for
// another seed, and matches the pinned output.
func TestGenerateReproducible(t *testing.T) {
	a, b := generated(t, 1000, 42), generated(t, 1000, 42)
	if !bytes.Equal(a, b) {
		t.Fatal("Generate(1000, 42) gave two different outputs")
	}
	if bytes.Equal(a, generated(t, 1000, 43)) {
		t.Error("Generate gave the same output for seeds 42 and 43")
	}
	sum := sha256.Sum256(a)
	got := hex.EncodeToString(sum[:])
	if runtime.GOARCH != "amd64" {
		t.Skipf("golden output pinned on amd64; %s may round math functions differently",
			runtime.GOARCH)
	}
	if got != goldenGenerate {
		t.Errorf("Generate(1000, 42) sha256 = %s, want %s", got, goldenGenerate)
	}
}

// ensures generated rows have the original header, load under the original
// spec, follow its figures and carry a learnable churn signal.
func TestGenerateShape(t *testing.T) {
	const rows = 20000
	data := generated(t, rows, 7)
	header, _, _ := strings.Cut(string(data), "\n")
	if header != strings.Join(PDKHeader(), ",") {
		t.Fatalf("header = %q, want the original header", header)
	}
	spec := PDKSpec()
	tab, rep, err := LoadReaders(spec, true, Source{Name: "gen.csv", R: bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("load generated rows: %v", err)
	}
	if tab.Len() != rows {
		t.Fatalf("loaded %d rows, want %d", tab.Len(), rows)
	}
	// Means within 5 standard errors of the spec's (the std error is std/sqrt(n)).
	for _, c := range spec.Numeric {
		vals, _ := tab.Numeric(c.Name)
		mean := 0.0
		for _, v := range vals {
			mean += v
		}
		mean /= float64(len(vals))
		if tol := 5 * c.Std / math.Sqrt(rows); math.Abs(mean-c.Mean) > tol {
			t.Errorf("column %s: mean %v, spec %v (tolerance %v)", c.Name, mean, c.Mean, tol)
		}
	}
	m, err := Preprocess(spec, tab, rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unseen) != 0 || len(rep.Missing) != 0 {
		t.Errorf("generated rows have unseen %v, missing %v; want none", rep.Unseen, rep.Missing)
	}
	rate := float64(rep.Positives) / rows
	if rate < 0.2 || rate > 0.8 {
		t.Errorf("churn rate %v, want between 0.2 and 0.8", rate)
	}
	// Churners hold their handsets longer (eqpdays) and newer accounts (months).
	j := indexOf(spec.Inputs, "eqpdays")
	k := indexOf(spec.Inputs, "months")
	var eq, mo [2]float64
	var cnt [2]float64
	for i := range m.Rows {
		y := int(m.Y[i])
		eq[y] += float64(m.X[i*m.Cols+j])
		mo[y] += float64(m.X[i*m.Cols+k])
		cnt[y]++
	}
	if eq[1]/cnt[1]-eq[0]/cnt[0] < 0.2 || mo[0]/cnt[0]-mo[1]/cnt[1] < 0.2 {
		t.Errorf("churn signal too weak: eqpdays z %v vs %v, months z %v vs %v",
			eq[1]/cnt[1], eq[0]/cnt[0], mo[1]/cnt[1], mo[0]/cnt[0])
	}
}

// ensures no category needs CSV quoting, as Generate writes them raw.
func TestGenerateCategoriesNeedNoQuotes(t *testing.T) {
	for _, c := range pdkCategorical {
		for _, v := range c.Categories {
			if strings.ContainsAny(v, ",\"\r\n") {
				t.Errorf("category %q of %s needs quoting", v, c.Name)
			}
		}
	}
}

// ensures the committed synthetic sample is Generate's output for its seed.
func TestSyntheticSampleFile(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "testdata", "pdk-churn", "synthetic.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOARCH != "amd64" {
		t.Skipf("sample written on amd64; %s may round math functions differently",
			runtime.GOARCH)
	}
	if want := generated(t, 100, 42); !bytes.Equal(got, want) {
		t.Error("testdata/pdk-churn/synthetic.csv differs from Generate(100, 42); " +
			"regenerate it as testdata/pdk-churn/README.md says")
	}
}
