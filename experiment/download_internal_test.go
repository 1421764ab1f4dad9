package experiment

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

// TestUntarRefusesEscapes ensures archive entries cannot leave the target.
func TestUntarRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "/etc/passwd", "a/../../b"} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("x"))
		_ = tw.Close()
		err := untar(&buf, "application/x-tar", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("untar(%q) = %v, want an outside-the-checkpoint error", name, err)
		}
	}
}
