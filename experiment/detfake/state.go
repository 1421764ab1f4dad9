package detfake

import (
	"fmt"
	"time"

	"sigs.k8s.io/yaml"
)

// experiment is an experiment the fake keeps.
type experiment struct {
	id             int
	name           string
	state          string
	config         map[string]any
	originalConfig string
	modelDef       []any
	modelDefSize   int
	unmanaged      bool
	externalID     string
	trialIDs       []int
	projectID      int
	startTime      time.Time
	endTime        *time.Time
	jobID          string
	progress       float64
	killed         bool
}

// trialState is a trial the fake keeps.
type trialState struct {
	id           int
	expID        int
	state        string
	hparams      map[string]any
	taskID       string
	runID        int
	allocationID string
	allocToken   string
	restarts     int
	preempt      bool
	preemptCh    chan struct{}
	preemptAt    int
	acked        bool
	earlyExit    bool
	opsDone      bool
	opLength     int
	startTime    time.Time
	endTime      *time.Time
	totalBatches int
	storageID    *int
	unmanaged    bool
	externalID   string
	progress     float64
	seed         uint32
}

// checkpointRec is a reported checkpoint.
type checkpointRec struct {
	body    map[string]any
	trialID int
	expID   int
	steps   int
}

// Metric is one metrics report the fake accepted.
type Metric struct {
	TrialID    int
	TrialRunID int
	Group      string
	Steps      int
	Avg        map[string]any
}

// model is a model of the registry with its versions.
type model struct {
	id          int
	name        string
	description string
	metadata    map[string]any
	labels      []string
	notes       string
	created     time.Time
	versions    []*version
}

// version is a registered model version.
type version struct {
	id       int
	num      int
	name     string
	comment  string
	notes    string
	labels   []string
	metadata map[string]any
	uuid     string
	created  time.Time
}

const stamp = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(stamp) }

func tsOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// mergeConfig parses a submitted config and fills the defaults a 0.38.1
// master adds (the subset tests read).
func mergeConfig(text string, unmanaged bool) (map[string]any, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil || cfg == nil {
		return nil, fmt.Errorf("invalid experiment configuration: %v", err)
	}
	if res, ok := cfg["resources"].(map[string]any); ok && res["slots"] != nil {
		return nil, fmt.Errorf("invalid experiment configuration: resources.slots is not allowed")
	}
	if cfg["entrypoint"] == nil && !unmanaged {
		return nil, fmt.Errorf("invalid experiment configuration: entrypoint is required")
	}
	s, ok := cfg["searcher"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("invalid experiment configuration: searcher is required")
	}
	if _, ok := s["smaller_is_better"]; !ok {
		s["smaller_is_better"] = true
	}
	for _, k := range []string{"source_checkpoint_uuid", "source_trial_id"} {
		if _, ok := s[k]; !ok {
			s[k] = nil
		}
	}
	defaults := map[string]any{"max_restarts": 5.0, "hyperparameters": map[string]any{},
		"data": map[string]any{}, "labels": []any{}, "entrypoint": nil, "description": nil,
		"checkpoint_policy": "best", "workspace": "", "project": "",
		"checkpoint_storage": map[string]any{"type": "shared_fs", "host_path": "/tmp",
			"storage_path": "determined-checkpoint"}}
	for k, v := range defaults {
		if cfg[k] == nil {
			cfg[k] = v
		}
	}
	cs, _ := cfg["checkpoint_storage"].(map[string]any)
	for k, v := range map[string]any{"save_experiment_best": 0.0, "save_trial_best": 1.0,
		"save_trial_latest": 1.0, "storage_path": nil, "propagation": "rprivate"} {
		if _, ok := cs[k]; !ok && (k != "propagation" || cs["type"] == "shared_fs") {
			cs[k] = v
		}
	}
	return cfg, nil
}

// experimentBody is the Experiment message as 0.38.1 writes it.
func (m *Master) experimentBody(e *experiment) map[string]any {
	desc, _ := e.config["description"].(string)
	labels, _ := e.config["labels"].([]any)
	return map[string]any{
		"id": e.id, "description": desc, "labels": orEmpty(labels),
		"startTime": ts(e.startTime), "endTime": tsOrNil(e.endTime), "state": e.state,
		"archived": false, "numTrials": len(e.trialIDs), "trialIds": orEmpty(e.trialIDs),
		"displayName": "", "userId": 1, "username": "admin", "resourcePool": "",
		"searcherType": `"single"`, "searcherMetric": "", "hyperparameters": nil,
		"name": e.name, "notes": "", "jobId": e.jobID, "forkedFrom": nil,
		"progress": e.progress, "projectId": e.projectID, "projectName": "Uncategorized",
		"workspaceId": 1, "workspaceName": "Uncategorized", "parentArchived": false,
		"config": e.config, "originalConfig": e.originalConfig, "projectOwnerId": 1,
		"checkpointSize":  fmt.Sprint(m.checkpointSize(e.id, 0)),
		"checkpointCount": m.checkpointCount(e.id, 0), "unmanaged": e.unmanaged,
		"modelDefinitionSize": e.modelDefSize,
	}
}

