package dataset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinySpecJSON is a valid spec with two numeric and one categorical column.
const tinySpecJSON = `{
  "label": "churn", "positive": "Yes", "negative": "No",
  "numeric": [{"name": "age", "mean": 40, "std": 10}, {"name": "fee", "mean": 1, "std": 2}],
  "categorical": [{"name": "plan", "categories": ["basic", "pro"]}]
}`

// ensures a valid spec reads, with Inputs derived and Width counting them.
func TestReadSpecDerivesInputs(t *testing.T) {
	s, err := ReadSpec(strings.NewReader(tinySpecJSON))
	if err != nil {
		t.Fatalf("ReadSpec: %v", err)
	}
	want := []string{"age", "fee", "plan_basic", "plan_pro"}
	if !slices.Equal(s.Inputs, want) {
		t.Errorf("Inputs = %q, want %q", s.Inputs, want)
	}
	if s.Width() != len(want) {
		t.Errorf("Width() = %d, want %d", s.Width(), len(want))
	}
	if s.Negative != "No" {
		t.Errorf("Negative = %q, want No", s.Negative)
	}
}

// ensures each invalid spec fails with ErrInvalidSpec naming the field.
func TestReadSpecErrors(t *testing.T) {
	cat := `"categorical": [{"name": "plan", "categories": ["basic", "pro"]}]`
	num := `"numeric": [{"name": "age", "mean": 40, "std": 10}]`
	lab := `"label": "churn", "positive": "Yes", "negative": "No"`
	tests := []struct {
		name, json, field string
	}{
		{"no label", `{"positive": "1", "negative": "0", ` + num + `}`, "label"},
		{"no negative", `{"label": "c", "positive": "1", ` + num + `}`, "negative"},
		{"same values", `{"label": "c", "positive": "1", "negative": "1", ` + num + `}`,
			"negative"},
		{"duplicate name", `{` + lab + `, "numeric": [{"name": "a", "mean": 0, "std": 1},
			{"name": "a", "mean": 0, "std": 1}]}`, "numeric[1].name"},
		{"numeric and categorical share a name", `{` + lab + `, ` + num +
			`, "categorical": [{"name": "age", "categories": ["x"]}]}`, "categorical[0].name"},
		{"zero std", `{` + lab + `, "numeric": [{"name": "a", "mean": 0, "std": 0}]}`,
			"numeric[0].std"},
		{"negative std", `{` + lab + `, "numeric": [{"name": "a", "mean": 0, "std": -1}]}`,
			"numeric[0].std"},
		{"label as feature", `{` + lab + `, "numeric": [{"name": "churn", "mean": 0, "std": 1}]}`,
			"numeric[0].name"},
		{"no categories", `{` + lab + `, "categorical": [{"name": "p", "categories": []}]}`,
			"categorical[0].categories"},
		{"empty category", `{` + lab + `, "categorical": [{"name": "p", "categories": [""]}]}`,
			"categorical[0].categories[0]"},
		{"duplicate category", `{` + lab +
			`, "categorical": [{"name": "p", "categories": ["a", "a"]}]}`,
			"categorical[0].categories[1]"},
		{"no columns", `{` + lab + `}`, "numeric"},
		{"inputs too short", `{` + lab + `, ` + num + `, ` + cat + `, "inputs": ["age"]}`,
			"inputs"},
		{"inputs out of order", `{` + lab + `, ` + num + `, ` + cat +
			`, "inputs": ["age", "plan_pro", "plan_basic"]}`, "inputs[1]"},
		{"colliding inputs", `{` + lab + `, "numeric": [{"name": "p_a", "mean": 0, "std": 1}],
			"categorical": [{"name": "p", "categories": ["a"]}]}`, "inputs[1]"},
		{"unknown field", `{` + lab + `, ` + num + `, "scale": 1}`, "json"},
		{"trailing data", `{` + lab + `, ` + num + `} {}`, "json"},
		{"not json", `label: churn`, "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSpec(strings.NewReader(tt.json))
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("ReadSpec: err = %v, want a *SpecError wrapping ErrInvalidSpec", err)
			}
			if se.Field != tt.field {
				t.Errorf("ReadSpec: field %q, want %q (%v)", se.Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("ReadSpec: message %q does not name %q", err, tt.field)
			}
		})
	}
}

// ensures WriteFile output reads back equal, and LoadSpec errors name the file.
func TestSpecFileRoundTrip(t *testing.T) {
	s, err := ReadSpec(strings.NewReader(tinySpecJSON))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "features.json")
	if err := s.WriteFile(path); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := LoadSpec(path)
	if err != nil {
		t.Fatalf("LoadSpec: %v", err)
	}
	var a, b bytes.Buffer
	if err := s.Encode(&a); err != nil {
		t.Fatal(err)
	}
	if err := got.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("round trip changed the spec:\n%s\nwant\n%s", b.String(), a.String())
	}
	if !strings.Contains(a.String(), "\n  \"label\": \"churn\",\n") {
		t.Errorf("Encode is not indented JSON:\n%s", a.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"label": "c"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadSpec(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("LoadSpec(%s) = %v, want an ErrInvalidSpec naming the file", bad, err)
	}
	s.Numeric[0].Std = 0
	if err := s.WriteFile(filepath.Join(t.TempDir(), "x.json")); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("WriteFile(invalid spec) = %v, want ErrInvalidSpec", err)
	}
}
