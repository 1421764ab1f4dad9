package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds a small strict JSON parser for request bodies. It builds a
// flat tree whose numbers keep their literal text (so a JSON number reaches
// dataset.FromRecords exactly as the same number in a CSV file would) and
// whose strings are substrings of the body where no unescaping is needed.
// It exists because the V1 body is a table of hundreds of small values and
// encoding/json's generic decoding of it costs more than the model does.
// It reads every V2 body and the V1 bodies the one-pass fast path
// (table_fast.go) leaves, and words every error about a body's shape.

// kind is the type of a JSON value.
type kind uint8

const (
	kNull kind = iota
	kFalse
	kTrue
	kNumber
	kString
	kArray
	kObject
)

// String names the kind as error messages do.
func (k kind) String() string {
	switch k {
	case kNull:
		return "null"
	case kFalse, kTrue:
		return "boolean"
	case kNumber:
		return "number"
	case kString:
		return "string"
	case kArray:
		return "array"
	default:
		return "object"
	}
}

// maxDepth bounds the nesting of arrays and objects a body may use.
const maxDepth = 64

// span locates a string: bytes off..off+n of the body, or, when the node
// says the string was unescaped, element off of the tree's strs.
type span struct{ off, n int32 }

// Flags of node.esc: the key or the text is an unescaped copy in tree.strs.
const (
	escKey uint8 = 1 << iota
	escText
)

// node is one JSON value. Children of arrays and objects are the nodes
// first..first+count-1 of the tree; object members carry their key. A node
// holds no pointers: its key and text are spans of the body, so building
// and copying a tree costs the garbage collector nothing.
type node struct {
	kind  kind
	esc   uint8
	key   span
	text  span // number literal or string
	first int32
	count int32
}

// tree is a parsed JSON document. The zero value is ready to parse.
type tree struct {
	src   string
	pos   int
	depth int
	nodes []node
	stack []node
	strs  []string // strings that needed unescaping
}

// key returns an object member's key.
func (t *tree) key(n node) string {
	if n.esc&escKey != 0 {
		return t.strs[n.key.off]
	}
	return t.src[n.key.off : n.key.off+n.key.n]
}

// text returns a number's literal or a string's value.
func (t *tree) text(n node) string {
	if n.esc&escText != 0 {
		return t.strs[n.text.off]
	}
	return t.src[n.text.off : n.text.off+n.text.n]
}

// syntaxError reports where a body stops being JSON.
type syntaxError struct {
	msg    string
	offset int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.msg, e.offset)
}

// parse parses src, which must hold exactly one JSON value, and returns
// its root. It reuses t's storage.
func (t *tree) parse(src string) (node, error) {
	if len(src) > math.MaxInt32 {
		return node{}, &syntaxError{msg: "body over 2 GiB", offset: 0}
	}
	t.src, t.pos, t.depth = src, 0, 0
	t.nodes, t.stack = t.nodes[:0], t.stack[:0]
	clear(t.strs)
	t.strs = t.strs[:0]
	if err := t.value(); err != nil {
		return node{}, err
	}
	root := t.stack[0]
	t.space()
	if t.pos < len(t.src) {
		return node{}, t.fail("invalid character after top-level value")
	}
	return root, nil
}

// children returns the members or elements of an array or object node.
func (t *tree) children(n node) []node {
	return t.nodes[n.first : n.first+n.count]
}

// member returns the object member named key, if any.
func (t *tree) member(n node, key string) (node, bool) {
	for _, m := range t.children(n) {
		if t.key(m) == key {
			return m, true
		}
	}
	return node{}, false
}

// duplicate returns an error naming the first key that object n (a
// request's envelope, found at field) holds twice: JSON leaves duplicates
// to the reader, and taking either silently would hide a client's bug.
// It compares every pair, so it is for objects with a handful of members.
func (t *tree) duplicate(n node, field string) error {
	kids := t.children(n)
	for i := range kids {
		for j := i + 1; j < len(kids); j++ {
			if t.key(kids[i]) == t.key(kids[j]) {
				return invalid("%s: key %q given twice", field, t.key(kids[i]))
			}
		}
	}
	return nil
}

func (t *tree) fail(msg string) error {
	if t.pos >= len(t.src) {
		return &syntaxError{msg: "unexpected end of JSON input", offset: t.pos}
	}
	return &syntaxError{msg: fmt.Sprintf("%s (%q)", msg, t.src[t.pos]), offset: t.pos}
}

func (t *tree) space() { t.pos = skipSpace(t.src, t.pos) }

