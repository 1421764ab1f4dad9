package checkpoint

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotCheckpoint means a directory holds no metadata.json.
	ErrNotCheckpoint = errors.New("checkpoint: not a checkpoint directory")
	// ErrNotEmpty means Write was asked to fill a directory that holds files.
	ErrNotEmpty = errors.New("checkpoint: directory is not empty")
	// ErrCorrupt means a file does not match what metadata.json records.
	ErrCorrupt = errors.New("checkpoint: corrupted")
)

// ChecksumError reports a checkpoint file whose sha256 differs from the one
// recorded in metadata.json, or that is missing. It matches ErrCorrupt.
type ChecksumError struct {
	// Path is the file's path.
	Path string
	// Want is the recorded sha256 (hex); Got is the file's, empty when the
	// file is missing.
	Want, Got string
	// Self marks metadata.json's own checksum (metadata_sha256).
	Self bool
}

// Error implements error.
func (e *ChecksumError) Error() string {
	switch {
	case e.Self && e.Want == "":
		return fmt.Sprintf("checkpoint: %s: no metadata_sha256: the file was edited "+
			"or not written by this churn", e.Path)
	case e.Self:
		return fmt.Sprintf("checkpoint: %s: sha256 is %s but metadata_sha256 records %s: "+
			"the file is corrupted or was edited", e.Path, e.Got, e.Want)
	case e.Got == "":
		return fmt.Sprintf("checkpoint: %s: file listed in %s is missing", e.Path, MetadataFile)
	}
	return fmt.Sprintf("checkpoint: %s: sha256 is %s but %s records %s: "+
		"the file is corrupted or was modified", e.Path, e.Got, MetadataFile, e.Want)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *ChecksumError) Unwrap() error { return ErrCorrupt }
