package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func tinySpec(t testing.TB) *Spec {
	t.Helper()
	s, err := ReadSpec(strings.NewReader(tinySpecJSON))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeFile writes content to name in a temporary folder and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ensures Load parses values, keeps labels, marks missing numbers NaN and
// reports files, hashes and label counts; columns are found by name.
func TestLoadGood(t *testing.T) {
	spec := tinySpec(t)
	a := "id,plan,age,fee,churn\n1,pro,30,1.5,Yes\n2,basic,NA,,No\n"
	b := "churn,fee,age,plan\nNo,3,50, \n"
	pa, pb := writeFile(t, "a.csv", a), writeFile(t, "b.csv", b)
	tab, rep, err := Load(spec, true, pa, pb)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if tab.Len() != 3 || !tab.HasLabel() {
		t.Fatalf("Len() = %d, HasLabel() = %v; want 3, true", tab.Len(), tab.HasLabel())
	}
	age, _ := tab.Numeric("age")
	if age[0] != 30 || !math.IsNaN(age[1]) || age[2] != 50 {
		t.Errorf("age = %v, want [30 NaN 50]", age)
	}
	fee, _ := tab.Numeric("fee")
	if fee[0] != 1.5 || !math.IsNaN(fee[1]) || fee[2] != 3 {
		t.Errorf("fee = %v, want [1.5 NaN 3]", fee)
	}
	plan, _ := tab.Categorical("plan")
	if !slices.Equal(plan, []string{"pro", "basic", " "}) {
		t.Errorf("plan = %q, want [pro basic \" \"]", plan)
	}
	if y := tab.Labels(); len(y) != 3 || y[0] != 1 || y[1] != 0 || y[2] != 0 {
		t.Errorf("Labels() = %v, want [1 0 0]", y)
	}
	want := []FileStat{
		{Name: pa, Rows: 2, Bytes: int64(len(a)), SHA256: sha(a)},
		{Name: pb, Rows: 1, Bytes: int64(len(b)), SHA256: sha(b)},
	}
	if len(rep.Files) != 2 || rep.Files[0] != want[0] || rep.Files[1] != want[1] {
		t.Errorf("Report.Files = %+v, want %+v", rep.Files, want)
	}
	if rep.Rows != 3 || rep.Positives != 1 || rep.Negatives != 2 || !rep.HasLabel {
		t.Errorf("Report rows %d, positives %d, negatives %d; want 3, 1, 2",
			rep.Rows, rep.Positives, rep.Negatives)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// ensures the label is optional when not required, and then absent.
func TestLoadWithoutLabel(t *testing.T) {
	spec := tinySpec(t)
	tab, rep, err := LoadReaders(spec, false,
		Source{Name: "mem", R: strings.NewReader("age,fee,plan\n1,2,pro\n")})
	if err != nil {
		t.Fatalf("LoadReaders: %v", err)
	}
	if tab.HasLabel() || tab.Labels() != nil || rep.HasLabel {
		t.Errorf("HasLabel() = %v, Report.HasLabel = %v; want false", tab.HasLabel(), rep.HasLabel)
	}
	if rep.Files[0].Name != "mem" || rep.Files[0].Rows != 1 {
		t.Errorf("Report.Files = %+v, want mem with 1 row", rep.Files)
	}
}

// ensures every kind of bad file fails with a typed error naming the file
// and, where there is one, the line and column.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, csv string
		label     bool
		sentinel  error
		line      int
		column    string
	}{
		{"empty file", "", true, ErrEmpty, 0, ""},
		{"header only", "age,fee,plan,churn\n", true, ErrEmpty, 0, ""},
		{"missing column", "age,plan,churn\n1,pro,No\n", true, ErrMissingColumn, 0, "fee"},
		{"no label", "age,fee,plan\n1,2,pro\n", true, ErrMissingColumn, 0, "churn"},
		{"duplicate column", "age,fee,age,plan,churn\n1,2,3,pro,No\n", true,
			ErrDuplicateColumn, 0, "age"},
		{"not a number", "age,fee,plan,churn\n1,2,pro,No\n\n3,x2,pro,No\n", true,
			ErrNotNumber, 4, "fee"},
		{"infinite", "age,fee,plan,churn\n1,2,pro,No\n1,Inf,pro,No\n", true,
			ErrNotNumber, 3, "fee"},
		{"hexadecimal", "age,fee,plan,churn\n0x10,2,pro,No\n", true, ErrNotNumber, 2, "age"},
		{"number after a quoted line break", "age,fee,plan,churn\n1,2,\"a\nb\",No\n1,?,pro,No\n",
			true, ErrNotNumber, 4, "fee"},
		{"bad label", "age,fee,plan,churn\n1,2,pro,No\n1,2,pro,yes\n", true, ErrBadLabel, 3,
			"churn"},
		{"missing label", "age,fee,plan,churn\n1,2,pro,\n", true, ErrBadLabel, 2, "churn"},
		{"bad label when optional", "age,fee,plan,churn\n1,2,pro,maybe\n", false, ErrBadLabel, 2,
			"churn"},
		{"field count", "age,fee,plan,churn\n1,2,pro,No\n1,2,pro\n", true, ErrMalformed, 3, ""},
		{"bare quote", "age,fee,plan,churn\n1,2,p\"ro,No\n", true, ErrMalformed, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "in.csv", tt.csv)
			_, _, err := Load(tinySpec(t), tt.label, path)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("Load: err = %v, want a *ParseError wrapping %v", err, tt.sentinel)
			}
			if pe.Source != path || pe.Line != tt.line || pe.Column != tt.column {
				t.Errorf("Load: at %s:%d column %q, want %s:%d column %q",
					pe.Source, pe.Line, pe.Column, path, tt.line, tt.column)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "dataset: "+path) ||
				(tt.column != "" && !strings.Contains(msg, `"`+tt.column+`"`)) {
				t.Errorf("Load: message %q does not name the file and column", msg)
			}
		})
	}
}

