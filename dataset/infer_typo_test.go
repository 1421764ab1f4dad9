package dataset

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// typoCSV has 80 rows: tenure numeric but for the value bad on line
// badLine (0 for none), plan categorical with numeric-looking codes, and
// a Yes/No label.
func typoCSV(bad string, badLine int) string {
	var b strings.Builder
	b.WriteString("tenure,plan,churn\n")
	for i := range 80 {
		tenure := fmt.Sprint(i % 72)
		if i+2 == badLine {
			tenure = bad
		}
		plan := []string{"10", "20", "basic", "pro"}[i%4]
		label := []string{"No", "Yes", "No"}[i%3]
		fmt.Fprintf(&b, "%s,%s,%s\n", tenure, plan, label)
	}
	return b.String()
}

// ensures one stray text value in a numeric column is an error at its
// file, line and column, not a silent switch to categories; a column
// with many text values stays categorical.
func TestInferNearlyNumericColumn(t *testing.T) {
	opts := InferOptions{Label: "churn", Positive: "Yes", Seed: 1}
	for _, tc := range []struct{ value, want string }{
		{"ten", `dataset: textnum.csv:11: column "tenure": value "ten": not a number ` +
			`(79 of the column's 80 values are numbers;`},
		{"Inf", `dataset: textnum.csv:11: column "tenure": value "Inf": not a finite number`},
		{"1e400", `dataset: textnum.csv:11: column "tenure": value "1e400": not a finite number`},
	} {
		_, _, err := Infer(opts, Source{Name: "textnum.csv",
			R: strings.NewReader(typoCSV(tc.value, 11))})
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrNotNumber) || pe.Line != 11 ||
			!strings.HasPrefix(err.Error(), tc.want) {
			t.Fatalf("%q: Infer: %v, want a ParseError at line 11 starting %q", tc.value, err,
				tc.want)
		}
	}
	spec, _, err := Infer(opts, Source{Name: "ok.csv", R: strings.NewReader(typoCSV("", 0))})
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Numeric) != 1 || spec.Numeric[0].Name != "tenure" ||
		len(spec.Categorical) != 1 || spec.Categorical[0].Name != "plan" ||
		strings.Join(spec.Categorical[0].Categories, " ") != "10 20 basic pro" {
		t.Fatalf("spec %+v %+v, want tenure numeric and plan categorical", spec.Numeric,
			spec.Categorical)
	}
}

// ensures an empty Positive is picked from the label's two values, and
// that a label that cannot tell, or lacks the value asked for, is a typed
// error.
func TestInferPicksPositive(t *testing.T) {
	src := func(labels ...string) Source {
		var b strings.Builder
		b.WriteString("x,churn\n")
		for i := range 20 {
			fmt.Fprintf(&b, "%d,%s\n", i, labels[i%len(labels)])
		}
		return Source{Name: "l.csv", R: strings.NewReader(b.String())}
	}
	for _, tc := range []struct {
		labels        []string
		pos, neg      string
		wantErr       error
		wantErrSubstr string
	}{
		{[]string{"No", "Yes"}, "Yes", "No", nil, ""},
		{[]string{"0", "1"}, "1", "0", nil, ""},
		{[]string{"TRUE", "FALSE"}, "TRUE", "FALSE", nil, ""},
		{[]string{"stay", "leave"}, "", "", ErrNoPositive, `label "churn" holds ["stay" "leave"]`},
		{[]string{"1", "yes"}, "", "", ErrNoPositive, `holds ["1" "yes"]`},
		{[]string{"No", "Yes", "y"}, "", "", ErrNoPositive, `holds ["No" "Yes" "y"]`},
	} {
		spec, _, err := Infer(InferOptions{Label: "churn"}, src(tc.labels...))
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantErrSubstr) {
				t.Errorf("%v: Infer: %v, want %v mentioning %s", tc.labels, err, tc.wantErr,
					tc.wantErrSubstr)
			}
			continue
		}
		if err != nil || spec.Positive != tc.pos || spec.Negative != tc.neg {
			t.Errorf("%v: Infer: %v, %+v; want positive %q negative %q", tc.labels, err,
				spec, tc.pos, tc.neg)
		}
	}
	_, _, err := Infer(InferOptions{Label: "churn", Positive: "1"}, src("No", "Yes"))
	want := `dataset: infer: label "churn": never has the positive value "1" (it holds ["No" "Yes"])`
	if !errors.Is(err, ErrPositiveAbsent) || err == nil || err.Error() != want {
		t.Fatalf("Infer: %v, want %s", err, want)
	}
}

// ensures a spec that is not valid JSON for a Spec says "json:" once.
func TestReadSpecJSONErrorOnce(t *testing.T) {
	_, err := ReadSpec(strings.NewReader(`{"label": 3}`))
	want := "dataset: spec: json: cannot unmarshal number into Go struct field Spec.label " +
		"of type string"
	if !errors.Is(err, ErrInvalidSpec) || err.Error() != want {
		t.Fatalf("ReadSpec: %v, want %s", err, want)
	}
}
