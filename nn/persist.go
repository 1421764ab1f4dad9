package nn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// formatMagic opens every model file; formatVersion is the layout in doc.go.
const (
	formatMagic   = "CHURNNN\x00"
	formatVersion = 1
	headerSize    = 68
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFormat is wrapped by every error Read returns for a malformed file.
var ErrFormat = errors.New("nn: bad model file")

// FormatError says which field of a model file is wrong and where it starts.
type FormatError struct {
	Offset int64  // byte offset of the field
	Field  string // e.g. "magic", "shape", "checksum", "parameter 12" (file order)
	Msg    string
}

// Error names the field, its offset and the problem.
func (e *FormatError) Error() string {
	return fmt.Sprintf("nn: bad model file: %s at byte %d: %s", e.Field, e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FormatError) Unwrap() error { return ErrFormat }

// WriteTo writes parameters and optimiser state in the format described in
// the package documentation. It implements io.WriterTo.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w, crc: crc32.New(castagnoli)}
	bw := bufio.NewWriterSize(cw, 1<<16)
	buf := m.header()
	bw.Write(buf)
	for _, slab := range [][]float32{m.params, m.adam.m, m.adam.v} {
		m.writeSlab(bw, slab)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("nn: write model: %w", err)
	}
	sum := binary.LittleEndian.AppendUint32(nil, cw.crc.Sum32())
	if _, err := cw.Write(sum); err != nil {
		return cw.n, fmt.Errorf("nn: write model: %w", err)
	}
	return cw.n, nil
}

// header encodes the fixed-size header.
func (m *Model) header() []byte {
	c, le := m.cfg, binary.LittleEndian
	b := append(make([]byte, 0, headerSize), formatMagic...)
	b = le.AppendUint32(b, formatVersion)
	b = le.AppendUint32(b, uint32(c.Inputs))
	b = le.AppendUint32(b, uint32(c.Hidden))
	for _, f := range []float64{c.LR, c.Beta1, c.Beta2, c.Eps} {
		b = le.AppendUint64(b, math.Float64bits(f))
	}
	b = le.AppendUint64(b, uint64(c.Seed))
	return le.AppendUint64(b, uint64(m.adam.step))
}

// writeSlab writes a slab-layout vector in file (PyTorch) layout; errors
// stick in bw and surface at Flush.
func (m *Model) writeSlab(bw *bufio.Writer, slab []float32) {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	var b [4]byte
	put := func(f float32) {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
		bw.Write(b[:])
	}
	for j := 0; j < hid; j++ {
		for i := 0; i < in; i++ {
			put(slab[i*hid+j])
		}
	}
	for _, f := range slab[in*hid:] {
		put(f)
	}
}

// countWriter counts and checksums what passes through it.
type countWriter struct {
	w   io.Writer
	n   int64
	crc hashWriter
}

type hashWriter interface {
	io.Writer
	Sum32() uint32
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.crc.Write(p[:n])
	return n, err
}

// Read reads a model written by WriteTo, consuming r to its end: bytes after
// the checksum are an error. Errors about the content wrap ErrFormat and are
// *FormatError values that name the field and its offset.
func Read(r io.Reader) (*Model, error) {
	hdr := make([]byte, headerSize)
	if n, err := io.ReadFull(r, hdr); err != nil {
		return nil, truncated(int64(n), "header", err)
	}
	cfg, step, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	p := int(paramCount(cfg.Inputs, cfg.Hidden))
	body := make([]byte, 3*4*p+4)
	if n, err := io.ReadFull(r, body); err != nil {
		return nil, truncated(int64(headerSize+n), "body", err)
	}
	end := int64(headerSize + len(body))
	if n, _ := io.ReadFull(r, make([]byte, 1)); n > 0 {
		return nil, &FormatError{Offset: end, Field: "end", Msg: "trailing bytes after the checksum"}
	}
	crc := crc32.Update(crc32.Checksum(hdr, castagnoli), castagnoli, body[:len(body)-4])
	if got := binary.LittleEndian.Uint32(body[len(body)-4:]); got != crc {
		return nil, &FormatError{Offset: end - 4, Field: "checksum",
			Msg: fmt.Sprintf("stored %08x, computed %08x: the file is corrupted", got, crc)}
	}
	m := newModel(cfg)
	m.adam.step = step
	if err := m.readSlabs(body); err != nil {
		return nil, err
	}
	return m, nil
}

// truncated turns a short read into a FormatError (or passes an I/O error on).
func truncated(at int64, field string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &FormatError{Offset: at, Field: field, Msg: "file ends early (truncated)"}
	}
	return fmt.Errorf("nn: read model: %w", err)
}

// parseHeader decodes and validates the fixed-size header.
func parseHeader(b []byte) (Config, int, error) {
	le := binary.LittleEndian
	if string(b[:8]) != formatMagic {
		return Config{}, 0, &FormatError{Field: "magic", Msg: fmt.Sprintf("%q is not a churn model", b[:8])}
	}
	if v := le.Uint32(b[8:]); v != formatVersion {
		return Config{}, 0, &FormatError{Offset: 8, Field: "version",
			Msg: fmt.Sprintf("version %d, this build reads %d", v, formatVersion)}
	}
	in, hid := le.Uint32(b[12:]), le.Uint32(b[16:])
	if in == 0 || hid == 0 || paramCount(int(in), int(hid)) > maxParams {
		return Config{}, 0, &FormatError{Offset: 12, Field: "shape",
			Msg: fmt.Sprintf("%d inputs x %d hidden is out of range", in, hid)}
	}
	f := func(off int) float64 { return math.Float64frombits(le.Uint64(b[off:])) }
	cfg := Config{Inputs: int(in), Hidden: int(hid), LR: f(20), Beta1: f(28), Beta2: f(36),
		Eps: f(44), Seed: int64(le.Uint64(b[52:]))}
	if err := cfg.validate(); err != nil {
		return Config{}, 0, &FormatError{Offset: 20, Field: "optimiser", Msg: err.Error()}
	}
	step := le.Uint64(b[60:])
	if step > math.MaxInt32 {
		return Config{}, 0, &FormatError{Offset: 60, Field: "step", Msg: fmt.Sprintf("%d is out of range", step)}
	}
	return cfg, int(step), nil
}

// readSlabs decodes parameters and moments from body into m, checking values.
func (m *Model) readSlabs(body []byte) error {
	p := len(m.params)
	names := [3]string{"parameter", "first moment", "second moment"}
	for k, slab := range [][]float32{m.params, m.adam.m, m.adam.v} {
		base := headerSize + 4*p*k
		if err := m.readSlab(slab, body[4*p*k:4*p*(k+1)], base, names[k], k == 2); err != nil {
			return err
		}
	}
	return nil
}

// readSlab decodes one file-layout vector into slab layout.
func (m *Model) readSlab(slab []float32, b []byte, base int, name string, nonNeg bool) error {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	for k := range slab {
		f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
		bad := math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || (nonNeg && f < 0)
		if bad {
			return &FormatError{Offset: int64(base + 4*k), Field: fmt.Sprintf("%s %d", name, k),
				Msg: fmt.Sprintf("value %v is not allowed", f)}
		}
		if k < in*hid { // file row j (hidden), column i (input)
			j, i := k/in, k%in
			slab[i*hid+j] = f
		} else {
			slab[k] = f
		}
	}
	return nil
}