// ensures Load with no paths and with an absent file fails clearly.
func TestLoadNoInput(t *testing.T) {
	if _, _, err := Load(tinySpec(t), true); !errors.Is(err, ErrNoInput) {
		t.Errorf("Load() = %v, want ErrNoInput", err)
	}
	missing := filepath.Join(t.TempDir(), "nope.csv")
	_, _, err := Load(tinySpec(t), true, missing)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(absent) = %v, want ErrNotExist naming the file", err)
	}
}

// ensures FromRecords parses request rows and names the row and column of
// bad ones.
func TestFromRecords(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "age", "fee", "extra"}
	tab, err := FromRecords(spec, "request", header, [][]string{
		{"pro", "30", "1", "x"}, {"gold", "", "2", "y"},
	})
	if err != nil {
		t.Fatalf("FromRecords: %v", err)
	}
	age, _ := tab.Numeric("age")
	if tab.Len() != 2 || tab.HasLabel() || age[0] != 30 || !math.IsNaN(age[1]) {
		t.Errorf("FromRecords: len %d, label %v, age %v", tab.Len(), tab.HasLabel(), age)
	}
	tests := []struct {
		name     string
		header   []string
		records  [][]string
		sentinel error
		row      int
		column   string
	}{
		{"no rows", header, nil, ErrEmpty, -1, ""},
		{"short row", header, [][]string{{"pro", "1", "2", "x"}, {"pro"}}, ErrRowLength, 1, ""},
		{"missing column", []string{"plan", "age"}, [][]string{{"pro", "1"}},
			ErrMissingColumn, -1, "fee"},
		{"not a number", header, [][]string{{"pro", "1", "2", "x"}, {"pro", "1", "2", "x"},
			{"pro", "old", "2", "x"}}, ErrNotNumber, 2, "age"},
		{"bad label", []string{"plan", "age", "fee", "churn"}, [][]string{{"pro", "1", "2", "0"}},
			ErrBadLabel, 0, "churn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromRecords(spec, "request", tt.header, tt.records)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tt.sentinel) {
				t.Fatalf("FromRecords: err = %v, want a *ParseError wrapping %v", err, tt.sentinel)
			}
			if pe.Source != "request" || pe.Row != tt.row || pe.Column != tt.column || pe.Line != 0 {
				t.Errorf("FromRecords: %s row %d column %q line %d, want request row %d column %q",
					pe.Source, pe.Row, pe.Column, pe.Line, tt.row, tt.column)
			}
			if tt.row >= 0 && !strings.Contains(err.Error(), "row "+strconv.Itoa(tt.row)) {
				t.Errorf("FromRecords: message %q does not name row %d", err, tt.row)
			}
		})
	}
}

