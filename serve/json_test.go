package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// toAny converts a parsed value to what encoding/json with UseNumber gives.
func toAny(t *tree, n node) any {
	switch n.kind {
	case kNull:
		return nil
	case kTrue:
		return true
	case kFalse:
		return false
	case kNumber:
		return json.Number(t.text(n))
	case kString:
		return t.text(n)
	case kArray:
		out := []any{}
		for _, c := range t.children(n) {
			out = append(out, toAny(t, c))
		}
		return out
	default:
		out := map[string]any{}
		for _, c := range t.children(n) {
			out[t.key(c)] = toAny(t, c)
		}
		return out
	}
}

// stdDecode decodes with encoding/json, numbers kept as text; json.Valid
// decides what is JSON (a Decoder alone would accept "0 ]").
func stdDecode(b []byte) (any, error) {
	if !json.Valid(b) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

var jsonSeeds = []string{
	`{"instances":[{"data":{"a":{"0":1.5,"1":-0.0}}}]}`, `[1, 2e5, -3E-2, 0]`, `"a\u00e9\n"`,
	`{"a":null,"b":true,"c":false}`, `01`, `1.`, `-`, `"\x"`, `{"a" 1}`, `[1,]`, `"é"`,
	`{"a":1,"a":2}`, ` [ ] `, `{}x`, `"\ud800"`, "\"\xff\"", `1e`, `-0.5e+3`, `[[[[]]]]`,
}

// Ensures the request parser accepts exactly the JSON encoding/json
// accepts (up to its nesting limit) and decodes the same values.
func FuzzTreeParse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > maxDepth {
			t.Skip("deeper than the parser's limit")
		}
		var tr tree
		root, err := tr.parse(string(b))
		want, stdErr := stdDecode(b)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("parse(%q): error %v, encoding/json error %v", b, err, stdErr)
		}
		if err != nil {
			return
		}
		if got := toAny(&tr, root); !reflect.DeepEqual(got, want) {
			t.Fatalf("parse(%q) = %#v, encoding/json %#v", b, got, want)
		}
	})
}

// Ensures the seeds alone check parse against encoding/json in a plain
// test run, and that nesting beyond the limit is refused.
func TestTreeParseSeeds(t *testing.T) {
	for _, s := range jsonSeeds {
		var tr tree
		root, err := tr.parse(s)
		want, stdErr := stdDecode([]byte(s))
		if (err == nil) != (stdErr == nil) {
			t.Errorf("parse(%q): error %v, encoding/json error %v", s, err, stdErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(toAny(&tr, root), want) {
			t.Errorf("parse(%q) = %#v, want %#v", s, toAny(&tr, root), want)
		}
	}
	var tr tree
	if _, err := tr.parse(strings.Repeat("[", 65) + strings.Repeat("]", 65)); err == nil ||
		!strings.Contains(err.Error(), "nesting deeper than 64") {
		t.Errorf("65 levels: %v, want a nesting error", err)
	}
}

// decodeSeeds adds the JSON seeds, bodies of both protocols and the
// hostile corpus bodies under 1 KiB to f's corpus.
func decodeSeeds(f *testing.F, fx *fixture) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	body, _ := V1Body(fx.header, fx.valRows[:2], "")
	f.Add(string(body))
	f.Add(tableBody(fx.header, fx.valRows[:3], []int{0, 1, 2}))
	f.Add(`{"inputs":[{"name":"months","datatype":"INT64","shape":[2,1],"data":[[1],[2]]}]}`)
	for _, h := range hostileCorpus(f, fx) {
		if len(h.body) < 1<<10 {
			f.Add(h.body)
		}
	}
}

// Ensures no V1 body makes the decoder or the preprocessing panic, every
// refusal is a 400, and the fast path takes only bodies the general
// decoder takes, with the same inputs bit for bit.
func FuzzDecodeV1(f *testing.F) {
	fx := trained(f)
	decodeSeeds(f, fx)
	f.Add(columnsBody(fx.header, fx.valRows[:3], "instances", nil))
	f.Fuzz(func(t *testing.T, s string) {
		if _, _, err := general(fx.model, s); err != nil && StatusOf(err) != 400 {
			t.Fatalf("V1 %q: %v (status %d)", s, err, StatusOf(err))
		}
		agree(t, new(reqState), fx.model, s, mayTake)
	})
}

// Ensures no V2 body makes the decoder or the preprocessing panic, and
// every refusal is a 400.
func FuzzDecodeV2(f *testing.F) {
	fx := trained(f)
	decodeSeeds(f, fx)
	f.Fuzz(func(t *testing.T, s string) {
		st := new(reqState)
		if _, err := st.decodeV2(fx.model, s); err != nil && StatusOf(err) != 400 {
			t.Fatalf("V2 %q: %v (status %d)", s, err, StatusOf(err))
		}
	})
}
