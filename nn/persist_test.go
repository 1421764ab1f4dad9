package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// trainSome runs steps batches of toy data through m.
func trainSome(t *testing.T, m *Model, x, y []float32, skip, steps int) {
	t.Helper()
	in := m.cfg.Inputs
	i := 0
	batches(x, y, in, 64, skip+steps, func(xb, yb []float32) {
		if i++; i <= skip {
			return
		}
		if _, err := m.TrainBatch(xb, yb); err != nil {
			t.Fatal(err)
		}
	})
}

// state is everything a model carries, for exact comparison.
func state(m *Model) []float32 {
	return slices.Concat(m.params, m.adam.m, m.adam.v, []float32{float32(m.adam.step)})
}

// Ensures WriteTo then Read round-trips bit-exactly, and that training on
// from the read model gives the same bits as an uninterrupted run.
func TestResumeBitIdentical(t *testing.T) {
	const in, hid, n = 13, 6, 300 // 300 rows: batches of 64 and a remainder of 44
	x, y := toyData(8, n, in)
	cfg := Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 11}
	whole := mustNew(t, cfg)
	trainSome(t, whole, x, y, 0, 30)

	first := mustNew(t, cfg)
	trainSome(t, first, x, y, 0, 17)
	var buf bytes.Buffer
	wrote, err := first.WriteTo(&buf)
	if err != nil || wrote != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; buffer holds %d", wrote, err, buf.Len())
	}
	resumed, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !slices.Equal(state(first), state(resumed)) || resumed.Config() != first.Config() {
		t.Fatal("Read(WriteTo(m)) differs from m")
	}
	if !paramsEqual(first.Params(), resumed.Params()) {
		t.Fatal("Params differ after a round trip")
	}
	trainSome(t, resumed, x, y, 17, 13)
	if !slices.Equal(state(whole), state(resumed)) {
		t.Error("resumed run differs from the uninterrupted run")
	}
}

func paramsEqual(a, b Params) bool {
	return a.Inputs == b.Inputs && a.Hidden == b.Hidden && a.B2 == b.B2 &&
		slices.Equal(a.W1, b.W1) && slices.Equal(a.B1, b.B1) && slices.Equal(a.W2, b.W2)
}

// Ensures the file's parameter block is in PyTorch's layout.
func TestFileLayout(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: 2, LR: 1e-3, Seed: 1})
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	p := m.Params()
	want := slices.Concat(p.W1, p.B1, p.W2, []float32{p.B2})
	for k, w := range want {
		got := math.Float32frombits(binary.LittleEndian.Uint32(b[headerSize+4*k:]))
		if got != w {
			t.Errorf("file parameter %d = %v, want %v", k, got, w)
		}
	}
	if wantLen := headerSize + 3*4*len(want) + 4; len(b) != wantLen {
		t.Errorf("file is %d bytes, want %d", len(b), wantLen)
	}
}

// Ensures damaged files give errors that name the problem.
func TestReadErrors(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: 2, LR: 1e-3, Seed: 1})
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "truncated", nil},
		{"short header", "header at byte 10", good[:10]},
		{"short body", "body at byte 100", good[:100]},
		{"no checksum", "truncated", good[:len(good)-1]},
		{"trailing", "trailing bytes", append(slices.Clone(good), 0)},
		{"magic", "magic", edit(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"version", "version 2", edit(func(b []byte) []byte { b[8] = 2; return b })},
		{"shape", "out of range", edit(func(b []byte) []byte { b[12], b[13] = 0, 0; return b })},
		{"bit flip", "checksum", edit(func(b []byte) []byte { b[headerSize+5] ^= 1; return b })},
	}
	for _, c := range cases {
		_, err := Read(bytes.NewReader(c.file))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Read error = %v, want ErrFormat mentioning %q", c.name, err, c.want)
		}
	}
}

// Ensures non-finite parameters are rejected even with a valid checksum.
func TestReadRejectsNaN(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: 2, LR: 1e-3, Seed: 1})
	m.b1[1] = float32(math.NaN())
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_, err := Read(&buf)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Field != "parameter 7" || fe.Offset != headerSize+4*7 {
		t.Errorf("Read of a NaN B1[1]: err = %v, want parameter 7 at byte %d", err, headerSize+28)
	}
}
