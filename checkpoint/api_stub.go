package checkpoint

// This file holds the agreed exported API of the package while it is being
// written. The owner of the package replaces these stubs with real code.

import (
	"errors"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

var errStub = errors.New("checkpoint: not implemented yet")

// File names inside a checkpoint directory.
const (
	ModelFile    = "model.bin"
	SpecFile     = "features.json"
	MetadataFile = "metadata.json"
)

// FormatVersion is the version of the checkpoint layout written here.
const FormatVersion = 1

// Metadata is metadata.json. StepsCompleted is Determined's name for the
// number of batches trained.
type Metadata struct {
	StepsCompleted int                `json:"steps_completed"`
	FormatVersion  int                `json:"format_version"`
	Framework      string             `json:"framework"`
	Created        time.Time          `json:"created"`
	TrialID        string             `json:"trial_id,omitempty"`
	Config         any                `json:"config,omitempty"`
	Metrics        map[string]float64 `json:"metrics,omitempty"`
	Data           []DataFile         `json:"data,omitempty"`
	// Threshold is the probability at or above which serving says churn.
	Threshold float64 `json:"threshold"`
	// Files maps each other file of the directory to its sha256 (hex).
	Files map[string]string `json:"files,omitempty"`
}

// DataFile names a training data file and its sha256 (hex).
type DataFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Checkpoint is a loaded checkpoint directory.
type Checkpoint struct {
	Dir      string
	Metadata Metadata
	Spec     *dataset.Spec
	Model    *nn.Model
}

// Write writes model, spec and metadata into dir (created; must not hold a
// checkpoint already), filling Files, FormatVersion and Framework.
func Write(dir string, meta Metadata, model *nn.Model, spec *dataset.Spec) error { return errStub }

// Read loads and verifies a checkpoint directory.
func Read(dir string) (*Checkpoint, error) { return nil, errStub }