// ensures IsMissing follows pandas' default markers and nothing else.
func TestIsMissing(t *testing.T) {
	for _, s := range []string{"", "NA", "NaN", "nan", "N/A", "NULL", "null", "None", "<NA>"} {
		if !IsMissing(s) {
			t.Errorf("IsMissing(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"0", " ", "na", "none", "-", "missing"} {
		if IsMissing(s) {
			t.Errorf("IsMissing(%q) = true, want false", s)
		}
	}
}

// ensures a RecordParser checks its header once, parses like FromRecords,
// keeps its own copy of the spec and gives tables that preprocess as
// FromRecords' do, unseen categories included.
func TestRecordParser(t *testing.T) {
	spec := tinySpec(t)
	header := []string{"plan", "age", "fee", "churn"}
	p, err := NewRecordParser(spec, "request", header)
	if err != nil {
		t.Fatalf("NewRecordParser: %v", err)
	}
	recs := [][]string{{"pro", "30", "1", "Yes"}, {"gold", "NA", "2", "No"},
		{"basic", "1.5", "", "No"}, {"gold", "2", "3", "No"}}
	spec.Categorical[0].Categories[0] = "changed" // the parser kept its copy
	got, err := p.Parse(recs)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want, err := FromRecords(tinySpec(t), "request", header, recs)
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := got.Categorical("plan")
	if !slices.Equal(plan, []string{"pro", "gold", "basic", "gold"}) || !got.HasLabel() {
		t.Errorf("Parse: plan %q, label %v", plan, got.HasLabel())
	}
	mg, err := Preprocess(tinySpec(t), got, nil)
	if err != nil {
		t.Fatal(err)
	}
	mw, _ := Preprocess(tinySpec(t), want, nil)
	for i := range mw.X {
		if mg.X[i] != mw.X[i] && !(mg.X[i] != mg.X[i] && mw.X[i] != mw.X[i]) {
			t.Fatalf("X[%d] = %v, FromRecords gives %v", i, mg.X[i], mw.X[i])
		}
	}
	if _, err := p.Parse([][]string{{"pro", "x", "1", "Yes"}}); !errors.Is(err, ErrNotNumber) ||
		!strings.Contains(err.Error(), `request: row 0: column "age": value "x"`) {
		t.Errorf("Parse(bad age) = %v", err)
	}
	if _, err := NewRecordParser(spec, "request", []string{"age"}); !errors.Is(err,
		ErrMissingColumn) {
		t.Errorf("NewRecordParser(no fee) = %v, want ErrMissingColumn", err)
	}
}

// ensures more distinct unseen values than a scan handles, and more rows
// than a file's first row promised, load right.
func TestLoadManyUnseenValues(t *testing.T) {
	var b strings.Builder
	b.WriteString("age,fee,plan,churn\n")
	for i := range 3000 {
		b.WriteString(strconv.Itoa(i) + ",1,p" + strconv.Itoa(i%40) + ",No\n")
	}
	tab, rep, err := LoadReaders(tinySpec(t), true,
		Source{Name: "m.csv", R: strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := tab.Categorical("plan")
	age, _ := tab.Numeric("age")
	if tab.Len() != 3000 || plan[2999] != "p39" || plan[40] != "p0" || age[2999] != 2999 {
		t.Fatalf("len %d, plan[2999] %q, plan[40] %q, age[2999] %v", tab.Len(), plan[2999],
			plan[40], age[2999])
	}
	if _, err := Preprocess(tinySpec(t), tab, rep); err != nil || rep.Unseen["plan"] != 3000 {
		t.Errorf("Preprocess: %v, unseen %v; want 3000", err, rep.Unseen)
	}
}
