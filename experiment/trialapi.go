package experiment

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Metric groups of the generic metrics endpoint.
const (
	GroupTraining   = "training"
	GroupValidation = "validation"
)

// trialMetrics is the TrialMetrics message.
type trialMetrics struct {
	TrialID        int          `json:"trialId"`
	TrialRunID     int          `json:"trialRunId"`
	StepsCompleted int          `json:"stepsCompleted"`
	Metrics        metricValues `json:"metrics"`
	ReportTime     string       `json:"reportTime,omitempty"`
}

type metricValues struct {
	AvgMetrics map[string]any `json:"avgMetrics"`
}

// jsonMetrics encodes non-finite values as the SDK does ("NaN",
// "Infinity", "-Infinity"): JSON numbers cannot carry them.
func jsonMetrics(m map[string]float64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case math.IsNaN(v):
			out[k] = "NaN"
		case math.IsInf(v, 1):
			out[k] = "Infinity"
		case math.IsInf(v, -1):
			out[k] = "-Infinity"
		default:
			out[k] = v
		}
	}
	return out
}

func trialPath(id int, rest string) string {
	return "/api/v1/trials/" + strconv.Itoa(id) + rest
}

// MetricsReport is one report of metrics for a trial run.
type MetricsReport struct {
	TrialID    int
	TrialRunID int
	Group      string
	Steps      int
	Metrics    map[string]float64
	Time       time.Time
}

// ReportMetrics posts one metrics report: the generic endpoint with a
// group on masters >= 0.23, /training_metrics or /validation_metrics
// before. Reports are retried: losing one is worse than a duplicate.
func (c *Client) ReportMetrics(ctx context.Context, p Protocol, m MetricsReport) error {
	return c.ReportMetricsPolicy(ctx, p, m, nil)
}

// ReportMetricsPolicy is ReportMetrics with another retry policy (nil:
// the client's).
func (c *Client) ReportMetricsPolicy(ctx context.Context, p Protocol, m MetricsReport,
	policy *RetryPolicy) error {
	tm := trialMetrics{TrialID: m.TrialID, TrialRunID: m.TrialRunID, StepsCompleted: m.Steps,
		Metrics: metricValues{AvgMetrics: jsonMetrics(m.Metrics)}}
	if !m.Time.IsZero() && p.Version.AtLeast(0, 23) {
		tm.ReportTime = m.Time.UTC().Format(time.RFC3339Nano)
	}
	if p.GenericMetrics {
		body := struct {
			Metrics trialMetrics `json:"metrics"`
			Group   string       `json:"group"`
		}{tm, m.Group}
		return c.do(ctx, request{method: http.MethodPost,
			path: trialPath(m.TrialID, "/metrics"), body: body, retry: true, policy: policy,
			duplicate: duplicateMetrics})
	}
	rest := "/training_metrics"
	if m.Group == GroupValidation {
		rest = "/validation_metrics"
	}
	return c.do(ctx, request{method: http.MethodPost, path: trialPath(m.TrialID, rest),
		body: tm, retry: true, policy: policy, duplicate: duplicateMetrics})
}

// duplicateMetrics recognises the master's refusal of metric keys it
// already holds for the report's trial run, group and step. Only this
// process reports for its trialRunId, and it reports each group and step
// once, so after an attempt with a lost answer the keys it finds are this
// report's own.
func duplicateMetrics(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.Message)
	return errors.Is(err, ErrAlreadyExists) || strings.Contains(msg, "overlapping") ||
		strings.Contains(msg, "already reported")
}

// duplicateCheckpoint recognises the master's refusal of a checkpoint
// uuid it already holds; the uuid is fresh for every checkpoint, so after
// an attempt with a lost answer it is this report's own.
func duplicateCheckpoint(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	msg := strings.ToLower(ae.Message)
	return errors.Is(err, ErrAlreadyExists) || strings.Contains(msg, "already exists") ||
		strings.Contains(msg, "duplicate key")
}

// ReportCheckpoint registers a stored checkpoint (the body is the
// Checkpoint itself).
func (c *Client) ReportCheckpoint(ctx context.Context, cp *Checkpoint) error {
	return c.do(ctx, request{method: http.MethodPost, path: "/api/v1/checkpoints", body: cp,
		retry: true, duplicate: duplicateCheckpoint})
}

// RunsStart registers the run's checkpoint storage (masters >= 0.29) and
// returns the storage id to put in checkpoint reports.
func (c *Client) RunsStart(ctx context.Context, runID int, storage map[string]any) (*int, error) {
	body := struct {
		RunID             int            `json:"runId"`
		CheckpointStorage map[string]any `json:"checkpointStorage,omitempty"`
	}{runID, storage}
	var out struct {
		StorageID *int `json:"storageId"`
	}
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/runs/start", body: body,
		out: &out, retry: true})
	return out.StorageID, err
}

// ReportProgress posts progress: a fraction with isRaw on masters >= 0.37,
// else the bare number units (searcher length units).
func (c *Client) ReportProgress(ctx context.Context, p Protocol, trialID int,
	fraction, units float64) error {
	return c.reportProgress(ctx, p, trialID, fraction, units, nil)
}

// reportProgress is ReportProgress under policy (nil: the client's).
func (c *Client) reportProgress(ctx context.Context, p Protocol, trialID int,
	fraction, units float64, policy *RetryPolicy) error {
	var body any = units
	if p.ProgressObject {
		body = struct {
			Progress float64 `json:"progress"`
			IsRaw    bool    `json:"isRaw"`
		}{fraction, true}
	}
	return c.do(ctx, request{method: http.MethodPost, path: trialPath(trialID, "/progress"),
		body: body, retry: true, policy: policy})
}

