package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// ReadMetadata reads and checks dir's metadata.json without verifying or
// loading the other files. A directory without metadata.json gives an error
// matching ErrNotCheckpoint.
func ReadMetadata(dir string) (*Metadata, error) {
	path := filepath.Join(dir, MetadataFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s", ErrNotCheckpoint, dir, MetadataFile)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if err := checkSelfSum(path, b); err != nil {
		return nil, err
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	return &m, nil
}

// check validates what Read relies on.
func (m *Metadata) check() error {
	switch {
	case m.FormatVersion == 0:
		return errors.New("no format_version: not written by churn")
	case m.FormatVersion > FormatVersion:
		return fmt.Errorf("format_version %d is newer than this churn reads (%d)",
			m.FormatVersion, FormatVersion)
	case m.StepsCompleted < 0:
		return fmt.Errorf("negative steps_completed %d", m.StepsCompleted)
	}
	for _, name := range []string{ModelFile, SpecFile} {
		if m.Files[name] == "" {
			return fmt.Errorf("files has no sha256 for %s", name)
		}
	}
	for name := range m.Files {
		if !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("files names %q, outside the checkpoint directory", name)
		}
	}
	return nil
}

// Read loads and verifies a checkpoint directory: every file listed in
// metadata.json must match its sha256 (else a *ChecksumError naming the
// file), the spec must be valid and the model's input width must match it.
func Read(dir string) (*Checkpoint, error) {
	meta, err := ReadMetadata(dir)
	if err != nil {
		return nil, err
	}
	files, err := verify(dir, meta.Files)
	if err != nil {
		return nil, err
	}
	spec, err := dataset.ReadSpec(bytes.NewReader(files[SpecFile]))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", filepath.Join(dir, SpecFile), err)
	}
	model, err := nn.Read(bytes.NewReader(files[ModelFile]))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", filepath.Join(dir, ModelFile), err)
	}
	if got, want := model.Config().Inputs, len(spec.Inputs); got != want {
		model.Close()
		return nil, fmt.Errorf("checkpoint: %s: model has %d inputs but %s lists %d",
			dir, got, SpecFile, want)
	}
	return &Checkpoint{Dir: dir, Metadata: *meta, Spec: spec, Model: model}, nil
}

// verify reads every listed file and checks its sha256.
func verify(dir string, sums map[string]string) (map[string][]byte, error) {
	names := make([]string, 0, len(sums))
	for name := range sums {
		names = append(names, name)
	}
	slices.Sort(names)
	files := make(map[string][]byte, len(names))
	for _, name := range names {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, &ChecksumError{Path: path, Want: sums[name]}
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != strings.ToLower(sums[name]) {
			return nil, &ChecksumError{Path: path, Want: sums[name], Got: got}
		}
		files[name] = b
	}
	return files, nil
}

// zeroSum stands in for metadata_sha256 while the sum is computed.
var zeroSum = strings.Repeat("0", sha256.Size*2)

// selfSumKey precedes the value of metadata_sha256 in MarshalIndent's
// output.
const selfSumKey = `"metadata_sha256": "`

// selfSumAt returns the offset of metadata_sha256's value in b, or -1.
func selfSumAt(b []byte) int {
	i := bytes.LastIndex(b, []byte(selfSumKey))
	if i < 0 || i+len(selfSumKey)+len(zeroSum) > len(b) {
		return -1
	}
	return i + len(selfSumKey)
}

// checkSelfSum verifies metadata.json's own checksum over its raw bytes.
func checkSelfSum(path string, b []byte) error {
	at := selfSumAt(b)
	if at < 0 {
		return &ChecksumError{Path: path, Self: true}
	}
	want := string(b[at : at+len(zeroSum)])
	c := bytes.Clone(b)
	copy(c[at:], zeroSum)
	h := sha256.Sum256(c)
	if got := hex.EncodeToString(h[:]); got != want {
		return &ChecksumError{Path: path, Want: want, Got: got, Self: true}
	}
	return nil
}
