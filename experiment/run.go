package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/churn-pdk/churn/trial"
)

// run is what the cluster and the unmanaged contexts share: a trial run's
// identity on the master, its metrics queue and its checkpoint storage.
type run struct {
	client       *Client
	proto        Protocol
	log          *slog.Logger
	trialID      int
	runID        int
	taskID       string
	allocationID *string
	storage      Storage
	storageID    *int
	info         trial.Info
	queue        *metricsQueue
	now          func() time.Time
}

// startQueue starts the metrics queue of r.
func (r *run) startQueue(ctx context.Context) {
	r.queue = newMetricsQueue(ctx, 1000, func(ctx context.Context, m MetricsReport) error {
		return r.client.withPolicy(reportPolicy).ReportMetrics(ctx, r.proto, m)
	})
}

func (r *run) report(ctx context.Context, group string, steps int, m trial.Metrics) error {
	return r.queue.Enqueue(ctx, MetricsReport{TrialID: r.trialID, TrialRunID: r.runID,
		Group: group, Steps: steps, Metrics: m, Time: r.now()})
}

// ReportTraining queues training metrics at steps.
func (r *run) ReportTraining(ctx context.Context, steps int, m trial.Metrics) error {
	return r.report(ctx, GroupTraining, steps, m)
}

// ReportValidation queues validation metrics at steps.
func (r *run) ReportValidation(ctx context.Context, steps int, m trial.Metrics) error {
	return r.report(ctx, GroupValidation, steps, m)
}

// Info describes the run.
func (r *run) Info() trial.Info { return r.info }

// StoreCheckpoint flushes the metrics (so that the master can link the
// validation at steps to it), lets write fill a fresh directory, stores
// it and reports it.
func (r *run) StoreCheckpoint(ctx context.Context, steps int,
	write func(dir string) error) (string, error) {
	if err := r.queue.Flush(ctx); err != nil {
		return "", err
	}
	id := uuid.NewString()
	dir, err := r.storage.Begin(id)
	if err != nil {
		return "", err
	}
	cp, err := r.fill(id, dir, steps, write)
	if err != nil {
		r.storage.Abort(dir)
		return "", err
	}
	if err := r.storage.Commit(ctx, id, dir); err != nil {
		r.storage.Abort(dir)
		return "", err
	}
	if err := r.client.withPolicy(reportPolicy).ReportCheckpoint(ctx, cp); err != nil {
		return "", fmt.Errorf("experiment: checkpoint %s stored but not reported: %w", id, err)
	}
	r.log.InfoContext(ctx, "checkpoint stored", "checkpoint", id, "steps", steps)
	return id, nil
}

// fill runs write and builds the checkpoint report from dir.
func (r *run) fill(id, dir string, steps int, write func(string) error) (*Checkpoint, error) {
	if err := write(dir); err != nil {
		return nil, err
	}
	meta, err := checkpointMetadata(dir, steps)
	if err != nil {
		return nil, err
	}
	res, err := resources(dir)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{UUID: id, TaskID: r.taskID, AllocationID: r.allocationID,
		ReportTime: r.now().UTC().Format(time.RFC3339Nano), Resources: res, Metadata: meta,
		State: "STATE_COMPLETED", StorageID: r.storageID}, nil
}

// checkpointMetadata reads dir/metadata.json (writing {"steps_completed":
// steps} when the writer left none) and checks its steps_completed.
func checkpointMetadata(dir string, steps int) (map[string]any, error) {
	name := filepath.Join(dir, "metadata.json")
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		meta := map[string]any{"steps_completed": steps}
		b, _ = json.MarshalIndent(meta, "", "  ")
		return meta, os.WriteFile(name, b, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("experiment: checkpoint metadata: %w", err)
	}
	var meta map[string]any
	if err := json.Unmarshal(b, &meta); err != nil || meta == nil {
		return nil, fmt.Errorf("experiment: checkpoint metadata.json: not a JSON object")
	}
	got, ok := meta["steps_completed"].(float64)
	if !ok || int(got) != steps {
		return nil, fmt.Errorf("experiment: checkpoint metadata.json: steps_completed %v, want %d",
			meta["steps_completed"], steps)
	}
	return meta, nil
}

// RestoreCheckpoint makes checkpoint id readable locally.
func (r *run) RestoreCheckpoint(ctx context.Context, id string) (string, func(), error) {
	return r.storage.Open(ctx, id)
}

// sameTrial reports whether checkpoint id was written by trial trialID:
// metadata.trial_id when present, else the master's training.trialId.
func sameTrial(ctx context.Context, c *Client, id string, trialID int) (bool, error) {
	cp, err := c.GetCheckpoint(ctx, id)
	if err != nil {
		return false, fmt.Errorf("experiment: latest checkpoint %s: %w", id, err)
	}
	want := strconv.Itoa(trialID)
	switch v := cp.Metadata["trial_id"].(type) {
	case string:
		return v == want, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64) == want, nil
	}
	if cp.Training.TrialID != nil {
		return *cp.Training.TrialID == trialID, nil
	}
	return false, nil
}

// withPolicy returns a client sharing c's connection and credentials
// with another retry policy.
func (c *Client) withPolicy(p RetryPolicy) *policyClient {
	return &policyClient{c: c, p: p.withDefaults()}
}

// policyClient runs reports under a longer retry policy.
type policyClient struct {
	c *Client
	p RetryPolicy
}

// ReportMetrics is Client.ReportMetrics under the policy.
func (pc *policyClient) ReportMetrics(ctx context.Context, p Protocol, m MetricsReport) error {
	return pc.c.ReportMetricsPolicy(ctx, p, m, &pc.p)
}

// ReportCheckpoint is Client.ReportCheckpoint under the policy.
func (pc *policyClient) ReportCheckpoint(ctx context.Context, cp *Checkpoint) error {
	return pc.c.do(ctx, request{method: http.MethodPost, path: "/api/v1/checkpoints", body: cp,
		retry: true, policy: &pc.p, duplicate: duplicateCheckpoint})
}
