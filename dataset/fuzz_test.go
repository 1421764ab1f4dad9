package dataset

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad ensures the CSV loader never panics, fails only with typed
// errors, and that what it loads preprocesses into a full matrix.
func FuzzLoad(f *testing.F) {
	f.Add("age,fee,plan,churn\n1,2,pro,Yes\n")
	f.Add("churn,plan,fee,age\nNo,basic,NA,3\nYes,,1e3,-2\n")
	f.Add("age,fee,plan,churn\n\"1\n\",2,pro,Yes\n")
	f.Add("age,fee,plan,churn\n0x1p3,inf,pro,No\n")
	f.Add("\ufeffage,fee,plan,churn,age\n1,2,3,4,5\n")
	f.Add("")
	spec := tinySpec(f)
	f.Fuzz(func(t *testing.T, text string) {
		tab, rep, err := LoadReaders(spec, true, Source{Name: "fuzz.csv", R: strings.NewReader(text)})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Source != "fuzz.csv" || pe.Unwrap() == nil {
				t.Fatalf("LoadReaders: untyped error %T: %v", err, err)
			}
			return
		}
		if rep.Rows != tab.Len() || rep.Positives+rep.Negatives != tab.Len() {
			t.Fatalf("report rows %d (+%d -%d), table %d", rep.Rows, rep.Positives,
				rep.Negatives, tab.Len())
		}
		m, err := Preprocess(spec, tab, rep)
		if err != nil {
			t.Fatalf("Preprocess after a good load: %v", err)
		}
		if len(m.X) != tab.Len()*spec.Width() || len(m.Y) != tab.Len() {
			t.Fatalf("matrix %d values, %d labels for %d rows", len(m.X), len(m.Y), tab.Len())
		}
		for i, v := range m.X {
			if v != v {
				t.Fatalf("X[%d] is NaN", i)
			}
		}
	})
}

// FuzzReadSpec ensures ReadSpec never panics, fails only with SpecErrors,
// and that a spec it accepts encodes and reads back the same.
func FuzzReadSpec(f *testing.F) {
	f.Add(tinySpecJSON)
	f.Add(`{"label":"y","positive":"1","negative":"0","numeric":[{"name":"a","mean":1,"std":0}]}`)
	f.Add(`{"label":"y","positive":"1","negative":"0","categorical":[{"name":"a",` +
		`"categories":["b","c"]}],"inputs":["a_b","a_c"]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ReadSpec(strings.NewReader(text))
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("ReadSpec: untyped error %T: %v", err, err)
			}
			return
		}
		var a, b strings.Builder
		if err := s.Encode(&a); err != nil {
			t.Fatal(err)
		}
		s2, err := ReadSpec(strings.NewReader(a.String()))
		if err != nil {
			t.Fatalf("ReadSpec(Encode(spec)): %v\n%s", err, a.String())
		}
		if err := s2.Encode(&b); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Fatalf("encode, read, encode changed the spec:\n%s\n%s", a.String(), b.String())
		}
		if len(s.Inputs) != s.Width() {
			t.Fatalf("Inputs has %d names, Width %d", len(s.Inputs), s.Width())
		}
	})
}
