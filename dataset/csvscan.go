package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"unsafe"
)

// scanBlock is the size of the blocks a csvScanner reads. A record longer
// than a block grows the buffer.
const scanBlock = 1 << 20

// csvScanner reads RFC 4180 CSV records from a stream, as encoding/csv reads
// them with its defaults (comma separator, strict quotes, empty lines
// skipped, "\r\n" read as "\n", every record as long as the first), and a
// leading UTF-8 byte order mark skipped. It reads in large blocks and hands
// out each record as strings that view its buffer, valid until the next
// call: scanning allocates nothing per record or value. It hashes and counts
// the bytes as they go by, for the Report.
//
// It replaces encoding/csv on the loading path: encoding/csv copies every
// record into fresh strings (one allocation per record, and the values
// escape), which at 31,009 rows of 88 fields cost about as much as parsing
// the values did.
type csvScanner struct {
	r    io.Reader
	name string
	hash hash.Hash
	size int64 // bytes read so far

	buf      []byte
	pos, end int  // unread bytes are buf[pos:end]
	eof      bool // r has no more bytes: buf[end] ends the text
	line     int  // the line of buf[pos], 1-based
	started  bool // the first block was read (and a byte order mark skipped)

	recLine int      // the line the current record starts on
	width   int      // fields per record, from the first; 0 before it
	header  []string // the first record, for naming fields in errors
	plain   bool     // the record's fields were read straight into fields
	spans   []span
	scratch []byte // fields that needed unescaping
	fields  []string
}

// span is one field of the current record: bytes [lo, hi) of the buffer, or
// of the scratch space when unescaped.
type span struct {
	lo, hi  int
	scratch bool
}

// errNeedMore is parse's signal that the record runs past the buffered
// bytes; never returned to callers.
var errNeedMore = errors.New("need more input")

func newCSVScanner(src Source) *csvScanner {
	return &csvScanner{r: src.R, name: src.Name, hash: sha256.New(), line: 1,
		buf: make([]byte, scanBlock)}
}

// sum returns the hex sha256 of the bytes read so far.
func (s *csvScanner) sum() string { return hex.EncodeToString(s.hash.Sum(nil)) }