// skipSpace returns the index of the first byte of s at or after i that
// is not JSON whitespace. Bodies written by machines mostly have none, so
// one comparison settles the common case.
func skipSpace(s string, i int) int {
	for i < len(s) && s[i] <= ' ' {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value parses one value and pushes its node on t.stack.
func (t *tree) value() error {
	t.space()
	if t.pos >= len(t.src) {
		return t.fail("")
	}
	switch c := t.src[t.pos]; {
	case c == '"':
		s, esc, err := t.str()
		n := node{kind: kString, text: s}
		if esc {
			n.esc = escText
		}
		t.stack = append(t.stack, n)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		s, err := t.number()
		t.stack = append(t.stack, node{kind: kNumber, text: s})
		return err
	case c == '{':
		return t.object()
	case c == '[':
		return t.array()
	}
	return t.literal()
}

// literal parses null, true or false.
func (t *tree) literal() error {
	for _, l := range [...]struct {
		text string
		kind kind
	}{{"null", kNull}, {"true", kTrue}, {"false", kFalse}} {
		if strings.HasPrefix(t.src[t.pos:], l.text) {
			t.pos += len(l.text)
			t.stack = append(t.stack, node{kind: l.kind})
			return nil
		}
	}
	return t.fail("invalid character looking for beginning of value")
}

// enter and leave track nesting for arrays and objects.
func (t *tree) enter() error {
	if t.depth++; t.depth > maxDepth {
		return t.fail("nesting deeper than 64")
	}
	t.pos++ // the opening bracket
	return nil
}

// leave moves the children pushed since base from the stack to the tree
// and pushes their container in their place.
func (t *tree) leave(k kind, base int) {
	t.depth--
	t.pos++ // the closing bracket
	n := node{kind: k, first: int32(len(t.nodes)), count: int32(len(t.stack) - base)}
	t.nodes = append(t.nodes, t.stack[base:]...)
	t.stack = append(t.stack[:base], n)
}

func (t *tree) array() error {
	if err := t.enter(); err != nil {
		return err
	}
	base := len(t.stack)
	t.space()
	if t.pos < len(t.src) && t.src[t.pos] == ']' {
		t.leave(kArray, base)
		return nil
	}
	for {
		if err := t.value(); err != nil {
			return err
		}
		if done, err := t.next(']', kArray, base, "array element"); done || err != nil {
			return err
		}
	}
}

func (t *tree) object() error {
	if err := t.enter(); err != nil {
		return err
	}
	base := len(t.stack)
	t.space()
	if t.pos < len(t.src) && t.src[t.pos] == '}' {
		t.leave(kObject, base)
		return nil
	}
	for {
		t.space()
		if t.pos >= len(t.src) || t.src[t.pos] != '"' {
			return t.fail("invalid character looking for beginning of object key")
		}
		key, esc, err := t.str()
		if err != nil {
			return err
		}
		t.space()
		if t.pos >= len(t.src) || t.src[t.pos] != ':' {
			return t.fail("invalid character after object key")
		}
		t.pos++
		if err := t.value(); err != nil {
			return err
		}
		v := &t.stack[len(t.stack)-1]
		v.key = key
		if esc {
			v.esc |= escKey
		}
		if done, err := t.next('}', kObject, base, "object key:value pair"); done || err != nil {
			return err
		}
	}
}

// next reads what follows a member of an array or object: a comma (more
// members) or the closing byte, which ends the value (done).
func (t *tree) next(closing byte, k kind, base int, member string) (done bool, err error) {
	t.space()
	if t.pos >= len(t.src) {
		return false, t.fail("")
	}
	switch t.src[t.pos] {
	case ',':
		t.pos++
		return false, nil
	case closing:
		t.leave(k, base)
		return true, nil
	}
	return false, t.fail("invalid character after " + member)
}

// str reads a string token. A string without escapes whose bytes are
// valid UTF-8 is a span of the body; others are decoded by encoding/json,
// which also replaces invalid UTF-8 as it always does, into t.strs (esc
// reports that).
func (t *tree) str() (s span, esc bool, err error) {
	start := t.pos
	t.pos++
	plain, ascii := true, true
	for t.pos < len(t.src) {
		c := t.src[t.pos]
		switch {
		case c == '"':
			t.pos++
			body := t.src[start+1 : t.pos-1]
			if plain && (ascii || utf8.ValidString(body)) {
				return span{int32(start + 1), int32(len(body))}, false, nil
			}
			return t.unescape(start)
		case c == '\\':
			plain = false
			t.pos += 2
		case c < 0x20:
			return span{}, false, t.fail("invalid control character in string")
		default:
			if c >= 0x80 {
				ascii = false
			}
			t.pos++
		}
	}
	t.pos = len(t.src)
	return span{}, false, t.fail("")
}

// unescape decodes the string token from start to t.pos into t.strs.
func (t *tree) unescape(start int) (span, bool, error) {
	var s string
	if err := json.Unmarshal([]byte(t.src[start:t.pos]), &s); err != nil {
		return span{}, false, &syntaxError{msg: "invalid string", offset: start}
	}
	t.strs = append(t.strs, s)
	return span{int32(len(t.strs) - 1), int32(len(s))}, true, nil
}

// number reads a number token and checks it against JSON's grammar.
func (t *tree) number() (span, error) {
	start := t.pos
	if t.src[t.pos] == '-' {
		t.pos++
	}
	switch {
	case t.pos < len(t.src) && t.src[t.pos] == '0':
		t.pos++
	case t.digits() == 0:
		return span{}, t.fail("invalid character in numeric literal")
	}
	if t.pos < len(t.src) && t.src[t.pos] == '.' {
		t.pos++
		if t.digits() == 0 {
			return span{}, t.fail("invalid character after decimal point in numeric literal")
		}
	}
	if t.pos < len(t.src) && (t.src[t.pos] == 'e' || t.src[t.pos] == 'E') {
		t.pos++
		if t.pos < len(t.src) && (t.src[t.pos] == '+' || t.src[t.pos] == '-') {
			t.pos++
		}
		if t.digits() == 0 {
			return span{}, t.fail("invalid character in exponent of numeric literal")
		}
	}
	return span{int32(start), int32(t.pos - start)}, nil
}

func (t *tree) digits() int {
	n := 0
	for t.pos < len(t.src) && t.src[t.pos] >= '0' && t.src[t.pos] <= '9' {
		t.pos++
		n++
	}
	return n
}

// describe renders a value for an error message, shortened.
func (t *tree) describe(n node) string {
	switch n.kind {
	case kString:
		s := t.text(n)
		if len(s) > 32 {
			s = s[:32] + "..."
		}
		return "string " + strconv.Quote(s)
	case kNumber:
		return "number " + t.text(n)
	default:
		return n.kind.String()
	}
}
