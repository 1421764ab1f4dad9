package serve

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/dataset"
)

// columnsBody builds a pandas columns table of rows recs (laid out as
// header), keys in order, in the envelope field list, with edit applied
// to each value's JSON text (column name and row given).
func columnsBody(header []string, recs [][]string, list string,
	edit func(col string, row int, v string) string) string {
	all := upTo(len(recs))
	return writeTable(header, recs, list, func(string) []int { return all }, edit)
}

// writeTable writes a columns table of recs in the envelope field list:
// column h lists the rows keys(h) gives (indexes into recs, which are
// also their keys), in that order; edit, when set, rewrites each value's
// JSON text.
func writeTable(header []string, recs [][]string, list string, keys func(h string) []int,
	edit func(col string, row int, v string) string) string {
	var b strings.Builder
	b.WriteString(`{"` + list + `":[{"data":{`)
	for j, h := range header {
		if j > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Quote(h) + ":{")
		for n, i := range keys(h) {
			if n > 0 {
				b.WriteString(",")
			}
			v := string(appendValue(nil, recs[i][j]))
			if edit != nil {
				v = edit(h, i, v)
			}
			b.WriteString(`"` + strconv.Itoa(i) + `":` + v)
		}
		b.WriteString("}")
	}
	b.WriteString("}}]}")
	return b.String()
}

// general decodes body through the parse tree and preprocesses it.
func general(m *Model, body string) (output, *dataset.Matrix, error) {
	st := new(reqState)
	out, err := st.decodeV1(m, body)
	if err != nil {
		return 0, nil, err
	}
	x, err := st.matrix()
	if err != nil {
		return 0, nil, err
	}
	return out, &dataset.Matrix{Rows: x.Rows, Cols: x.Cols, X: slices.Clone(x.X)}, nil
}

// sameBits reports the first input where a and b differ in their bits.
func sameBits(t *testing.T, body string, got, want *dataset.Matrix) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols {
		t.Fatalf("fast path gives %dx%d, general %dx%d",
			got.Rows, got.Cols, want.Rows, want.Cols)
	}
	for k := range want.X {
		if math.Float32bits(got.X[k]) != math.Float32bits(want.X[k]) {
			t.Fatalf("input %d (row %d, col %d): fast %v, general %v; body %.200q",
				k, k/want.Cols, k%want.Cols, got.X[k], want.X[k], body)
		}
	}
}

// v1Rows writes recs as a V1 body of row objects through V1Body.
func v1Rows(t testing.TB, header []string, recs [][]string, output string) string {
	t.Helper()
	b, err := V1Body(header, recs, output)
	if err != nil {
		t.Fatalf("V1Body: %v", err)
	}
	return string(b)
}

// unwrap returns the instances of a body written as {"instances":[...]},
// without the envelope, so that tests can splice them into other bodies.
func unwrap(body string) string {
	return body[len(`{"instances":[`) : len(body)-2]
}

// reversed returns header and the first n of recs with their columns in
// reverse order.
func reversed(header []string, recs [][]string, n int) ([]string, [][]string) {
	rev := slices.Clone(header)
	slices.Reverse(rev)
	revRows := make([][]string, n)
	for i, rec := range recs[:n] {
		revRows[i] = slices.Clone(rec)
		slices.Reverse(revRows[i])
	}
	return rev, revRows
}

// setValue returns an edit for columnsBody that writes to as the value of
// column col in row row and keeps every other value.
func setValue(col string, row int, to string) func(string, int, string) string {
	return func(h string, i int, v string) string {
		if h == col && i == row {
			return to
		}
		return v
	}
}

// Ensures the fast path takes the tables clients send and preprocesses
// them bit for bit as the general decoder does, on a fresh state, on the
// same state again and on one state shared by every body.
func TestFastV1MatchesGeneral(t *testing.T) {
	f := trained(t)
	bodies := tableBodies(f)
	maps.Copy(bodies, rowBodies(t, f))
	if b, err := os.ReadFile(filepath.Join(sharedDir(), "data", "pdk-churn",
		"request_v1_sample.json")); err == nil {
		bodies["original"] = string(b)
	}
	shared := new(reqState) // reused by every body, in map order
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			wantOut, want, err := general(f.model, body)
			if err != nil {
				t.Fatalf("general path: %v", err)
			}
			st := new(reqState)
			for i, st := range []*reqState{st, st, shared} { // fresh, reused, shared
				out, got, ok := st.fastV1(f.model, body)
				if !ok {
					t.Fatalf("read %d: the fast path gave up on %.300q", i, body)
				}
				if out != wantOut {
					t.Fatalf("read %d: output %d, general path %d", i, out, wantOut)
				}
				sameBits(t, body, got, want)
			}
		})
	}
}