// next returns the next record, io.EOF after the last, or a *ParseError.
// The strings view the scanner's buffer until the next call.
func (s *csvScanner) next() ([]string, error) {
	for {
		pos, line := s.pos, s.line
		err := s.parse()
		if err != errNeedMore {
			if err != nil {
				return nil, err
			}
			return s.record()
		}
		s.pos, s.line = pos, line
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// fill moves the unread bytes to the front of the buffer (growing it when
// they fill it) and reads until the buffer is full or the stream ends.
func (s *csvScanner) fill() error {
	n := copy(s.buf, s.buf[s.pos:s.end])
	s.pos, s.end = 0, n
	if s.end == len(s.buf) {
		s.buf = append(s.buf, make([]byte, len(s.buf))...)
	}
	for empty := 0; s.end < len(s.buf) && !s.eof; {
		n, err := s.r.Read(s.buf[s.end:])
		if empty++; n > 0 {
			empty = 0
		} else if empty > 100 && err == nil {
			err = io.ErrNoProgress
		}
		s.hash.Write(s.buf[s.end : s.end+n])
		s.size += int64(n)
		s.end += n
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			return &ParseError{Source: s.name, Row: -1, Err: fmt.Errorf("read: %w", err)}
		}
	}
	if !s.started {
		s.started = true
		if bytes.HasPrefix(s.buf[:s.end], []byte("\ufeff")) {
			s.pos = 3
		}
	}
	return nil
}

// record checks the parsed record's length and returns its fields.
func (s *csvScanner) record() ([]string, error) {
	if !s.plain {
		s.fields = s.fields[:0]
		for _, sp := range s.spans {
			b := s.buf
			if sp.scratch {
				b = s.scratch
			}
			s.fields = append(s.fields, view(b[sp.lo:sp.hi]))
		}
	}
	if s.width == 0 {
		s.width = len(s.fields)
		s.header = make([]string, len(s.fields))
		for i, f := range s.fields {
			s.header[i] = strings.Clone(f)
		}
	} else if len(s.fields) != s.width {
		return nil, &ParseError{Source: s.name, Line: s.recLine, Row: -1,
			Err: fmt.Errorf("%w: %w: %d, the header has %d",
				ErrMalformed, csv.ErrFieldCount, len(s.fields), s.width)}
	}
	return s.fields, nil
}

// view returns b as a string without copying it; the string is valid only
// while b's bytes are not overwritten.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parse reads one record from buf[pos:end] into spans, skipping empty lines
// first. It returns io.EOF at the end of the text and errNeedMore when the
// record may continue past the buffered bytes.
func (s *csvScanner) parse() error {
	if !s.started {
		return errNeedMore
	}
	if err := s.skipEmptyLines(); err != nil {
		return err
	}
	s.recLine = s.line
	s.plain = false
	s.spans = s.spans[:0]
	s.scratch = s.scratch[:0]
	if done, err := s.plainLine(); done || err != nil {
		return err
	}
	lineStart := s.pos
	for {
		var done bool
		var err error
		if s.buf[s.pos] == '"' {
			done, err = s.quoted(&lineStart)
		} else {
			done, err = s.unquoted(lineStart)
		}
		if err != nil || done {
			return err
		}
		if s.pos == s.end {
			if !s.eof {
				return errNeedMore
			}
			// A comma ends the text: one more, empty field.
			s.spans = append(s.spans, span{lo: s.pos, hi: s.pos})
			return nil
		}
	}
}

// plainLine reads the record when its line has no quote, the common case:
// then the fields are the bytes between commas, and one pass finds them.
// It reports false, having read nothing, when the line has a quote.
func (s *csvScanner) plainLine() (bool, error) {
	b := s.buf[s.pos:s.end]
	n := bytes.IndexByte(b, '\n')
	ended := n >= 0
	if !ended {
		if !s.eof {
			return false, errNeedMore
		}
		n = len(b)
	}
	b = b[:n]
	if bytes.IndexByte(b, '"') >= 0 {
		return false, nil
	}
	s.fields = s.fields[:0]
	lo := 0
	for i, c := range b {
		if c == ',' {
			s.fields = append(s.fields, view(b[lo:i]))
			lo = i + 1
		}
	}
	if n > lo && b[n-1] == '\r' {
		n-- // "\r\n" ends the line, as does a last "\r"
	}
	s.fields = append(s.fields, view(b[lo:n]))
	s.plain = true
	s.pos += len(b)
	if ended {
		s.pos++
		s.line++
	}
	return true, nil
}

// skipEmptyLines passes over lines with no bytes, or only "\r".
func (s *csvScanner) skipEmptyLines() error {
	for {
		if s.pos == s.end {
			if s.eof {
				return io.EOF
			}
			return errNeedMore
		}
		switch c := s.buf[s.pos]; {
		case c == '\n':
			s.pos++
			s.line++
		case c == '\r' && s.pos+1 == s.end:
			if !s.eof {
				return errNeedMore
			}
			s.pos++ // a last "\r" is dropped, as encoding/csv drops it
		case c == '\r' && s.buf[s.pos+1] == '\n':
			s.pos += 2
			s.line++
		default:
			return nil
		}
	}
}

// unquoted reads a field that does not start with a quote; done reports
// the end of the record.
func (s *csvScanner) unquoted(lineStart int) (done bool, err error) {
	b := s.buf[:s.end]
	i := s.pos
	for i < len(b) && b[i] != ',' && b[i] != '\n' && b[i] != '"' {
		i++
	}
	if i == len(b) {
		if !s.eof {
			return false, errNeedMore
		}
		hi := i
		if hi > s.pos && b[hi-1] == '\r' {
			hi-- // a last "\r" is dropped
		}
		s.spans = append(s.spans, span{lo: s.pos, hi: hi})
		s.pos = i
		return true, nil
	}
	switch b[i] {
	case '"':
		return false, s.syntaxError(csv.ErrBareQuote, i-lineStart+1)
	case ',':
		s.spans = append(s.spans, span{lo: s.pos, hi: i})
		s.pos = i + 1
		return false, nil
	}
	hi := i
	if hi > s.pos && b[hi-1] == '\r' {
		hi--
	}
	s.spans = append(s.spans, span{lo: s.pos, hi: hi})
	s.pos = i + 1
	s.line++
	return true, nil
}

// quoted reads a field that starts with a quote: "" stands for a quote, and
// line breaks are part of the field. lineStart follows the line breaks, for
// the byte column of errors.
func (s *csvScanner) quoted(lineStart *int) (done bool, err error) {
	b := s.buf[:s.end]
	start := s.pos + 1 // the field's first byte
	seg := start       // the first byte not yet copied to scratch
	copying := false
	scr := len(s.scratch)
	for i := start; ; {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			if !s.eof {
				return false, errNeedMore
			}
			// The text ends inside the field: the error is on its last
			// line with bytes, as encoding/csv counts lines.
			rest := bytes.TrimSuffix(b[i:], []byte{'\r'}) // dropped at the end
			rest = bytes.TrimSuffix(rest, []byte{'\n'})
			s.countLines(rest, lineStart, i)
			return false, s.syntaxError(csv.ErrQuote, len(b)-*lineStart+1)
		}
		q += i
		s.countLines(b[i:q], lineStart, i)
		if q+1 == len(b) && !s.eof {
			return false, errNeedMore
		}
		if q+1 < len(b) && b[q+1] == '"' { // an escaped quote
			if !copying {
				copying = true
			}
			s.scratch = append(s.scratch, b[seg:q+1]...)
			seg, i = q+2, q+2
			continue
		}
		sp := span{lo: start, hi: q}
		if copying {
			s.scratch = append(s.scratch, b[seg:q]...)
			sp = span{lo: scr, hi: len(s.scratch), scratch: true}
		}
		s.spans = append(s.spans, s.normalizeCRLF(sp))
		return s.afterQuote(q, *lineStart)
	}
}

