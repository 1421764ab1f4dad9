package serve

// Attacks on the V1 fast path (table_fast.go). Each body is read by the
// fast path and by the general decoder: the fast path may give up, but
// when it takes a body the general path must take it too, with the same
// output and the same matrix bit for bit.

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// fastWant is what an attack requires of the fast path.
type fastWant int

const (
	mayTake    fastWant = iota // taking or giving up are both fine
	mustTake                   // the body is in the fast path's subset
	mustGiveUp                 // the body is outside it
)

// attack is one body and what the fast path must do with it.
type attack struct {
	body string
	want fastWant
}

// agree reads body through st's fast path and through the general path
// on a fresh state, and fails on any disagreement or when the fast path
// does not do what want requires. It then runs inputsV1 on st and checks
// its answer against the general path's. It reports whether the fast
// path took the body.
func agree(t *testing.T, st *reqState, m *Model, body string, want fastWant) bool {
	t.Helper()
	wantOut, wantX, wantErr := general(m, body)
	out, got, ok := st.fastV1(m, body)
	switch {
	case ok && wantErr != nil:
		t.Fatalf("fast path took %.300q, general path refuses it: %v", body, wantErr)
	case ok && out != wantOut:
		t.Fatalf("%.300q: fast output %d, general %d", body, out, wantOut)
	case ok:
		sameBits(t, body, got, wantX)
	case want == mustTake:
		t.Fatalf("fast path gave up on %.300q (general error: %v)", body, wantErr)
	}
	if want == mustGiveUp && ok {
		t.Fatalf("fast path took %.300q", body)
	}
	out, x, err := st.inputsV1(m, body)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("inputsV1 error %v, general error %v; body %.300q", err, wantErr, body)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("inputsV1 error %q, general %q", err, wantErr)
	case err == nil && out != wantOut:
		t.Fatalf("inputsV1 output %d, general %d", out, wantOut)
	case err == nil:
		sameBits(t, body, x, wantX)
	}
	return ok
}

// keyedTable writes a columns table of recs in which column h lists the
// rows keys(h) gives (indexes into recs), in that order.
func keyedTable(header []string, recs [][]string, keys func(h string) []int) string {
	return writeTable(header, recs, "instances", keys, nil)
}

// upTo returns 0, 1, ..., n-1.
func upTo(n int) []int {
	k := make([]int, n)
	for i := range k {
		k[i] = i
	}
	return k
}

// colKeys returns keys for keyedTable: k for column col, 0..n-1 for the
// others.
func colKeys(n int, col string, k []int) func(string) []int {
	return func(h string) []int {
		if h == col {
			return k
		}
		return upTo(n)
	}
}

// columnAs returns an edit for columnsBody that writes to as every value
// of column col.
func columnAs(col, to string) func(string, int, string) string {
	return func(h string, _ int, v string) string {
		if h == col {
			return to
		}
		return v
	}
}

// envelope writes instances as the list of a V1 body.
func envelope(instances ...string) string {
	return `{"instances":[` + strings.Join(instances, ",") + "]}"
}

// attackKit holds the fixture pieces the attack builders splice bodies
// from.
type attackKit struct {
	header []string
	rows   [][]string
	base   string // a three-row columns table
	list   string // base's table instance
	rlist  string // two row objects
}

// newAttackKit cuts the pieces of an attackKit from f.
func newAttackKit(t *testing.T, f *fixture) *attackKit {
	t.Helper()
	base := columnsBody(f.header, f.valRows[:3], "instances", nil)
	rows := v1Rows(t, f.header, f.valRows[3:5], "")
	return &attackKit{header: f.header, rows: f.valRows, base: base,
		list: unwrap(base), rlist: unwrap(rows)}
}

// table writes a columns table of the first n rows with edit applied.
func (k *attackKit) table(n int, edit func(string, int, string) string) string {
	return columnsBody(k.header, k.rows[:n], "instances", edit)
}