// tableBodies returns columns tables the fast path must take: sizes,
// layouts and the value forms pandas and hand-written clients produce.
func tableBodies(f *fixture) map[string]string {
	rows := f.valRows
	tbl := func(n int, edit func(string, int, string) string) string {
		return columnsBody(f.header, rows[:n], "instances", edit)
	}
	rev, revRows := reversed(f.header, rows, 5) // a shared state meets both orders
	return map[string]string{
		"10 rows":  tbl(10, nil),
		"1 row":    tbl(1, nil),
		"37 rows":  tbl(37, nil),
		"inputs":   columnsBody(f.header, rows[:3], "inputs", nil),
		"spaced":   strings.ReplaceAll(tbl(3, nil), ":", " :\n\t"),
		"nulls":    tbl(4, everyThird("null")),
		"exponent": tbl(4, numbersAs("%se0")),
		"long": tbl(4, func(_ string, _ int, v string) string {
			if strings.Contains(v, ".") && !strings.ContainsAny(v, `"eE`) {
				return v + "00000000000000000001" // past 19 digits
			}
			return v
		}),
		"escaped": tbl(4, func(_ string, _ int, v string) string {
			return strings.ReplaceAll(v, "/", `\/`)
		}),
		"number category": tbl(4, setValue("area", 1, "17")),
		"unseen category": tbl(4, func(col string, _ int, v string) string {
			if col == "ethnic" {
				return `"Zé"`
			}
			return v
		}),
		"reversed": columnsBody(rev, revRows, "instances", nil),
		// Each row of a column in another form: the plain-number loop hands
		// over to the general one at row 1, 2, 3 or 4 of some column.
		"mixed forms": tbl(6, func(_ string, row int, v string) string {
			if v == "" || v[0] == '"' {
				return v
			}
			switch row {
			case 1:
				return " " + v
			case 2:
				return v + "e0"
			case 3:
				return "null"
			case 4:
				return v + " "
			}
			return v
		}),
	}
}

// rowBodies returns bodies of row objects, parameters and mixed
// instances the fast path must take.
func rowBodies(t *testing.T, f *fixture) map[string]string {
	rows := f.valRows
	table := columnsBody(f.header, rows[:3], "instances", nil)
	two := v1Rows(t, f.header, rows[:2], "")
	sparse := two[:strings.Index(two, `"months"`)] + two[strings.Index(two, `"uniqsubs"`):]
	extras := `{"note":"x","flag":true,"n":null,"k":1.5e3,`
	return map[string]string{
		"rows":                v1Rows(t, f.header, rows[:7], ""),
		"rows, probabilities": v1Rows(t, f.header, rows[:2], OutputProbabilities),
		"rows, labels first":  `{"parameters":{"output":"labels"},` + two[1:],
		"parameters null":     `{"parameters":null,` + table[1:],
		"output null":         `{"parameters":{"output":null},` + table[1:],
		"parameters empty":    table[:len(table)-1] + `,"parameters":{}}`,
		"table then rows": `{"instances":[` + unwrap(table) + "," +
			unwrap(v1Rows(t, f.header, rows[3:5], "")) + "]}",
		"empty row":            `{"instances":[{},` + two[len(`{"instances":[`):],
		"row without a column": sparse,
		"row, label and extras": strings.ReplaceAll(strings.Replace(two, `[{`, "["+extras, 1),
			`},{`, "},"+extras),
	}
}

// everyThird replaces every third value with v.
func everyThird(v string) func(string, int, string) string {
	n := 0
	return func(_ string, _ int, old string) string {
		if n++; n%3 == 0 {
			return v
		}
		return old
	}
}

