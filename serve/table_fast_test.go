package serve

import (
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
	var b strings.Builder
	b.WriteString(`{"` + list + `":[{"data":{`)
	for j, h := range header {
		if j > 0 {
			b.WriteString(",")
		}
		b.WriteString(strconv.Quote(h) + ":{")
		for i, rec := range recs {
			if i > 0 {
				b.WriteString(",")
			}
			v := string(appendValue(nil, rec[j]))
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
		t.Fatalf("fast path gives %dx%d, general %dx%d", got.Rows, got.Cols, want.Rows, want.Cols)
	}
	for k := range want.X {
		if math.Float32bits(got.X[k]) != math.Float32bits(want.X[k]) {
			t.Fatalf("input %d (row %d, col %d): fast %v, general %v; body %.200q",
				k, k/want.Cols, k%want.Cols, got.X[k], want.X[k], body)
		}
	}
}

// Ensures the fast path takes the tables clients send and preprocesses
// them bit for bit as the general decoder does.
func TestFastV1MatchesGeneral(t *testing.T) {
	f := trained(t)
	rows := f.valRows
	bodies := map[string]string{
		"10 rows":  columnsBody(f.header, rows[:10], "instances", nil),
		"1 row":    columnsBody(f.header, rows[:1], "instances", nil),
		"37 rows":  columnsBody(f.header, rows[:37], "instances", nil),
		"inputs":   columnsBody(f.header, rows[:3], "inputs", nil),
		"spaced":   strings.ReplaceAll(columnsBody(f.header, rows[:3], "instances", nil), ":", " :\n\t"),
		"nulls":    columnsBody(f.header, rows[:4], "instances", everyThird("null")),
		"exponent": columnsBody(f.header, rows[:4], "instances", numbersAs("%se0")),
		"long": columnsBody(f.header, rows[:4], "instances", func(_ string, _ int, v string) string {
			if strings.Contains(v, ".") && !strings.ContainsAny(v, `"eE`) {
				return v + "00000000000000000001" // past 19 digits
			}
			return v
		}),
		"escaped": columnsBody(f.header, rows[:4], "instances", func(col string, i int, v string) string {
			return strings.ReplaceAll(v, "/", `\/`)
		}),
		"number category": columnsBody(f.header, rows[:4], "instances", func(col string, i int, v string) string {
			if col == "area" && i == 1 {
				return "17"
			}
			return v
		}),
		"unseen category": columnsBody(f.header, rows[:4], "instances", func(col string, i int, v string) string {
			if col == "ethnic" {
				return `"Zé"`
			}
			return v
		}),
	}
	rowBody := func(recs [][]string, output string) string {
		b, err := V1Body(f.header, recs, output)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	table := columnsBody(f.header, rows[:3], "instances", nil)
	list := table[len(`{"instances":[`) : len(table)-2]
	bodies["rows"] = rowBody(rows[:7], "")
	bodies["rows, probabilities"] = rowBody(rows[:2], OutputProbabilities)
	bodies["rows, labels first"] = `{"parameters":{"output":"labels"},` + rowBody(rows[:2], "")[1:]
	bodies["parameters null"] = `{"parameters":null,` + table[1:]
	bodies["output null"] = `{"parameters":{"output":null},` + table[1:]
	bodies["parameters empty"] = table[:len(table)-1] + `,"parameters":{}}`
	bodies["table then rows"] = `{"instances":[` + list + "," + rowBody(rows[3:5], "")[14:]
	bodies["empty row"] = `{"instances":[{},` + rowBody(rows[:2], "")[14:]
	sparse := rowBody(rows[:2], "")
	sparse = sparse[:strings.Index(sparse, `"months"`)] + sparse[strings.Index(sparse, `"uniqsubs"`):]
	bodies["row without a column"] = sparse
	extras := `{"note":"x","flag":true,"n":null,"k":1.5e3,`
	bodies["row, label and extras"] = strings.ReplaceAll(strings.Replace(rowBody(rows[:2], ""),
		`[{`, "["+extras, 1), `},{`, "},"+extras)
	if b, err := os.ReadFile(filepath.Join(sharedDir(), "data", "pdk-churn",
		"request_v1_sample.json")); err == nil {
		bodies["original"] = string(b)
	}
	// Columns in reverse order: the shared state below meets both orders.
	rev := slices.Clone(f.header)
	slices.Reverse(rev)
	revRows := make([][]string, 5)
	for i, rec := range rows[:5] {
		revRows[i] = slices.Clone(rec)
		slices.Reverse(revRows[i])
	}
	bodies["reversed"] = columnsBody(rev, revRows, "instances", nil)
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
	cut := strings.Index(base, `"months"`)
	noMonths := base[:cut] + base[strings.Index(base[cut:], "},")+cut+2:]
	numeric := func(v string) func(string, int, string) string {
		return func(col string, i int, old string) string {
			if col == "months" && i == 2 {
				return v
			}
			return old
		}
	}
	bodies := map[string]string{
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
		"key order":       strings.Replace(base, `"0":`, `"9":`, 1),
		"row key 01":      strings.Replace(base, `"1":`, `"01":`, 1),
		"short column": strings.Replace(base, `,"2":`+string(appendValue(nil, f.valRows[2][0]))+"}",
			"}", 1),
		"missing column":    noMonths,
		"duplicate column":  strings.Replace(base, `{"data":{`, `{"data":{"months":{"0":1,"1":2,"2":3},`, 1),
		"string for number": columnsBody(f.header, f.valRows[:3], "instances", numeric(`"12"`)),
		"boolean":           columnsBody(f.header, f.valRows[:3], "instances", numeric("true")),
		"huge":              columnsBody(f.header, f.valRows[:3], "instances", numeric("1e999")),
		"beyond float32":    columnsBody(f.header, f.valRows[:3], "instances", numeric("1e300")),
		"trailing":          base + "x",
		"truncated":         base[:len(base)-2],
		"empty table":       `{"instances":[{"data":{}}]}`,
		"unicode escape":    strings.Replace(base, `"area":{"0":"`, `"area":{"0":"\u0041`, 1),
		"bad utf-8":         strings.Replace(base, `"area":{"0":"`, "\"area\":{\"0\":\"\xff", 1),
	}
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