// set writes base with the value of column col in row row replaced by to.
func (k *attackKit) set(col string, row int, to string) string {
	return k.table(3, setValue(col, row, to))
}

// keyed writes a table of the first n rows whose column h lists keys(h).
func (k *attackKit) keyed(n int, keys func(string) []int) string {
	return keyedTable(k.header, k.rows[:n], keys)
}

// tableWith writes base with members put first in its data object.
func (k *attackKit) tableWith(members string) string {
	return strings.Replace(k.base, `{"data":{`, `{"data":{`+members, 1)
}

// rowsWith writes the two row objects with members put first in the
// first.
func (k *attackKit) rowsWith(members string) string {
	return envelope(strings.Replace(k.rlist, `{`, `{`+members, 1))
}

// withParams writes base with the parameters member params put first.
func (k *attackKit) withParams(params string) string {
	return `{"parameters":` + params + "," + k.base[1:]
}

// tableWithout returns base's table instance with column col left out.
func (k *attackKit) tableWithout(col string) string {
	at := slices.Index(k.header, col)
	hd := slices.Delete(slices.Clone(k.header), at, at+1)
	recs := make([][]string, 3)
	for i, rec := range k.rows[:3] {
		recs[i] = slices.Delete(slices.Clone(rec), at, at+1)
	}
	return unwrap(columnsBody(hd, recs, "instances", nil))
}

// keyAttacks returns tables of many rows and tables whose row keys are
// out of order, missing, repeated or not plain integers.
func keyAttacks(k *attackKit) map[string]attack {
	swapped := upTo(12)
	swapped[2], swapped[10] = 10, 2
	firstCol := k.header[0] // rev_Mean, a numeric model column
	return map[string]attack{
		"12 rows":          {k.table(12, nil), mustTake},
		"150 rows":         {k.table(150, nil), mustTake},
		"keys 10 before 2": {k.keyed(12, func(string) []int { return swapped }), mustGiveUp},
		"sparse keys":      {k.keyed(4, func(string) []int { return []int{0, 1, 3} }), mustGiveUp},
		"first col short":  {k.keyed(3, colKeys(3, firstCol, upTo(2))), mustGiveUp},
		"later col short":  {k.keyed(3, colKeys(3, "months", []int{0, 1})), mustGiveUp},
		"later col long":   {k.keyed(4, colKeys(3, "months", upTo(4))), mustGiveUp},
		"label short":      {k.keyed(3, colKeys(3, "churn", []int{1})), mustTake},
		"label keys odd": {strings.Replace(k.base, `"churn":{"0":`, `"churn":{"x":1,"0":`, 1),
			mustTake},
		"label empty":    {k.keyed(3, colKeys(3, "churn", nil)), mustTake},
		"row key twice":  {strings.Replace(k.base, `"1":`, `"0":1,"1":`, 1), mustGiveUp},
		"row key spaced": {strings.ReplaceAll(k.base, `"1":`, `"1" :`), mustTake},
		"row key padded": {strings.Replace(k.base, `"1":`, `" 1":`, 1), mustGiveUp},
		"row key 1.0":    {strings.Replace(k.base, `"1":`, `"1.0":`, 1), mustGiveUp},
		"row key -0":     {strings.Replace(k.base, `"0":`, `"-0":`, 1), mustGiveUp},
	}
}

// instanceAttacks returns lists that mix tables, row objects and
// instances that are neither.
func instanceAttacks(k *attackKit) map[string]attack {
	list, rlist := k.list, k.rlist
	open := list[:len(list)-1] // the table instance without its closing brace
	return map[string]attack{
		"two tables":              {envelope(list, list), mustTake},
		"table then rows":         {envelope(list, rlist), mustTake},
		"rows then table":         {envelope(rlist, list), mustTake},
		"empty row then table":    {envelope("{}", list), mustTake},
		"table, empty table":      {envelope(list, `{"data":{}}`), mustGiveUp},
		"table, label-only table": {envelope(list, `{"data":{"churn":{"0":1}}}`), mustGiveUp},
		"second table no months":  {envelope(list, k.tableWithout("months")), mustTake},
		"row without months":      {envelope(list, `{"rev_Mean":3}`), mustTake},
		"data not first":          {envelope(`{"x":1,"data":{}}`), mustGiveUp}, // a row
		"data and more":           {envelope(open + `,"x":1}`), mustGiveUp},
		"data null":               {envelope(list, `{"data":null}`), mustGiveUp},
		"data twice":              {envelope(open + "," + list[1:]), mustGiveUp},
	}
}