// numbersAs rewrites each plain decimal number through format.
func numbersAs(format string) func(string, int, string) string {
	return func(_ string, _ int, v string) string {
		if v == "" || v[0] == '"' || v == "null" || strings.ContainsAny(v, "eE") {
			return v
		}
		return strings.Replace(format, "%s", v, 1)
	}
}

// Ensures every body outside the fast path's subset is left to the
// general decoder, which then answers as it always did.
func TestFastV1GivesUp(t *testing.T) {
	f := trained(t)
	base := columnsBody(f.header, f.valRows[:3], "instances", nil)
	bodies := outsideShapes(base)
	maps.Copy(bodies, outsideValues(f, base))
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			if body == base {
				t.Fatal("the edit did not apply")
			}
			st := new(reqState)
			if _, _, ok := st.fastV1(f.model, body); ok {
				t.Fatalf("the fast path took %.300q", body)
			}
			_, _, wantErr := general(f.model, body)
			_, x, err := new(reqState).inputsV1(f.model, body)
			switch {
			case (err == nil) != (wantErr == nil):
				t.Fatalf("inputsV1 error %v, general path error %v", err, wantErr)
			case err != nil && err.Error() != wantErr.Error():
				t.Fatalf("inputsV1 error %q, general path %q", err, wantErr)
			case err == nil && x.Rows == 0:
				t.Fatal("no rows")
			}
		})
	}
}

// outsideShapes returns edits of base, a three-row table, whose envelope,
// instances or syntax lie outside the fast path's subset.
func outsideShapes(base string) map[string]string {
	return map[string]string{
		"unknown member":  `{"id":"7",` + base[1:],
		"other parameter": `{"parameters":{"output":"labels","x":1},` + base[1:],
		"bad output":      `{"parameters":{"output":"raw"},` + base[1:],
		"instances twice": base[:len(base)-1] + `,"inputs":[]}`,
		"no instances":    `{"instances":[]}`,
		"row with data":   `{"instances":[{"months":1,"data":{}}]}`,
		"row nested":      `{"instances":[{"months":[1]}]}`,
		"row key twice":   `{"instances":[{"months":1,"months":2}]}`,
		"table and more":  strings.Replace(base, `{"data":{`, `{"x":1,"data":{`, 1),
		"row objects":     `{"instances":[{"months":1}]}`,
		"trailing":        base + "x",
		"truncated":       base[:len(base)-2],
		"empty table":     `{"instances":[{"data":{}}]}`,
	}
}

// outsideValues returns edits of base, a three-row table of f's rows,
// whose row keys, columns or values lie outside the fast path's subset.
func outsideValues(f *fixture, base string) map[string]string {
	cut := strings.Index(base, `"months"`)
	noMonths := base[:cut] + base[strings.Index(base[cut:], "},")+cut+2:]
	dupMonths := `"months":{"0":1,"1":2,"2":3},`
	lastOfFirst := `,"2":` + string(appendValue(nil, f.valRows[2][0])) + "}"
	months := func(v string) string {
		return columnsBody(f.header, f.valRows[:3], "instances", setValue("months", 2, v))
	}
	second := strconv.Quote(f.header[1]) + ":{" // a column whose rows are set
	at := strings.Index(base, second) + len(second)
	end := at + strings.Index(base[at:], "}")
	return map[string]string{
		"short later column": base[:at+strings.LastIndex(base[at:end], ",")] + base[end:],
		"long later column":  base[:end] + `,"3":1` + base[end:],
		"later column row key": base[:at] + strings.Replace(base[at:end], `"1":`, `"2":`, 1) +
			base[end:],
		"key order":         strings.Replace(base, `"0":`, `"9":`, 1),
		"row key 01":        strings.Replace(base, `"1":`, `"01":`, 1),
		"short column":      strings.Replace(base, lastOfFirst, "}", 1),
		"missing column":    noMonths,
		"duplicate column":  strings.Replace(base, `{"data":{`, `{"data":{`+dupMonths, 1),
		"string for number": months(`"12"`),
		"boolean":           months("true"),
		"huge":              months("1e999"),
		"beyond float32":    months("1e300"),
		"unicode escape":    strings.Replace(base, `"area":{"0":"`, `"area":{"0":"\u0041`, 1),
		"bad utf-8":         strings.Replace(base, `"area":{"0":"`, "\"area\":{\"0\":\"\xff", 1),
	}
}
