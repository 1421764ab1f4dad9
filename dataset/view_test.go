package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// viewTable loads n random rows of tinySpec's columns, with missing ages
// and fees and plans outside the categories.
func viewTable(t *testing.T, n int) *Table {
	t.Helper()
	r := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString("age,fee,plan,churn\n")
	plans := []string{"basic", "pro", "gold", "", "pro"}
	for range n {
		age := fmt.Sprint(r.IntN(70) + 18)
		if r.IntN(6) == 0 {
			age = "NA"
		}
		fee := fmt.Sprintf("%.3f", r.Float64()*9)
		if r.IntN(7) == 0 {
			fee = ""
		}
		label := []string{"Yes", "No"}[r.IntN(2)]
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", age, fee, plans[r.IntN(len(plans))], label)
	}
	tab, _, err := LoadReaders(tinySpec(t), true, Source{Name: "v.csv",
		R: strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// ensures the tables Split gives (views of the loaded table) preprocess to
// exactly the whole table's rows at the split's indices, with the same
// labels and counts, both for a spec the table was loaded with and for one
// whose categories come in another order (the lookup path).
func TestPreprocessViews(t *testing.T) {
	tab := viewTable(t, 300)
	trIdx, vaIdx, err := splitIndices(tab.Len(), 0.3, 9)
	if err != nil {
		t.Fatal(err)
	}
	tr, va, err := Split(tab, 0.3, 9)
	if err != nil {
		t.Fatal(err)
	}
	reordered, err := ReadSpec(strings.NewReader(strings.Replace(tinySpecJSON,
		`["basic", "pro"]`, `["pro", "gold", "basic"]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []*Spec{tinySpec(t), reordered} {
		wholeRep, partRep := NewReport(spec), NewReport(spec)
		whole, err := Preprocess(spec, tab, wholeRep)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			tab *Table
			idx []int
		}{{tr, trIdx}, {va, vaIdx}} {
			m, err := Preprocess(spec, part.tab, partRep)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, m, whole, part.idx)
		}
		for name, n := range wholeRep.Missing {
			if partRep.Missing[name] != n {
				t.Errorf("missing %s: %d over the views, %d in the table",
					name, partRep.Missing[name], n)
			}
		}
		if wholeRep.Unseen["plan"] == 0 || partRep.Unseen["plan"] != wholeRep.Unseen["plan"] {
			t.Errorf("unseen plans: %d over the views, %d in the table",
				partRep.Unseen["plan"], wholeRep.Unseen["plan"])
		}
	}
}

// checkRows fails unless row k of m is row idx[k] of whole, bit for bit,
// with its label.
func checkRows(t *testing.T, m, whole *Matrix, idx []int) {
	t.Helper()
	if m.Rows != len(idx) || m.Cols != whole.Cols || len(m.Y) != len(idx) {
		t.Fatalf("view: %dx%d with %d labels, want %dx%d", m.Rows, m.Cols, len(m.Y),
			len(idx), whole.Cols)
	}
	for k, i := range idx {
		if !slices.Equal(m.Row(k), whole.Row(i)) || m.Y[k] != whole.Y[i] {
			t.Fatalf("view row %d = %v (label %v), want table row %d = %v (label %v)",
				k, m.Row(k), m.Y[k], i, whole.Row(i), whole.Y[i])
		}
	}
}

// ensures a view's accessors, a view of a view and Concat of views read
// the viewed rows, in the view's order.
func TestViewAccessors(t *testing.T) {
	tab := viewTable(t, 50)
	tr, va, err := Split(tab, 0.2, 3)
	if err != nil {
		t.Fatal(err)
	}
	trIdx, vaIdx, _ := splitIndices(tab.Len(), 0.2, 3)
	sub := tr.subset([]int{7, 0, 3})
	subIdx := []int{trIdx[7], trIdx[0], trIdx[3]}
	joined, err := Concat(va, sub)
	if err != nil {
		t.Fatal(err)
	}
	ages, _ := tab.Numeric("age")
	plans, _ := tab.Categorical("plan")
	labels := tab.Labels()
	for _, v := range []struct {
		name string
		tab  *Table
		idx  []int
	}{{"train", tr, trIdx}, {"view of a view", sub, subIdx},
		{"concat", joined, append(slices.Clone(vaIdx), subIdx...)}} {
		gotAge, _ := v.tab.Numeric("age")
		gotPlan, _ := v.tab.Categorical("plan")
		gotLabel, pos := v.tab.Labels(), 0
		if v.tab.Len() != len(v.idx) || len(gotAge) != len(v.idx) {
			t.Fatalf("%s: %d rows (%d ages), want %d", v.name, v.tab.Len(), len(gotAge),
				len(v.idx))
		}
		for k, i := range v.idx {
			if math.Float64bits(gotAge[k]) != math.Float64bits(ages[i]) ||
				gotPlan[k] != plans[i] || gotLabel[k] != labels[i] {
				t.Errorf("%s row %d: age %v plan %q label %v, want row %d: %v %q %v",
					v.name, k, gotAge[k], gotPlan[k], gotLabel[k], i, ages[i], plans[i], labels[i])
			}
			if labels[i] == 1 {
				pos++
			}
		}
		if v.tab.Positives() != pos {
			t.Errorf("%s: Positives = %d, want %d", v.name, v.tab.Positives(), pos)
		}
	}
}