// trialBody is the Trial message as 0.38.1 writes it.
func (m *Master) trialBody(t *trialState) map[string]any {
	return map[string]any{
		"id": t.id, "experimentId": t.expID, "startTime": ts(t.startTime),
		"endTime": tsOrNil(t.endTime), "state": t.state, "restarts": t.restarts,
		"hparams": orEmptyMap(t.hparams), "totalBatchesProcessed": t.totalBatches,
		"bestValidation": nil, "latestValidation": nil, "bestCheckpoint": nil,
		"runnerState": "", "wallClockTime": 0, "warmStartCheckpointUuid": "",
		"taskId": t.taskID, "totalCheckpointSize": fmt.Sprint(m.checkpointSize(0, t.id)),
		"checkpointCount": m.checkpointCount(0, t.id), "summaryMetrics": map[string]any{},
		"taskIds": []string{t.taskID}, "searcherMetricValue": 0,
	}
}

// checkpointSize sums the resources of the checkpoints of an experiment
// or a trial.
func (m *Master) checkpointSize(expID, trialID int) int64 {
	var n int64
	for _, c := range m.checkpoints {
		if (expID != 0 && c.expID == expID) || (trialID != 0 && c.trialID == trialID) {
			res, _ := c.body["resources"].(map[string]any)
			for _, v := range res {
				var x int64
				_, _ = fmt.Sscan(fmt.Sprint(v), &x)
				n += x
			}
		}
	}
	return n
}

func (m *Master) checkpointCount(expID, trialID int) int {
	n := 0
	for _, c := range m.checkpoints {
		if (expID != 0 && c.expID == expID) || (trialID != 0 && c.trialID == trialID) {
			n++
		}
	}
	return n
}

// checkpointBody is a Checkpoint with the training block the master
// fills in on reads.
func (m *Master) checkpointBody(c *checkpointRec) map[string]any {
	out := map[string]any{}
	for k, v := range c.body {
		if k != "allocationId" {
			out[k] = v
		}
	}
	e := m.experiments[c.expID]
	t := m.trials[c.trialID]
	training := map[string]any{"trialId": c.trialID, "experimentId": c.expID,
		"experimentConfig": e.config, "hparams": orEmptyMap(t.hparams)}
	if avg := m.metricAt(c.trialID, "training", c.steps); avg != nil {
		training["trainingMetrics"] = map[string]any{"avgMetrics": avg, "batchMetrics": []any{}}
	}
	if avg := m.metricAt(c.trialID, "validation", c.steps); avg != nil {
		training["validationMetrics"] = map[string]any{"avgMetrics": avg,
			"batchMetrics": []any{}}
		s, _ := e.config["searcher"].(map[string]any)
		if v, ok := avg[fmt.Sprint(s["metric"])].(float64); ok {
			training["searcherMetric"] = v
		}
	}
	out["training"] = training
	return out
}

// metricAt merges the reports of a group at steps from the latest run.
func (m *Master) metricAt(trialID int, group string, steps int) map[string]any {
	var out map[string]any
	for _, r := range m.metrics {
		if r.TrialID == trialID && r.Group == group && r.Steps == steps {
			if out == nil {
				out = map[string]any{}
			}
			for k, v := range r.Avg {
				out[k] = v
			}
		}
	}
	return out
}

// modelBody is the Model message.
func modelBody(md *model, userID int) map[string]any {
	return map[string]any{"name": md.name, "description": md.description,
		"metadata": orEmptyMap(md.metadata), "creationTime": ts(md.created),
		"lastUpdatedTime": ts(md.created), "id": md.id, "numVersions": len(md.versions),
		"labels": orEmpty(md.labels), "username": "admin", "workspaceId": 1,
		"userId": userID, "archived": false, "notes": md.notes}
}

// versionBody is the ModelVersion message.
func (m *Master) versionBody(md *model, v *version) map[string]any {
	return map[string]any{"model": modelBody(md, 1),
		"checkpoint": m.checkpointBody(m.checkpoints[v.uuid]), "version": v.num,
		"creationTime": ts(v.created), "id": v.id, "name": v.name,
		"metadata": orEmptyMap(v.metadata), "lastUpdatedTime": ts(v.created),
		"comment": v.comment, "username": "admin", "userId": 1,
		"labels": orEmpty(v.labels), "notes": v.notes}
}

func pagination(n int) map[string]any {
	return map[string]any{"offset": 0, "limit": 0, "startIndex": 0, "endIndex": n, "total": n}
}

// sampleHparams picks a value for each hyperparameter definition, as a
// searcher would: const values as given, the lower bound of ranges, the
// first categorical value; nested maps without a type recurse.
func sampleHparams(defs map[string]any) map[string]any {
	out := map[string]any{}
	for k, d := range defs {
		m, ok := d.(map[string]any)
		if !ok {
			out[k] = d
			continue
		}
		switch m["type"] {
		case "const":
			out[k] = m["val"]
		case "int", "double", "log":
			out[k] = m["minval"]
		case "categorical":
			if vals, _ := m["vals"].([]any); len(vals) > 0 {
				out[k] = vals[0]
			}
		case nil:
			out[k] = sampleHparams(m)
		}
	}
	return out
}