// duplicateAttacks returns bodies with a member named twice, where the
// general decoder's rule for duplicates decides the answer.
func duplicateAttacks(k *attackKit) map[string]attack {
	base := k.base
	open := base[:len(base)-1] // the body without its closing brace
	probs := `"output":"probabilities"`
	return map[string]attack{
		"instances twice":      {open + `,"instances":[` + k.list + "]}", mustGiveUp},
		"parameters twice":     {k.withParams(`null,"parameters":{` + probs + "}"), mustGiveUp},
		"output twice":         {k.withParams(`{"output":"labels",` + probs + "}"), mustGiveUp},
		"unknown col twice":    {k.tableWith(`"x":{"0":1},"x":{"0":"a"},`), mustTake},
		"label twice":          {k.tableWith(`"churn":{"0":1},`), mustTake},
		"model col twice":      {k.tableWith(`"months":{"0":1,"1":2,"2":3},`), mustGiveUp},
		"row unknown twice":    {k.rowsWith(`"z":1,"z":"a",`), mustTake},
		"row col twice":        {k.rowsWith(`"months":1,`), mustGiveUp},
		"instances and inputs": {open + `,"inputs":[` + k.list + "]}", mustGiveUp},
		"inputs":               {columnsBody(k.header, k.rows[:3], "inputs", nil), mustTake},
	}
}

