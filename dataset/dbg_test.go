package dataset
import ("testing"; "strings")
func TestDbg(t *testing.T) {
	s := newCSVScanner(Source{Name: "t.csv", R: strings.NewReader("a,b\n\"unterminated\n")})
	s.buf = make([]byte, 1)
	r, err := s.next(); t.Log(r, err, s.header)
	r, err = s.next(); t.Log(r, err, s.header)
}
