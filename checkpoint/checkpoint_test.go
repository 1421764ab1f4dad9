package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// trainedModel returns a PDK-width model after a few training steps, so
// that its optimiser state is not zero.
func trainedModel(t *testing.T) (*nn.Model, *dataset.Spec) {
	t.Helper()
	spec := dataset.PDKSpec()
	m, err := nn.New(nn.Config{Inputs: spec.Width(), Hidden: 4, LR: 0.01, Seed: 3})
	if err != nil {
		t.Fatalf("nn.New: %v", err)
	}
	x := make([]float32, 8*spec.Width())
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	y := []float32{0, 1, 0, 1, 1, 0, 0, 1}
	for range 3 {
		if _, err := m.TrainBatch(x, y); err != nil {
			t.Fatalf("TrainBatch: %v", err)
		}
	}
	return m, spec
}

func writeOne(t *testing.T, dir string) (*nn.Model, *dataset.Spec, Metadata) {
	t.Helper()
	m, spec := trainedModel(t)
	meta := Metadata{
		StepsCompleted: 3, TrialID: "t1",
		Config:  map[string]any{"name": "churn"},
		Metrics: map[string]float64{"val_acc": 0.75},
		Data:    []DataFile{{Name: "a.csv", SHA256: strings.Repeat("ab", 32)}},
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if err := Write(dir, meta, m, spec); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return m, spec, meta
}

// ensures a written checkpoint reads back with the same parameters,
// optimiser state, spec and metadata, and leaves no temporary directory.
func TestRoundTrip(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ck")
	m, spec, meta := writeOne(t, dir)
	ck, err := Read(dir)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !reflect.DeepEqual(ck.Model.Params(), m.Params()) {
		t.Error("Read: parameters differ from the written model's")
	}
	if ck.Model.Step() != m.Step() {
		t.Errorf("Read: optimiser step %d, want %d", ck.Model.Step(), m.Step())
	}
	if !reflect.DeepEqual(ck.Spec, spec) {
		t.Error("Read: spec differs from the written one")
	}
	got := ck.Metadata
	if got.StepsCompleted != 3 || got.TrialID != "t1" || got.FormatVersion != FormatVersion ||
		got.Framework != Framework || got.Threshold != DefaultThreshold ||
		!got.Created.Equal(meta.Created) || got.Metrics["val_acc"] != 0.75 ||
		!reflect.DeepEqual(got.Data, meta.Data) || len(got.Files) != 2 {
		t.Errorf("Read: metadata = %+v", got)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "ck" {
		t.Errorf("parent holds %v, want only ck", entries)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 3 {
		t.Errorf("checkpoint holds %d files, want 3", len(files))
	}
	// A second Write into the same directory is refused.
	if err := Write(dir, meta, m, spec); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("Write over a checkpoint = %v, want ErrNotEmpty", err)
	}
}

// ensures Write fills an existing empty directory (as a Determined
// storage path may be).
func TestWriteIntoEmptyDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uuid")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeOne(t, dir)
	if _, err := Read(dir); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// ensures a changed, truncated or missing file is refused with an error
// naming it.
func TestCorruptionRefused(t *testing.T) {
	for _, tc := range []struct {
		file string
		edit func(path string) error
	}{
		{ModelFile, flipByte},
		{SpecFile, flipByte},
		{ModelFile, func(p string) error { return os.Truncate(p, 10) }},
		{SpecFile, func(p string) error { return os.Truncate(p, 20) }},
		{SpecFile, os.Remove},
	} {
		dir := filepath.Join(t.TempDir(), "ck")
		writeOne(t, dir)
		path := filepath.Join(dir, tc.file)
		if err := tc.edit(path); err != nil {
			t.Fatal(err)
		}
		_, err := Read(dir)
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Path != path || !errors.Is(err, ErrCorrupt) ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("Read after editing %s = %v, want a ChecksumError naming it",
				tc.file, err)
		}
	}
}

func flipByte(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x01
	return os.WriteFile(path, b, 0o644)
}

// ensures metadata problems are refused with the file named.
func TestBadMetadata(t *testing.T) {
	if _, err := ReadMetadata(t.TempDir()); !errors.Is(err, ErrNotCheckpoint) {
		t.Errorf("ReadMetadata(empty dir) = %v, want ErrNotCheckpoint", err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"newer format", func(m map[string]any) { m["format_version"] = 99 }, "newer"},
		{"no format", func(m map[string]any) { delete(m, "format_version") }, "format_version"},
		{"escaping file", func(m map[string]any) {
			m["files"].(map[string]any)["../x"] = "00"
		}, "outside"},
		{"no model sum", func(m map[string]any) {
			delete(m["files"].(map[string]any), ModelFile)
		}, ModelFile},
	} {
		dir := filepath.Join(t.TempDir(), "ck")
		writeOne(t, dir)
		path := filepath.Join(dir, MetadataFile)
		b, _ := os.ReadFile(path)
		var m map[string]any
		json.Unmarshal(b, &m)
		tc.edit(m)
		os.WriteFile(path, reseal(t, m), 0o644)
		_, err := Read(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: Read = %v, want an error naming %s and %q", tc.name, err, path, tc.want)
		}
	}
}

// reseal encodes an edited metadata map with a matching metadata_sha256,
// as someone who knows the format could: the content checks must still
// catch what is wrong.
func reseal(t *testing.T, m map[string]any) []byte {
	t.Helper()
	m["metadata_sha256"] = zeroSum
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	at := selfSumAt(b)
	sum := sha256.Sum256(b)
	hex.Encode(b[at:at+len(zeroSum)], sum[:])
	return b
}

// ensures an edited, truncated or unsealed metadata.json is refused with
// an error naming it, and that nothing is loaded.
func TestMetadataEditRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"steps edited", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"steps_completed": 3`),
				[]byte(`"steps_completed": 4`), 1)
		}, "metadata_sha256 records"},
		{"threshold edited", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"threshold": 0.5`), []byte(`"threshold": 0.9`), 1)
		}, "metadata_sha256 records"},
		{"sum removed", func(b []byte) []byte {
			i := bytes.Index(b, []byte(",\n  \"metadata_sha256\""))
			return append(b[:i:i], []byte("\n}\n")...)
		}, "no metadata_sha256"},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "unexpected end"},
	} {
		dir := filepath.Join(t.TempDir(), "ck")
		writeOne(t, dir)
		path := filepath.Join(dir, MetadataFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		edited := tc.edit(bytes.Clone(b))
		if bytes.Equal(edited, b) {
			t.Fatalf("%s: the edit changed nothing", tc.name)
		}
		if err := os.WriteFile(path, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		ck, err := Read(dir)
		if ck != nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Read = %v, %v; want ErrCorrupt naming %s and %q", tc.name, ck, err,
				path, tc.want)
		}
	}
}
