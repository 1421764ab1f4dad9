package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// inferCSV builds a table of n rows: a numeric column with a missing value
// every 7 rows, a 0/1 column, a categorical column, an identifier and a
// constant; the label alternates Yes/No.
func inferCSV(n int) string {
	var b strings.Builder
	b.WriteString("id,spend,flag,plan,const,churn\n")
	plans := []string{"pro", "basic", "gold", ""}
	for i := range n {
		spend := fmt.Sprint(float64(i*i%97) / 4)
		if i%7 == 3 {
			spend = "NA"
		}
		label := "No"
		if i%3 == 0 {
			label = "Yes"
		}
		fmt.Fprintf(&b, "c%04d,%s,%d,%s,5,%s\n", i, spend, i%2, plans[i%4], label)
	}
	return b.String()
}

// ensures Infer types the columns, fits the training rows only, sorts
// categories, drops identifiers and constants and finds the negative value.
func TestInfer(t *testing.T) {
	const n = 200
	text := inferCSV(n)
	spec, rep, err := Infer(InferOptions{Label: "churn", Positive: "Yes", MaxCategories: 10,
		Seed: 3}, Source{Name: "in.csv", R: strings.NewReader(text)})
	if err != nil {
		t.Fatalf("Infer: %v", err)
	}
	if spec.Negative != "No" {
		t.Errorf("Negative = %q, want No", spec.Negative)
	}
	wantInputs := []string{"spend", "flag", "plan_basic", "plan_gold", "plan_pro"}
	if !slices.Equal(spec.Inputs, wantInputs) {
		t.Errorf("Inputs = %q, want %q", spec.Inputs, wantInputs)
	}
	if len(rep.Dropped) != 2 || rep.Dropped[0].Column != "id" || rep.Dropped[1].Column != "const" {
		t.Errorf("Dropped = %+v, want id then const", rep.Dropped)
	}
	if rep.Rows != n || rep.TrainRows != n-int(math.Ceil(0.2*n)) {
		t.Errorf("Rows, TrainRows = %d, %d; want %d, %d", rep.Rows, rep.TrainRows, n, 160)
	}
	// The figures are those of the training rows Split gives for the seed.
	tab, _, err := LoadReaders(spec, true, Source{Name: "in.csv", R: strings.NewReader(text)})
	if err != nil {
		t.Fatal(err)
	}
	train, _, err := Split(tab, 0.2, 3)
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := train.Numeric("spend")
	var sum, cnt float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			sum += v
			cnt++
		}
	}
	mean := sum / cnt
	var ss float64
	for _, v := range vals {
		if !math.IsNaN(v) {
			ss += (v - mean) * (v - mean)
		}
	}
	std := math.Sqrt(ss / (cnt - 1))
	const tol = 1e-12
	got := spec.Numeric[0]
	if math.Abs(got.Mean-mean) > tol*mean || math.Abs(got.Std-std) > tol*std {
		t.Errorf("spend mean, std = %v, %v; training rows give %v, %v",
			got.Mean, got.Std, mean, std)
	}
}

// ensures Infer's label errors name the file, line and column.
func TestInferLabelErrors(t *testing.T) {
	tests := []struct {
		name, csv, negative string
		line                int
	}{
		{"three values", "x,churn\n1,Yes\n2,No\n3,Maybe\n", "", 4},
		{"not the negative", "x,churn\n1,Yes\n2,No\n3,Maybe\n", "Maybe", 3},
		{"missing label", "x,churn\n1,Yes\n2,\n", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Infer(InferOptions{Label: "churn", Positive: "Yes", Negative: tt.negative},
				Source{Name: "a.csv", R: strings.NewReader("x,churn\n0,Yes\n")},
				Source{Name: "b.csv", R: strings.NewReader(tt.csv)})
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadLabel) {
				t.Fatalf("Infer: %v, want a *ParseError wrapping ErrBadLabel", err)
			}
			if pe.Source != "b.csv" || pe.Line != tt.line || pe.Column != "churn" {
				t.Errorf("Infer: at %s:%d %q, want b.csv:%d churn", pe.Source, pe.Line, pe.Column,
					tt.line)
			}
		})
	}
	one := Source{Name: "one.csv", R: strings.NewReader("x,churn\n1,Yes\n2,Yes\n")}
	if _, _, err := Infer(InferOptions{Label: "churn", Positive: "Yes"}, one); err == nil ||
		!strings.Contains(err.Error(), "negative") {
		t.Errorf("Infer(one label value) = %v, want an error asking for the negative value", err)
	}
	nolabel := Source{Name: "n.csv", R: strings.NewReader("x,y\n1,Yes\n")}
	_, _, err := Infer(InferOptions{Label: "churn", Positive: "Yes"}, nolabel)
	if !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), "n.csv") {
		t.Errorf("Infer(no label column) = %v, want ErrMissingColumn naming n.csv", err)
	}
}

// ensures the committed telco spec is what Infer gives for the committed
// telco table with the documented options.
func TestTelcoFeaturesFile(t *testing.T) {
	dir := filepath.Join("..", "testdata", "telco")
	f, err := os.Open(filepath.Join(dir, "wa_churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec, rep, err := Infer(InferOptions{Label: "churn", Positive: "Yes", TestSize: 0.2,
		Seed: 42}, Source{Name: "wa_churn.csv", R: f})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := spec.Encode(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "features.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("testdata/telco/features.json differs from Infer's output; regenerate it " +
			"as testdata/telco/README.md says")
	}
	if rep.Rows != 7043 || len(rep.Dropped) != 0 || spec.Width() != 40 {
		t.Errorf("telco: %d rows, dropped %v, width %d; want 7043, none, 40",
			rep.Rows, rep.Dropped, spec.Width())
	}
	tab, lrep, err := Load(spec, true, filepath.Join(dir, "wa_churn.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Preprocess(spec, tab, lrep); err != nil {
		t.Fatal(err)
	}
	if lrep.Positives != 1869 || lrep.Missing["total_charges"] != 11 || len(lrep.Unseen) != 0 {
		t.Errorf("telco: positives %d, missing %v, unseen %v; want 1869, total_charges 11, none",
			lrep.Positives, lrep.Missing, lrep.Unseen)
	}
}
