package trial

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
)

// Status says how a run ended.
type Status int

// Run statuses.
const (
	// NotTerminated is the zero Status: the run has not ended.
	NotTerminated Status = iota
	// Success means every searcher operation was trained and validated.
	Success
	// Preempted means the context asked the run to stop after a checkpoint.
	Preempted
	// Canceled means the run's context.Context was canceled.
	Canceled
	// Failure means the run stopped on an error.
	Failure
)

var statusNames = [...]string{"NotTerminated", "Success", "Preempted", "Canceled", "Failure"}

// String returns the status's name.
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "Status(" + strconv.Itoa(int(s)) + ")"
	}
	return statusNames[s]
}

// Early reports whether the run stopped before its searcher was done
// without failing: it can be resumed from its latest checkpoint.
func (s Status) Early() bool { return s == Preempted || s == Canceled }

// Settings configure Run. A nil *Settings, and each zero field, take the
// default stated on the field.
type Settings struct {
	// Data yields the CSV inputs. Nil reads the local files of the
	// config's data section.
	Data DataSource
	// Spec is a fixed feature spec. Nil fits one on the training split
	// (see Infer). A run that starts from a checkpoint always uses the
	// checkpoint's spec, so that the model's inputs keep their meaning.
	Spec *dataset.Spec
	// Infer says how to fit a spec when there is none: Label is required;
	// an empty Positive is picked from the label's two values (see
	// dataset.InferOptions). TestSize and Seed are always those of the hyperparameters, so
	// the figures come from the training split only.
	Infer dataset.InferOptions
	// Threshold is the probability at or above which a prediction counts
	// as churn for acc, val_acc, precision, recall and f1; 0 means 0.5.
	Threshold float64
	// Logger receives the run's log lines; nil discards them.
	Logger *slog.Logger
	// Observer sees data, batches and validations as they happen (to draw
	// a progress bar); nil means none.
	Observer Observer
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventData: the data are loaded and preprocessed (Report, rows).
	EventData EventKind = iota + 1
	// EventBatch: one batch was trained (Steps, Total, Metrics with the
	// running loss and acc since the last report).
	EventBatch
	// EventValidation: a validation and its checkpoint are done (Steps,
	// Total, Metrics, Checkpoint).
	EventValidation
)

// Event is one thing an Observer is told.
type Event struct {
	Kind EventKind
	// Steps is the number of batches trained; Total the current
	// operation's length.
	Steps, Total int
	// Metrics are the running training metrics (EventBatch) or the
	// validation metrics (EventValidation).
	Metrics Metrics
	// Checkpoint is the id of the checkpoint stored (EventValidation).
	Checkpoint string
	// Report, TrainRows and ValRows describe the data (EventData).
	Report             *dataset.Report
	TrainRows, ValRows int
}

// Observer receives Events from the goroutine that runs the loop; it must
// return quickly.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f(e).
func (f ObserverFunc) Observe(e Event) { f(e) }

// CheckpointRef names a stored checkpoint and the metrics at its steps.
type CheckpointRef struct {
	ID      string  `json:"id"`
	Steps   int     `json:"steps"`
	Metrics Metrics `json:"metrics"`
}

// Result is what Run did.
type Result struct {
	// Status says how the run ended.
	Status Status
	// Steps is the number of batches trained in all, counting those of the
	// checkpoint the run resumed from.
	Steps int
	// StartSteps is the number of batches the run started at (resumed).
	StartSteps int
	// Training and Validation are the last metrics reported.
	Training, Validation Metrics
	// Best is the checkpoint with the best searcher metric; Latest the
	// last stored. Their IDs are empty when no checkpoint was stored.
	Best, Latest CheckpointRef
	// ROC is the curve of the last validation.
	ROC ROC
	// Report describes the data; TrainRows and ValRows the split.
	Report             *dataset.Report
	TrainRows, ValRows int
	// Data lists the data sources and their sha256.
	Data []checkpoint.DataFile
	// Elapsed is the run's wall time, data loading included.
	Elapsed time.Duration
}