// EarlyExitInvalidHP tells the master the trial stops because its
// hyperparameters (or data) cannot work; the trial then exits 0.
func (c *Client) EarlyExitInvalidHP(ctx context.Context, trialID int) error {
	body := map[string]string{"reason": "EXITED_REASON_INVALID_HP"}
	return c.do(ctx, request{method: http.MethodPost, path: trialPath(trialID, "/early_exit"),
		body: body, retry: true})
}

// Preemption long-polls the preemption signal of allocation id for up to
// timeoutSeconds.
func (c *Client) Preemption(ctx context.Context, allocationID string, timeoutSeconds int) (
	bool, error) {
	var out struct {
		Preempt bool `json:"preempt"`
	}
	q := url.Values{"timeout_seconds": {strconv.Itoa(timeoutSeconds)}}
	err := c.do(ctx, request{method: http.MethodGet,
		path:  "/api/v1/allocations/" + url.PathEscape(allocationID) + "/signals/preemption",
		query: q, out: &out, retry: true,
		timeout: time.Duration(timeoutSeconds+10) * time.Second})
	return out.Preempt, err
}

// AckPreemption acknowledges the preemption signal before a clean exit.
func (c *Client) AckPreemption(ctx context.Context, allocationID string) error {
	return c.do(ctx, request{method: http.MethodPost,
		path: "/api/v1/allocations/" + url.PathEscape(allocationID) + "/signals/ack_preemption",
		body: struct{}{}, retry: true})
}

// SearcherOperation asks a < 0.38 master for the trial's next operation:
// the absolute length to train to, or completed.
func (c *Client) SearcherOperation(ctx context.Context, trialID int) (int, bool, error) {
	var out struct {
		Op *struct {
			ValidateAfter *struct {
				Length Int64 `json:"length"`
			} `json:"validateAfter"`
		} `json:"op"`
		Completed bool `json:"completed"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: trialPath(trialID, "/searcher/operation"),
		out: &out, retry: true})
	if err != nil || out.Completed {
		return 0, out.Completed, err
	}
	if out.Op == nil || out.Op.ValidateAfter == nil {
		return 0, false, &APIError{Method: http.MethodGet, Status: http.StatusOK,
			Path: trialPath(trialID, "/searcher/operation"), Message: "answer has no op"}
	}
	return int(out.Op.ValidateAfter.Length), false, nil
}

// CompleteOperation reports a < 0.38 searcher operation done.
func (c *Client) CompleteOperation(ctx context.Context, trialID, length int, metric float64) error {
	body := struct {
		Op struct {
			Length Int64 `json:"length"`
		} `json:"op"`
		SearcherMetric float64 `json:"searcherMetric"`
	}{SearcherMetric: metric}
	body.Op.Length = Int64(length)
	return c.do(ctx, request{method: http.MethodPost,
		path: trialPath(trialID, "/searcher/completed_operation"), body: body, retry: true})
}

// TrialStart is the answer of POST /api/v1/trials/{id}/start.
type TrialStart struct {
	TrialRunID       int    `json:"trialRunId"`
	LatestCheckpoint string `json:"latestCheckpoint"`
	StepsCompleted   int    `json:"stepsCompleted"`
}

// CreateTrial creates an unmanaged trial of experiment expID; with an
// external id it is PUT (idempotent), else POSTed.
func (c *Client) CreateTrial(ctx context.Context, expID int, hparams map[string]any,
	externalID string) (*Trial, error) {
	type create struct {
		ExperimentID int            `json:"experimentId"`
		Hparams      map[string]any `json:"hparams"`
		Unmanaged    bool           `json:"unmanaged"`
	}
	cr := create{ExperimentID: expID, Hparams: hparams, Unmanaged: true}
	var out struct {
		Trial Trial `json:"trial"`
	}
	r := request{method: http.MethodPost, path: "/api/v1/trials", body: cr, out: &out}
	if externalID != "" {
		r.method, r.retry = http.MethodPut, true
		r.body = struct {
			CreateTrialRequest create `json:"createTrialRequest"`
			ExternalTrialID    string `json:"externalTrialId"`
		}{cr, externalID}
	}
	if err := c.do(ctx, r); err != nil {
		return nil, err
	}
	return &out.Trial, nil
}

// StartTrial starts a run of an unmanaged trial. It always sends
// resume: true (resume: false fails on 0.38.1 masters).
func (c *Client) StartTrial(ctx context.Context, trialID int) (*TrialStart, error) {
	body := struct {
		TrialID int  `json:"trialId"`
		Resume  bool `json:"resume"`
	}{trialID, true}
	var out TrialStart
	err := c.do(ctx, request{method: http.MethodPost, path: trialPath(trialID, "/start"),
		body: body, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PatchTrial sends an unmanaged trial's heartbeat; a non-empty state
// (STATE_RUNNING, STATE_COMPLETED, STATE_ERROR) also changes its state.
func (c *Client) PatchTrial(ctx context.Context, trialID int, state string) error {
	body := struct {
		TrialID int    `json:"trialId"`
		State   string `json:"state,omitempty"`
	}{trialID, state}
	return c.do(ctx, request{method: http.MethodPatch, path: trialPath(trialID, ""), body: body,
		retry: true})
}
