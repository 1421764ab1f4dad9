package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// ModelInfoFile is the file the train step writes into its output commit
// and the deploy step reads from its input.
const ModelInfoFile = "model-info.yaml"

// CheckpointDir is the output commit's directory holding the checkpoint.
const CheckpointDir = "checkpoint"

// ModelInfo is model-info.yaml: which registered model version an output
// commit holds. The first four fields are the original tutorial's.
type ModelInfo struct {
	// Name is the Determined registry model.
	Name string `json:"name"`
	// Version is the version's name: the training job's ID.
	Version string `json:"version"`
	// Pipeline is the training pipeline.
	Pipeline string `json:"pipeline"`
	// Repo is the data repository.
	Repo string `json:"repo"`
	// Project is the Pachyderm project of both.
	Project string `json:"project,omitempty"`
	// Number is the version's number in the registry (0 when unknown).
	Number int `json:"number,omitempty"`
	// DataCommit is the data commit the model was trained up to.
	DataCommit string `json:"data_commit,omitempty"`
	// Checkpoint is the registered checkpoint's UUID.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// Validate checks the fields the deploy step needs.
func (m ModelInfo) Validate() error {
	for _, f := range [][2]string{
		{"name", m.Name}, {"version", m.Version}, {"pipeline", m.Pipeline}, {"repo", m.Repo},
	} {
		if f[1] == "" {
			return fmt.Errorf("field %q is missing", f[0])
		}
	}
	if m.Number < 0 {
		return fmt.Errorf("field \"number\" is %d", m.Number)
	}
	return nil
}

// ReadModelInfo reads and checks a model-info.yaml.
func ReadModelInfo(path string) (*ModelInfo, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("pipeline: model info %s does not exist: the training "+
			"output commit holds no model (did training register one?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: model info: %w", err)
	}
	var m ModelInfo
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		return nil, fmt.Errorf("pipeline: model info %s: %w", path, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline: model info %s: %w", path, err)
	}
	return &m, nil
}

// WriteModelInfo writes m to path through a temporary file.
func WriteModelInfo(path string, m ModelInfo) error {
	b, err := yaml.Marshal(m)
	if err != nil {
		return fmt.Errorf("pipeline: model info: %w", err)
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("pipeline: model info: %w", err)
	}
	return nil
}

// writeFileAtomic writes b to path through a temporary sibling.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// hashReader returns the hex sha256 of r's bytes.
func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
