package detfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// StartAllocation starts a run of managed trial id as the master does
// when it schedules the trial, and returns the container's environment
// (DET_* variables). The trial's latest checkpoint, or a warm-start
// source, is passed in DET_LATEST_CHECKPOINT.
func (m *Master) StartAllocation(trialID int) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trials[trialID]
	if t == nil {
		m.t.Fatalf("detfake: StartAllocation: no trial %d", trialID)
	}
	e := m.experiments[t.expID]
	t.runID++
	t.allocationID = fmt.Sprintf("%s.%d", t.taskID, t.runID)
	t.allocToken = fmt.Sprintf("v2.public.alloc-%d-%d%s", t.id, t.runID, m.salt)
	t.preempt, t.acked, t.preemptCh = false, false, make(chan struct{})
	t.state, e.state = "STATE_RUNNING", "STATE_ACTIVE"
	cfg, _ := json.Marshal(e.config)
	hp, _ := json.Marshal(orEmptyMap(t.hparams))
	env := map[string]string{
		"DET_MASTER": m.URL(), "DET_CLUSTER_ID": "3b5981d1-acdc-49b2-89a3-84cb6015aec4",
		"DET_EXPERIMENT_ID": strconv.Itoa(e.id), "DET_TRIAL_ID": strconv.Itoa(t.id),
		"DET_TRIAL_RUN_ID": strconv.Itoa(t.runID), "DET_ALLOCATION_ID": t.allocationID,
		"DET_TASK_ID": t.taskID, "DET_RESOURCES_ID": "0", "DET_SESSION_TOKEN": t.allocToken,
		"DET_USER": "admin", "DET_USER_TOKEN": m.newUserToken("admin"),
		"DET_TASK_TYPE": "TRIAL", "DET_RESOURCES_TYPE": "docker-container",
		"DET_TRIAL_SEED": fmt.Sprint(t.seed), "DET_HPARAMS": string(hp),
		"DET_EXPERIMENT_CONFIG": string(cfg), "DET_STEPS_COMPLETED": "0",
		"DET_WORKDIR": "/run/determined/workdir", "DET_SLOT_IDS": "[]",
	}
	if cp := m.latestCheckpoint(t.id); cp != nil {
		env["DET_LATEST_CHECKPOINT"] = cp.body["uuid"].(string)
		env["DET_STEPS_COMPLETED"] = strconv.Itoa(cp.steps)
	} else if s, _ := e.config["searcher"].(map[string]any); s["source_checkpoint_uuid"] != nil {
		env["DET_LATEST_CHECKPOINT"] = fmt.Sprint(s["source_checkpoint_uuid"])
	}
	return env
}

// EndAllocation records the exit code of the trial's current run and
// returns whether the master would start another run: after an
// acknowledged preemption (resume) or a failure within max_restarts.
func (m *Master) EndAllocation(trialID, exitCode int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trials[trialID]
	e := m.experiments[t.expID]
	t.allocToken = ""
	again := false
	switch {
	case e.killed:
		m.finish(t, e, "STATE_CANCELED")
	case t.earlyExit:
		m.finish(t, e, "STATE_COMPLETED")
	case exitCode != 0:
		t.restarts++
		limit, _ := e.config["max_restarts"].(float64)
		if t.restarts > int(limit) {
			m.finish(t, e, "STATE_ERROR")
		} else {
			again, t.state = true, "STATE_QUEUED"
		}
	case t.preempt && t.acked && !t.opsDone:
		again, t.state = true, "STATE_QUEUED"
	default:
		m.finish(t, e, "STATE_COMPLETED")
	}
	return again
}

// finish ends trial t and its experiment in state; the caller holds m.mu.
func (m *Master) finish(t *trialState, e *experiment, state string) {
	now := time.Now()
	t.state, t.endTime = state, &now
	for _, id := range e.trialIDs {
		if !terminal(m.trials[id].state) {
			return
		}
	}
	e.state, e.endTime = state, &now
	if state == "STATE_COMPLETED" {
		e.progress = 1
	}
}

// runTrial runs allocations of trial id through Launch until the trial
// ends.
func (m *Master) runTrial(id int) {
	defer m.wg.Done()
	for m.ctx.Err() == nil {
		env := m.StartAllocation(id)
		code := m.launch(m.ctx, env)
		if !m.EndAllocation(id, code) {
			return
		}
	}
}

// Preempt signals the current allocation of trial id to stop (as a
// scheduler preemption does): the long poll answers preempt true.
func (m *Master) Preempt(trialID int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.signalPreempt(m.trials[trialID])
}

func (m *Master) signalPreempt(t *trialState) {
	if !t.preempt {
		t.preempt = true
		close(t.preemptCh)
	}
}

// PreemptAtStep preempts trial id's current or next run once it reports
// training metrics at steps or later.
func (m *Master) PreemptAtStep(trialID, steps int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trials[trialID].preemptAt = steps
}

// TrialInfo is what a test may read about a trial.
type TrialInfo struct {
	State       string
	Runs        int
	Restarts    int
	Acked       bool
	EarlyExit   bool
	Progress    float64
	Checkpoints []string
}

// Trial returns the state of trial id.
func (m *Master) Trial(id int) TrialInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trials[id]
	info := TrialInfo{State: t.state, Runs: t.runID, Restarts: t.restarts, Acked: t.acked,
		EarlyExit: t.earlyExit, Progress: t.progress}
	for _, u := range m.cpOrder {
		if m.checkpoints[u].trialID == id {
			info.Checkpoints = append(info.Checkpoints, u)
		}
	}
	return info
}

// ExperimentState returns the state of experiment id.
func (m *Master) ExperimentState(id int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.experiments[id].state
}

// SetExperimentState forces experiment id (and its live trials) into state.
func (m *Master) SetExperimentState(id int, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.experiments[id]
	e.state = state
	for _, tid := range e.trialIDs {
		if t := m.trials[tid]; !terminal(t.state) {
			t.state = state
		}
	}
}

// TrialIDs returns the trials of experiment id.
func (m *Master) TrialIDs(expID int) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.experiments[expID].trialIDs...)
}

// ModelDefinition returns the File entries experiment id was created
// with, as decoded JSON objects.
func (m *Master) ModelDefinition(expID int) []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []map[string]any
	for _, f := range m.experiments[expID].modelDef {
		out = append(out, f.(map[string]any))
	}
	return out
}

// Metrics returns the metric reports accepted for trial id.
func (m *Master) Metrics(trialID int) []Metric {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Metric
	for _, r := range m.metrics {
		if r.TrialID == trialID {
			out = append(out, r)
		}
	}
	return out
}

// Checkpoint returns the reported body of checkpoint uuid (nil if none).
func (m *Master) Checkpoint(uuid string) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.checkpoints[uuid]; c != nil {
		return c.body
	}
	return nil
}

// ExperimentTaskID returns the task id of trial id.
func (m *Master) ExperimentTaskID(trialID int) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.trials[trialID].taskID
}