// escapeAttacks returns bodies with escapes and control bytes in keys and
// strings.
func escapeAttacks(k *attackKit) map[string]attack {
	months := func(key string) string { return strings.Replace(k.base, `"months":`, key, 1) }
	return map[string]attack{
		"escaped model key":   {months(`"mo\u006eths":`), mustGiveUp},
		"slash model key":     {months(`"months\/":`), mustGiveUp},
		"escaped unknown key": {k.tableWith(`"a\"b":{"0":1},`), mustGiveUp},
		"escaped envelope":    {`{"instance\u0073":[` + k.list + "]}", mustGiveUp},
		"value escapes":       {k.set("area", 1, `"A\/B\n\t\\\"\b\f\r"`), mustTake},
		"value \\u category":  {k.set("area", 1, `"\u0059"`), mustGiveUp},
		"value \\u unknown":   {k.set("churn", 1, `"\u00e9"`), mustGiveUp},
		"value bad escape":    {k.set("area", 1, `"\x"`), mustGiveUp},
		"value escaped quote": {k.set("area", 1, `"\""`), mustTake},
		"value escape at end": {k.set("area", 1, `"\`), mustGiveUp},
		"label escapes":       {k.set("churn", 0, `"\/\\"`), mustTake},
		"row unknown escapes": {k.rowsWith(`"note":"a\"b\\","n2":"\/",`), mustTake},
		"control in value":    {k.set("area", 1, "\"a\x01b\""), mustGiveUp},
		"tab in value":        {k.set("area", 1, "\"a\tb\""), mustGiveUp},
		"DEL in value":        {k.set("area", 1, "\"a\x7fb\""), mustTake},
	}
}

// utf8Attacks returns bodies with good and bad UTF-8 in keys and strings.
func utf8Attacks(k *attackKit) map[string]attack {
	return map[string]attack{
		"bad utf-8 category": {k.set("area", 1, "\"\xff\""), mustGiveUp},
		"bad utf-8 label":    {k.set("churn", 1, "\"\xc3\""), mustGiveUp},
		"bad utf-8 key":      {k.tableWith("\"\xfe\":{\"0\":1},"), mustGiveUp},
		"overlong utf-8":     {k.set("area", 1, "\"\xc0\xaf\""), mustGiveUp},
		"surrogate utf-8":    {k.set("area", 1, "\"\xed\xa0\x80\""), mustGiveUp},
		"good utf-8":         {k.set("area", 1, `"Zürich 北"`), mustTake},
		"good utf-8 key":     {k.tableWith(`"é":{"0":1},`), mustTake},
		"utf-8 U+2028":       {k.set("area", 1, "\"a\u2028b\""), mustTake},
		"escape + utf-8":     {k.set("area", 1, `"\/é"`), mustTake},
		"escape + bad utf-8": {k.set("area", 1, "\"\\/\xff\""), mustGiveUp},
	}
}

// valueAttacks returns nulls, strings, numbers and booleans in numeric
// and categorical columns.
func valueAttacks(k *attackKit) map[string]attack {
	return map[string]attack{
		"null category":    {k.set("area", 0, "null"), mustTake},
		"null numeric":     {k.set("months", 0, "null"), mustTake},
		"all null column":  {k.table(3, columnAs("area", "null")), mustTake},
		"string null cat":  {k.set("area", 0, `"null"`), mustTake},
		"string NA cat":    {k.set("area", 0, `"NA"`), mustTake},
		"empty string cat": {k.set("area", 0, `""`), mustTake},
		"number cat 1.0":   {k.set("area", 0, "1.0"), mustTake},
		"number cat 1":     {k.set("area", 0, "1"), mustTake},
		"number cat -0":    {k.set("area", 0, "-0"), mustTake},
		"number cat 1e2":   {k.set("area", 0, "1e2"), mustTake},
		"number cat long":  {k.set("area", 0, "123456789012345678901234"), mustTake},
		"string numeric":   {k.set("months", 0, `"3"`), mustGiveUp},
		"bool numeric":     {k.set("months", 0, "false"), mustGiveUp},
		"bool category":    {k.set("area", 0, "true"), mustGiveUp},
	}
}

// numberAttacks returns numeric values at the edges of the decimal fast
// conversion, of float32 and of float64.
func numberAttacks(k *attackKit) map[string]attack {
	big := "340000000000000000000000000000000000000" // just past float32's range
	return map[string]attack{
		"-0 numeric":       {k.set("months", 0, "-0"), mustTake},
		"-0.0 numeric":     {k.set("months", 0, "-0.0"), mustTake},
		"0e0 numeric":      {k.set("months", 0, "-0e-0"), mustTake},
		"exp numeric":      {k.set("months", 0, "1.5E+1"), mustTake},
		"tiny numeric":     {k.set("months", 0, "1e-400"), mayTake},
		"long numeric":     {k.set("months", 0, "12345678901234567890.123456789"), mustTake},
		"2^53 numeric":     {k.set("months", 0, "9007199254740992"), mustTake},
		"2^53+1 numeric":   {k.set("months", 0, "9007199254740993"), mustTake},
		"22 frac digits":   {k.set("months", 0, "0.0000000000000000000001"), mustTake},
		"19 digits":        {k.set("months", 0, "1234567890.123456789"), mustTake},
		"float32 edge":     {k.set("blck_dat_Mean", 0, big), mustGiveUp},
		"float32 edge exp": {k.set("months", 0, "1e40"), mustGiveUp},
		"float64 overflow": {k.set("months", 0, "1e309"), mustGiveUp},
	}
}

// malformedNumberAttacks returns numeric values outside JSON's grammar.
func malformedNumberAttacks(k *attackKit) map[string]attack {
	bodies := make(map[string]attack)
	for name, v := range map[string]string{
		"leading zero": "01", "trailing dot": "1.", "plus sign": "+1", "bare dot": ".5",
		"bare minus": "-", "hex": "0x10", "NaN literal": "NaN", "exp no digits": "1e+",
		"nul": "nul", "nullx": "nullx",
	} {
		bodies[name] = attack{k.set("months", 0, v), mustGiveUp}
	}
	return bodies
}

// nestedAttacks returns columns and row members whose values are arrays,
// objects or bare scalars where the fast path expects otherwise.
func nestedAttacks(k *attackKit) map[string]attack {
	list := strings.Replace(k.base, `"months":{"0":`, `"months":[`, 1)
	return map[string]attack{
		"unknown array col":  {k.tableWith(`"x":[1,2,3],`), mustGiveUp},
		"unknown scalar col": {k.tableWith(`"x":5,`), mustGiveUp},
		"unknown nested":     {k.tableWith(`"x":{"0":{"a":1}},`), mustGiveUp},
		"row unknown nested": {k.rowsWith(`"x":{"a":[1]},`), mustGiveUp},
		"row unknown bools":  {k.rowsWith(`"x":true,"y":false,"z":null,"w":-1.5e-3,`), mustTake},
		"model col list":     {list, mustGiveUp},
	}
}

// whitespaceAttacks returns bodies with JSON's whitespace everywhere and
// with bytes that look like whitespace but are not JSON's.
func whitespaceAttacks(k *attackKit) map[string]attack {
	base := k.base
	return map[string]attack{
		"spaces everywhere": {spaceOut(base, " \t\r\n"), mustTake},
		"lead/trail space":  {"\n\t " + base + " \r\n", mustTake},
		"form feed":         {"\f" + base, mustGiveUp},
		"vertical tab":      {strings.Replace(base, ":", ":\v", 1), mustGiveUp},
		"NUL space":         {base + "\x00", mustGiveUp},
		"nbsp":              {strings.Replace(base, ":", ":\u00a0", 1), mustGiveUp},
	}
}

// garbageAttacks returns bodies with trailing bytes, stray commas, empty
// or wrongly typed envelopes, and cut-off text; the fast path takes none.
func garbageAttacks(k *attackKit) map[string]attack {
	base := k.base
	bodies := make(map[string]attack)
	for name, body := range map[string]string{
		"trailing brace":  base + "}",
		"trailing comma":  base[:len(base)-1] + ",}",
		"inst trailing ,": envelope(k.list + ","),
		"col trailing ,":  strings.Replace(base, "}}]}", ",}}]}", 1),
		"two bodies":      base + base,
		"empty":           "",
		"space only":      "  ",
		"null body":       "null",
		"array body":      "[" + base + "]",
		"empty object":    "{}",
		"instances null":  `{"instances":null}`,
		"instances obj":   `{"instances":{}}`,
		"instance null":   `{"instances":[null]}`,
		"instance list":   `{"instances":[[]]}`,
		"only empty rows": `{"instances":[{},{}]}`,
		"bom":             "\xef\xbb\xbf" + base,
		"truncated":       base[:len(base)/2],
	} {
		bodies[name] = attack{body, mustGiveUp}
	}
	return bodies
}

// paramAttacks returns parameters in other places, spellings and types.
func paramAttacks(k *attackKit) map[string]attack {
	base := k.base
	after := base[:len(base)-1] + `,"parameters":{"output":"probabilities"}}`
	spaced := `{ "parameters" : { "output" : "probabilities" } , ` + base[1:]
	return map[string]attack{
		"params after":       {after, mustTake},
		"params spaced":      {spaced, mustTake},
		"params output 1":    {k.withParams(`{"output":1}`), mustGiveUp},
		"params escaped":     {k.withParams(`{"output":"prob\u0061bilities"}`), mustGiveUp},
		"params list":        {k.withParams(`[]`), mustGiveUp},
		"params output list": {k.withParams(`{"output":["labels"]}`), mustGiveUp},
		"params other first": {k.withParams(`{"x":1,"output":"labels"}`), mustGiveUp},
		"params PROB":        {k.withParams(`{"output":"Probabilities"}`), mustGiveUp},
	}
}

// attackBodies returns every attack by name; it fails on a name two
// builders share.
func attackBodies(t *testing.T, f *fixture) map[string]attack {
	k := newAttackKit(t, f)
	all := make(map[string]attack)
	for _, build := range []func(*attackKit) map[string]attack{
		keyAttacks, instanceAttacks, duplicateAttacks, escapeAttacks, utf8Attacks,
		valueAttacks, numberAttacks, malformedNumberAttacks, nestedAttacks,
		whitespaceAttacks, garbageAttacks, paramAttacks,
	} {
		for name, a := range build(k) {
			if _, dup := all[name]; dup {
				t.Fatalf("attack %q built twice", name)
			}
			all[name] = a
		}
	}
	return all
}

// spaceOut puts ws around every structural byte and before every string
// of a body written without spaces.
func spaceOut(body, ws string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if in {
			b.WriteByte(c)
			if c == '\\' {
				i++
				b.WriteByte(body[i])
			} else if c == '"' {
				in = false
			}
			continue
		}
		switch c {
		case '"':
			in = true
			b.WriteString(ws)
			b.WriteByte(c)
		case '{', '}', '[', ']', ',', ':':
			b.WriteString(ws + string(c) + ws)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Ensures the fast path takes, refuses or matches the general decoder on
// each attack body, read on a fresh state and on one state shared by all
// of them (in map order, so the sequence varies per run).
func TestFastV1Attacks(t *testing.T) {
	f := trained(t)
	shared := new(reqState)
	for name, a := range attackBodies(t, f) {
		t.Run(name, func(t *testing.T) {
			agree(t, new(reqState), f.model, a.body, a.want)
			agree(t, shared, f.model, a.body, a.want)
		})
	}
}

// Ensures a state keeps up with a big table (keys well past 9), then a
// small one, then thousands of row objects, then a table again, growing
// past the room it kept from the previous read.
func TestFastV1ManyRows(t *testing.T) {
	f := trained(t)
	st := new(reqState)
	n := len(f.valRows)
	agree(t, st, f.model, columnsBody(f.header, f.valRows[:n], "instances", nil), mustTake)
	agree(t, st, f.model, columnsBody(f.header, f.valRows[:1], "instances", nil), mustTake)
	one := v1Rows(t, f.header, f.valRows[:1], "")
	many := one[:len(one)-2] + strings.Repeat(",{}", 5000) + "]}"
	agree(t, st, f.model, many, mustTake)
	agree(t, st, f.model, columnsBody(f.header, f.valRows[:11], "instances", nil), mustTake)
}

// Ensures one pooled state reads bodies of different shapes and sizes in
// a seeded random order, with bodies only the general path takes (or
// refuses) in between, as a fresh state would.
func TestFastV1StateSequence(t *testing.T) {
	f := trained(t)
	rows := f.valRows
	rev, revRows := reversed(f.header, rows, 20)
	bodies := []string{
		columnsBody(f.header, rows[:150], "instances", nil),
		columnsBody(f.header, rows[:1], "instances", nil),
		columnsBody(rev, revRows, "instances", nil),
		v1Rows(t, f.header, rows[:9], OutputProbabilities),
		v1Rows(t, f.header, rows[5:6], ""),
		tableBody(f.header, rows[:4], []int{0, 1, 2, 3}), // reverse keys: general only
		`{"instances":[{"months":1}]}`,                   // a general error
		columnsBody(f.header, rows[:33], "instances", everyThird("null")),
	}
	reads := 200
	if testing.Short() {
		reads = 50 // -race is slow on the 150-row table
	}
	st := new(reqState)
	rng := rand.New(rand.NewSource(5))
	for range reads {
		agree(t, st, f.model, bodies[rng.Intn(len(bodies))], mayTake)
	}
}

// subsetModel builds a second model whose columns are a reordered subset
// of spec's, with a seeded untrained network.
func subsetModel(t *testing.T, spec *dataset.Spec) *Model {
	t.Helper()
	s := &dataset.Spec{Label: spec.Label, Positive: spec.Positive, Negative: spec.Negative}
	for _, c := range slices.Backward(spec.Numeric[40:]) {
		s.Numeric = append(s.Numeric, c)
	}
	s.Categorical = append(s.Categorical, spec.Categorical[7], spec.Categorical[2])
	s.Inputs = s.DeriveInputs()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.Config{Inputs: s.Width(), Hidden: 4, LR: 1e-3, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(s, net, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Ensures a model swap between reads of one pooled state is harmless: the
// column order and marks the state remembers belong to the previous
// model.
func TestFastV1ModelSwap(t *testing.T) {
	f := trained(t)
	other := subsetModel(t, f.spec)
	table := columnsBody(f.header, f.valRows[:5], "instances", nil)
	rows := v1Rows(t, f.header, f.valRows[:3], "")
	st := new(reqState)
	for range 6 {
		for _, m := range []*Model{f.model, other, other, f.model} {
			agree(t, st, m, table, mustTake)
			agree(t, st, m, rows, mustTake)
		}
	}
}

// mutate applies one to three seeded random edits to body: a byte cut, a
// token put in, or a stretch of up to 40 bytes repeated.
func mutate(rng *rand.Rand, body []byte, tokens []string) []byte {
	for range 1 + rng.Intn(3) {
		p := rng.Intn(len(body))
		switch rng.Intn(3) {
		case 0:
			body = append(body[:p], body[p+1:]...)
		case 1:
			body = slices.Insert(body, p, []byte(tokens[rng.Intn(len(tokens))])...)
		default:
			q := p + rng.Intn(min(40, len(body)-p))
			body = slices.Insert(body, q, body[p:q]...)
		}
	}
	return body
}

// Ensures random edits of good bodies, all read through one shared state
// (FuzzDecodeV1 uses a fresh state each time), never make the fast path
// disagree with the general one, and that some of them still take it.
func TestFastV1Mutations(t *testing.T) {
	f := trained(t)
	seeds := []string{
		columnsBody(f.header, f.valRows[:3], "instances", nil),
		columnsBody(f.header, f.valRows[:12], "instances", everyThird("null")),
		v1Rows(t, f.header, f.valRows[:2], OutputProbabilities),
	}
	tokens := []string{`"`, `\`, `{`, `}`, `[`, `]`, `,`, `:`, "0", "1", "-", ".", "e", " ",
		"null", `"0":`, `"10":`, `"data":`, `"months":`, `"area":`, "\xff", `\u0041`, `"x"`}
	n := 3000
	if testing.Short() {
		n = 500
	}
	st := new(reqState)
	rng := rand.New(rand.NewSource(11))
	taken := 0
	for range n {
		body := mutate(rng, []byte(seeds[rng.Intn(len(seeds))]), tokens)
		if agree(t, st, f.model, string(body), mayTake) {
			taken++
		}
	}
	if taken == 0 {
		t.Errorf("the fast path took none of %d mutated bodies", n)
	}
}

// sameFloats reports whether a and b hold the same bits.
func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y)
	})
}

// Ensures several pooled states can read bodies with unseen categories at
// once through one model (run with -race: the shared parser and category
// lists must only be read).
func TestFastV1ParallelStates(t *testing.T) {
	f := trained(t)
	bodies := []string{
		columnsBody(f.header, f.valRows[:20], "instances", setValue("area", 3, `"Nowhere"`)),
		columnsBody(f.header, f.valRows[:5], "instances", setValue("ethnic", 1, `"Zé"`)),
	}
	want := make([]*dataset.Matrix, len(bodies))
	for i, b := range bodies {
		_, x, err := general(f.model, b)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = x
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			st := new(reqState)
			for i := range 50 {
				k := (g + i) % len(bodies)
				_, x, ok := st.fastV1(f.model, bodies[k])
				if !ok {
					t.Errorf("goroutine %d, body %d: the fast path gave up", g, k)
					return
				}
				if !sameFloats(x.X, want[k].X) {
					t.Errorf("goroutine %d, body %d: matrix differs", g, k)
					return
				}
			}
		})
	}
	wg.Wait()
}
