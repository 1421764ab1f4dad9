package experiment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// CreateModelRequest is the body of POST /api/v1/models.
type CreateModelRequest struct {
	Name          string         `json:"name"`
	Description   string         `json:"description,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
	Labels        []string       `json:"labels,omitempty"`
	WorkspaceName string         `json:"workspaceName,omitempty"`
	Notes         string         `json:"notes,omitempty"`
}

// RegisterRequest is the body of POST /api/v1/models/{name}/versions.
type RegisterRequest struct {
	ModelName      string         `json:"modelName"`
	CheckpointUUID string         `json:"checkpointUuid"`
	Name           string         `json:"name,omitempty"`
	Comment        string         `json:"comment,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
	Labels         []string       `json:"labels,omitempty"`
	Notes          string         `json:"notes,omitempty"`
}

func modelPath(name string) string { return "/api/v1/models/" + url.PathEscape(name) }

// GetModel reads model name (ErrNotFound when there is none).
func (c *Client) GetModel(ctx context.Context, name string) (*Model, error) {
	var out struct {
		Model Model `json:"model"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: modelPath(name), out: &out,
		retry: true})
	if err != nil {
		return nil, err
	}
	return &out.Model, nil
}

// CreateModel creates a model (ErrAlreadyExists when the name is taken).
func (c *Client) CreateModel(ctx context.Context, req CreateModelRequest) (*Model, error) {
	var out struct {
		Model Model `json:"model"`
	}
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/models", body: req,
		out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	return &out.Model, nil
}

// EnsureModel returns model req.Name, creating it when missing; a
// creation that loses a race (409) reads the winner's model.
func (c *Client) EnsureModel(ctx context.Context, req CreateModelRequest) (*Model, error) {
	m, err := c.GetModel(ctx, req.Name)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return m, err
	}
	m, err = c.CreateModel(ctx, req)
	if errors.Is(err, ErrAlreadyExists) {
		return c.GetModel(ctx, req.Name)
	}
	return m, err
}

// RegisterVersion adds checkpoint req.CheckpointUUID as the next version
// of model req.ModelName. It is not retried (a repeat adds a version).
func (c *Client) RegisterVersion(ctx context.Context, req RegisterRequest) (*ModelVersion, error) {
	var out struct {
		ModelVersion ModelVersion `json:"modelVersion"`
	}
	err := c.do(ctx, request{method: http.MethodPost, path: modelPath(req.ModelName) + "/versions",
		body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out.ModelVersion, nil
}

// ModelVersion reads version n of model name; n <= 0 means the latest.
func (c *Client) ModelVersion(ctx context.Context, name string, n int) (*ModelVersion, error) {
	if n > 0 {
		var out struct {
			ModelVersion ModelVersion `json:"modelVersion"`
		}
		err := c.do(ctx, request{method: http.MethodGet,
			path: modelPath(name) + "/versions/" + strconv.Itoa(n), out: &out, retry: true})
		if err != nil {
			return nil, err
		}
		return &out.ModelVersion, nil
	}
	q := url.Values{"sortBy": {"SORT_BY_VERSION"}, "orderBy": {"ORDER_BY_DESC"},
		"limit": {"1"}}
	var out struct {
		ModelVersions []ModelVersion `json:"modelVersions"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: modelPath(name) + "/versions",
		query: q, out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	if len(out.ModelVersions) == 0 {
		return nil, fmt.Errorf("%w: model %q has no versions", ErrNotFound, name)
	}
	return &out.ModelVersions[0], nil
}

// RegisterOptions say how RegisterBest names the version.
type RegisterOptions struct {
	Model       string
	Experiment  int
	VersionName string
	Notes       string
	// Description is used when the model has to be created.
	Description string
}

// RegisterBest registers experiment opts.Experiment's best checkpoint (by
// its searcher metric) as a new version of model opts.Model, creating the
// model when missing.
func (c *Client) RegisterBest(ctx context.Context, opts RegisterOptions) (*ModelVersion, error) {
	best, err := c.BestCheckpoint(ctx, opts.Experiment)
	if err != nil {
		return nil, err
	}
	_, err = c.EnsureModel(ctx, CreateModelRequest{Name: opts.Model,
		Description: opts.Description, Labels: []string{"churn"}})
	if err != nil {
		return nil, err
	}
	meta := map[string]any{"experiment_id": opts.Experiment,
		"steps_completed": best.StepsCompleted()}
	if best.Training.TrialID != nil {
		meta["trial_id"] = *best.Training.TrialID
	}
	if best.Training.SearcherMetric != nil {
		meta["searcher_metric"] = *best.Training.SearcherMetric
	}
	return c.RegisterVersion(ctx, RegisterRequest{ModelName: opts.Model,
		CheckpointUUID: best.UUID, Name: opts.VersionName, Notes: opts.Notes,
		Comment:  fmt.Sprintf("best checkpoint of experiment %d", opts.Experiment),
		Metadata: meta})
}
