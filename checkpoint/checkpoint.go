// Package checkpoint reads and writes checkpoint directories: the model's
// parameters, the resolved feature spec and metadata.json. It is the one
// artefact shared by training, serving and the pipelines, and the one place
// that knows its layout:
//
//	<dir>/model.bin      parameters and optimiser state (nn's format)
//	<dir>/features.json  the resolved feature spec (dataset's JSON)
//	<dir>/metadata.json  Metadata, with the sha256 of the two files above
//	                     and of its own bytes (metadata_sha256)
//
// [Write] fills a temporary sibling directory, syncs it to disk and renames
// it into place and syncs the parent, so a crash never leaves a directory
// that holds a metadata.json next to partial files. [Read] verifies every
// checksum, metadata.json's own included, before it decodes anything, and
// refuses a corrupted checkpoint with an error naming the file.
package checkpoint

import (
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// File names inside a checkpoint directory.
const (
	ModelFile    = "model.bin"
	SpecFile     = "features.json"
	MetadataFile = "metadata.json"
)

// FormatVersion is the version of the checkpoint layout written here.
const FormatVersion = 1

// Framework names the code that wrote a checkpoint, in metadata.json.
const Framework = "churn-go/gorgonia"

// DefaultThreshold is the probability at or above which a prediction says
// churn, recorded in every checkpoint written with a zero Threshold.
const DefaultThreshold = 0.5

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
	// SelfSHA256 is the sha256 (hex) of metadata.json's own bytes with
	// this value replaced by 64 zeros: an edit of metadata.json is caught
	// like an edit of the files it lists. Write fills it; Read checks it.
	SelfSHA256 string `json:"metadata_sha256"`
}

// DataFile names a training data file and its sha256 (hex).
type DataFile struct {
	// Name is the file name as given to training (possibly relative).
	Name string `json:"name"`
	// Path is the file's absolute path when it was a local file, so that a
	// resume from another directory finds it; empty for other sources.
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256"`
}

// Checkpoint is a loaded checkpoint directory.
type Checkpoint struct {
	Dir      string
	Metadata Metadata
	Spec     *dataset.Spec
	Model    *nn.Model
}