// afterQuote reads what follows the closing quote at q: a comma, the end of
// the line or the end of the text.
func (s *csvScanner) afterQuote(q, lineStart int) (done bool, err error) {
	b := s.buf[:s.end]
	switch {
	case q+1 == len(b): // the text ends (fill saw to it that it does)
		s.pos = q + 1
		return true, nil
	case b[q+1] == ',':
		s.pos = q + 2
		return false, nil
	case b[q+1] == '\n':
		s.pos = q + 2
		s.line++
		return true, nil
	case b[q+1] == '\r' && q+2 == len(b):
		if !s.eof {
			return false, errNeedMore
		}
		s.pos = q + 2
		return true, nil
	case b[q+1] == '\r' && b[q+2] == '\n':
		s.pos = q + 3
		s.line++
		return true, nil
	}
	return false, s.syntaxError(csv.ErrQuote, q-lineStart+1)
}

// countLines advances the line count over the bytes seg, which start at
// buffer offset at, and moves lineStart past the last line break.
func (s *csvScanner) countLines(seg []byte, lineStart *int, at int) {
	if k := bytes.LastIndexByte(seg, '\n'); k >= 0 {
		s.line += bytes.Count(seg, []byte{'\n'})
		*lineStart = at + k + 1
	}
}

// normalizeCRLF rewrites "\r\n" in a quoted field as "\n", in scratch space.
func (s *csvScanner) normalizeCRLF(sp span) span {
	b := s.buf
	if sp.scratch {
		b = s.scratch
	}
	f := b[sp.lo:sp.hi]
	if bytes.IndexByte(f, '\r') < 0 || !bytes.Contains(f, []byte("\r\n")) {
		return sp
	}
	if !sp.scratch {
		lo := len(s.scratch)
		s.scratch = append(s.scratch, f...)
		sp = span{lo: lo, hi: len(s.scratch), scratch: true}
		f = s.scratch[sp.lo:sp.hi]
	}
	w := 0
	for r := 0; r < len(f); r++ {
		if f[r] == '\r' && r+1 < len(f) && f[r+1] == '\n' {
			continue
		}
		f[w] = f[r]
		w++
	}
	sp.hi = sp.lo + w
	return sp
}

// syntaxError reports a quote out of place at byte column col of the
// current line, naming the field.
func (s *csvScanner) syntaxError(err error, col int) *ParseError {
	field := len(s.spans) + 1
	where := "field " + strconv.Itoa(field)
	if field <= len(s.header) {
		where += " " + strconv.Quote(s.header[field-1])
	}
	return &ParseError{Source: s.name, Line: s.line, Row: -1,
		Err: fmt.Errorf("%w: %w (%s, byte %d of the line)", ErrMalformed, err, where, col)}
}

// offset returns the number of bytes of the text consumed so far.
func (s *csvScanner) offset() int64 { return s.size - int64(s.end-s.pos) }
