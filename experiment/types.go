package experiment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Int64 is an int64 field that the gateway encodes as a JSON string; it
// reads a string or a number and writes a string.
type Int64 int64

// MarshalJSON writes the value as a JSON string.
func (n Int64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// UnmarshalJSON reads a JSON string or number.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("experiment: int64 field: %q is not an integer", s)
	}
	*n = Int64(v)
	return nil
}

// Pagination is the paging block of list answers.
type Pagination struct {
	Offset     int `json:"offset"`
	Limit      int `json:"limit"`
	StartIndex int `json:"startIndex"`
	EndIndex   int `json:"endIndex"`
	Total      int `json:"total"`
}

// Experiment is the part of the master's experiment the tools read.
type Experiment struct {
	ID             int            `json:"id"`
	Name           string         `json:"name"`
	State          string         `json:"state"`
	Description    string         `json:"description"`
	Labels         []string       `json:"labels"`
	StartTime      *time.Time     `json:"startTime"`
	EndTime        *time.Time     `json:"endTime"`
	Progress       *float64       `json:"progress"`
	ProjectID      int            `json:"projectId"`
	TrialIDs       []int          `json:"trialIds"`
	NumTrials      int            `json:"numTrials"`
	BestTrialID    *int           `json:"bestTrialId,omitempty"`
	Unmanaged      bool           `json:"unmanaged"`
	CheckpointSize Int64          `json:"checkpointSize"`
	Config         map[string]any `json:"config"`
	OriginalConfig string         `json:"originalConfig"`
}

// Trial is the part of the master's trial the tools read.
type Trial struct {
	ID                    int            `json:"id"`
	ExperimentID          int            `json:"experimentId"`
	State                 string         `json:"state"`
	Restarts              int            `json:"restarts"`
	Hparams               map[string]any `json:"hparams"`
	TotalBatchesProcessed int            `json:"totalBatchesProcessed"`
	TaskID                string         `json:"taskId"`
	TotalCheckpointSize   Int64          `json:"totalCheckpointSize"`
	CheckpointCount       int            `json:"checkpointCount"`
}

// MetricsBlock is a metrics block: avgMetrics and batchMetrics.
type MetricsBlock struct {
	AvgMetrics   map[string]any   `json:"avgMetrics"`
	BatchMetrics []map[string]any `json:"batchMetrics,omitempty"`
}

// CheckpointTraining is the master-filled training block of a checkpoint.
type CheckpointTraining struct {
	TrialID           *int           `json:"trialId,omitempty"`
	ExperimentID      *int           `json:"experimentId,omitempty"`
	ExperimentConfig  map[string]any `json:"experimentConfig,omitempty"`
	Hparams           map[string]any `json:"hparams,omitempty"`
	TrainingMetrics   *MetricsBlock  `json:"trainingMetrics,omitempty"`
	ValidationMetrics *MetricsBlock  `json:"validationMetrics,omitempty"`
	SearcherMetric    *float64       `json:"searcherMetric,omitempty"`
}

// Checkpoint is the master's checkpoint record; it is also the body of a
// checkpoint report.
type Checkpoint struct {
	UUID         string             `json:"uuid"`
	TaskID       string             `json:"taskId"`
	AllocationID *string            `json:"allocationId"`
	ReportTime   string             `json:"reportTime"`
	Resources    map[string]Int64   `json:"resources"`
	Metadata     map[string]any     `json:"metadata"`
	State        string             `json:"state"`
	Training     CheckpointTraining `json:"training"`
	StorageID    *int               `json:"storageId,omitempty"`
}

// StepsCompleted reads metadata.steps_completed (-1 when absent).
func (c *Checkpoint) StepsCompleted() int {
	if v, ok := c.Metadata["steps_completed"].(float64); ok {
		return int(v)
	}
	return -1
}

// Model is a model of the registry.
type Model struct {
	ID           int            `json:"id"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	Metadata     map[string]any `json:"metadata"`
	Labels       []string       `json:"labels"`
	NumVersions  int            `json:"numVersions"`
	WorkspaceID  int            `json:"workspaceId"`
	Archived     bool           `json:"archived"`
	Notes        string         `json:"notes"`
	Username     string         `json:"username"`
	CreationTime string         `json:"creationTime"`
}

// ModelVersion is one registered version of a model.
type ModelVersion struct {
	ID         int            `json:"id"`
	Version    int            `json:"version"`
	Name       string         `json:"name"`
	Comment    string         `json:"comment"`
	Notes      string         `json:"notes"`
	Labels     []string       `json:"labels"`
	Metadata   map[string]any `json:"metadata"`
	Model      Model          `json:"model"`
	Checkpoint Checkpoint     `json:"checkpoint"`
}

// File is one entry of a model definition (determined.util.v1.File).
type File struct {
	Path    string `json:"path"`
	Type    int    `json:"type"`
	Content []byte `json:"content"`
	Mtime   Int64  `json:"mtime"`
	Mode    uint32 `json:"mode"`
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
}

// Tar type flags used in File.Type.
const (
	FileTypeRegular = 48 // '0'
	FileTypeDir     = 53 // '5'
)
