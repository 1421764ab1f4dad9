package experiment

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// CreateExperimentRequest is the body of POST /api/v1/experiments (and of
// PUT /api/v1/experiments/by-external-id/{id}, unwrapped).
type CreateExperimentRequest struct {
	// Config is the experiment config as YAML or JSON text.
	Config          string `json:"config"`
	ModelDefinition []File `json:"modelDefinition,omitempty"`
	Activate        bool   `json:"activate,omitempty"`
	ProjectID       int    `json:"projectId,omitempty"`
	Unmanaged       bool   `json:"unmanaged,omitempty"`
}

// CreateExperimentResponse is the master's answer to a creation.
type CreateExperimentResponse struct {
	Experiment Experiment     `json:"experiment"`
	Config     map[string]any `json:"config"`
	Warnings   []any          `json:"warnings"`
}

// CreateExperiment submits an experiment. It is not retried: a repeat
// could create a second experiment.
func (c *Client) CreateExperiment(ctx context.Context, req CreateExperimentRequest) (
	*CreateExperimentResponse, error) {
	var out CreateExperimentResponse
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/experiments", body: req,
		out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PutExperiment creates or finds the unmanaged experiment with the given
// external id (idempotent; the body is the bare creation request).
func (c *Client) PutExperiment(ctx context.Context, externalID string,
	req CreateExperimentRequest) (*CreateExperimentResponse, error) {
	var out CreateExperimentResponse
	err := c.do(ctx, request{method: http.MethodPut,
		path: "/api/v1/experiments/by-external-id/" + url.PathEscape(externalID),
		body: req, out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetExperiment reads experiment id.
func (c *Client) GetExperiment(ctx context.Context, id int) (*Experiment, error) {
	var out struct {
		Experiment Experiment     `json:"experiment"`
		Config     map[string]any `json:"config"`
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/experiments/" + strconv.Itoa(id),
		out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	if out.Experiment.Config == nil {
		out.Experiment.Config = out.Config
	}
	return &out.Experiment, nil
}

// KillExperiment stops experiment id at once.
func (c *Client) KillExperiment(ctx context.Context, id int) error {
	return c.do(ctx, request{method: http.MethodPost,
		path: "/api/v1/experiments/" + strconv.Itoa(id) + "/kill", retry: true})
}

// ExperimentTrials lists the trials of experiment id.
func (c *Client) ExperimentTrials(ctx context.Context, id int) ([]Trial, error) {
	var all []Trial
	path := "/api/v1/experiments/" + strconv.Itoa(id) + "/trials"
	err := c.pages(ctx, path, nil, func(dec func(any) error) (Pagination, error) {
		var out struct {
			Trials     []Trial    `json:"trials"`
			Pagination Pagination `json:"pagination"`
		}
		err := dec(&out)
		all = append(all, out.Trials...)
		return out.Pagination, err
	})
	return all, err
}

// ExperimentCheckpoints lists experiment id's checkpoints in the given
// states (all states when none), every page.
func (c *Client) ExperimentCheckpoints(ctx context.Context, id int, states ...string) (
	[]Checkpoint, error) {
	q := url.Values{}
	for _, s := range states {
		q.Add("states", s)
	}
	var all []Checkpoint
	path := "/api/v1/experiments/" + strconv.Itoa(id) + "/checkpoints"
	err := c.pages(ctx, path, q, func(dec func(any) error) (Pagination, error) {
		var out struct {
			Checkpoints []Checkpoint `json:"checkpoints"`
			Pagination  Pagination   `json:"pagination"`
		}
		err := dec(&out)
		all = append(all, out.Checkpoints...)
		return out.Pagination, err
	})
	return all, err
}

// GetCheckpoint reads checkpoint uuid.
func (c *Client) GetCheckpoint(ctx context.Context, uuid string) (*Checkpoint, error) {
	var out struct {
		Checkpoint Checkpoint `json:"checkpoint"`
	}
	err := c.do(ctx, request{method: http.MethodGet,
		path: "/api/v1/checkpoints/" + url.PathEscape(uuid), out: &out, retry: true})
	if err != nil {
		return nil, err
	}
	return &out.Checkpoint, nil
}

// pages walks a paginated list: offset starts at 0, then endIndex, until
// endIndex reaches total.
func (c *Client) pages(ctx context.Context, path string, q url.Values,
	page func(dec func(any) error) (Pagination, error)) error {
	offset := 0
	for range 10000 {
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		if offset > 0 {
			pq.Set("offset", strconv.Itoa(offset))
		}
		p, err := page(func(v any) error {
			return c.do(ctx, request{method: http.MethodGet, path: path, query: pq, out: v,
				retry: true})
		})
		if err != nil {
			return err
		}
		if p.EndIndex >= p.Total || p.EndIndex <= offset {
			return nil
		}
		offset = p.EndIndex
	}
	return fmt.Errorf("experiment: GET %s: pagination does not end", path)
}

// Terminal experiment states, as the SDK's wait treats them.
var terminalStates = map[string]bool{
	"STATE_COMPLETED": true, "STATE_CANCELED": true, "STATE_ERROR": true,
	"STATE_DELETED": true,
}

// IsTerminal reports whether an experiment in state will not change.
func IsTerminal(state string) bool { return terminalStates[state] }

// WaitOptions configure WaitExperiment.
type WaitOptions struct {
	// Interval between polls; 0 means 5s.
	Interval time.Duration
	// OnState is called when the state changes (may be nil).
	OnState func(state string)
}

// ErrPaused is returned by WaitExperiment when the experiment is paused:
// it will not finish without someone activating it.
var ErrPaused = fmt.Errorf("experiment: experiment is paused")

// WaitExperiment polls experiment id until it reaches a terminal state and
// returns that state. A paused experiment returns ErrPaused.
func (c *Client) WaitExperiment(ctx context.Context, id int, opts WaitOptions) (string, error) {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	last := ""
	for {
		exp, err := c.GetExperiment(ctx, id)
		if err != nil {
			return last, err
		}
		if exp.State != last && opts.OnState != nil {
			opts.OnState(exp.State)
		}
		last = exp.State
		if IsTerminal(last) {
			return last, nil
		}
		if last == "STATE_PAUSED" {
			return last, fmt.Errorf("%w: experiment %d", ErrPaused, id)
		}
		if err := c.sleep(ctx, opts.Interval); err != nil {
			return last, fmt.Errorf("experiment: waiting for experiment %d: %w", id, err)
		}
	}
}

// SearcherSettings are the experiment config's searcher metric settings.
type SearcherSettings struct {
	Metric          string
	SmallerIsBetter bool
}

// SearcherOf reads searcher.metric and smaller_is_better (default true)
// from an experiment config.
func SearcherOf(config map[string]any) (SearcherSettings, error) {
	s, _ := config["searcher"].(map[string]any)
	metric, _ := s["metric"].(string)
	if metric == "" {
		return SearcherSettings{}, &ConfigError{Field: "searcher.metric", Reason: "missing"}
	}
	smaller := true
	if v, ok := s["smaller_is_better"].(bool); ok {
		smaller = v
	}
	return SearcherSettings{Metric: metric, SmallerIsBetter: smaller}, nil
}

// metricOf returns the checkpoint's value of metric: the validation
// metrics at its steps, else the searcher metric.
func metricOf(c *Checkpoint, metric string) (float64, bool) {
	if v := c.Training.ValidationMetrics; v != nil {
		if f, ok := v.AvgMetrics[metric].(float64); ok {
			return f, true
		}
	}
	if c.Training.SearcherMetric != nil {
		return *c.Training.SearcherMetric, true
	}
	return 0, false
}

// SortCheckpoints orders cps best first by s (checkpoints without the
// metric last; ties: more steps first, then uuid).
func SortCheckpoints(cps []Checkpoint, s SearcherSettings) {
	sort.SliceStable(cps, func(i, j int) bool {
		a, aok := metricOf(&cps[i], s.Metric)
		b, bok := metricOf(&cps[j], s.Metric)
		if aok != bok {
			return aok
		}
		if aok && a != b {
			return (a < b) == s.SmallerIsBetter
		}
		if si, sj := cps[i].StepsCompleted(), cps[j].StepsCompleted(); si != sj {
			return si > sj
		}
		return cps[i].UUID < cps[j].UUID
	})
}

// BestCheckpoint returns experiment id's best completed checkpoint by the
// searcher metric of the experiment's own config. It sorts on the client,
// which works with every master version.
func (c *Client) BestCheckpoint(ctx context.Context, id int) (*Checkpoint, error) {
	exp, err := c.GetExperiment(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := SearcherOf(exp.Config)
	if err != nil {
		return nil, fmt.Errorf("experiment %d: %w", id, err)
	}
	cps, err := c.ExperimentCheckpoints(ctx, id, "STATE_COMPLETED")
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, fmt.Errorf("%w: experiment %d has no completed checkpoint", ErrNotFound, id)
	}
	SortCheckpoints(cps, s)
	if _, ok := metricOf(&cps[0], s.Metric); !ok {
		return nil, fmt.Errorf("%w: no checkpoint of experiment %d has metric %q",
			ErrNotFound, id, s.Metric)
	}
	return &cps[0], nil
}
