package detfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// addTrial creates a trial of e; the caller holds m.mu.
func (m *Master) addTrial(e *experiment, hparams map[string]any) *trialState {
	t := &trialState{id: m.id("trial"), expID: e.id, hparams: hparams,
		taskID: fmt.Sprintf("%d.%s", e.id, uuid.NewString()), startTime: time.Now(),
		preemptCh: make(chan struct{}), seed: uint32(1796313021 + e.id), state: "STATE_PAUSED"}
	m.trials[t.id] = t
	e.trialIDs = append(e.trialIDs, t.id)
	return t
}

// trialOf looks up the {id} trial or answers 404; the caller holds m.mu.
func (m *Master) trialOf(c *call) *trialState {
	id, err := strconv.Atoi(c.params["id"])
	if err != nil {
		m.violation(c.r, "trial id %q is not an int32", c.params["id"])
	}
	t := m.trials[id]
	if t == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound", fmt.Sprintf("trial %d not found", id))
		return nil
	}
	if c.allocTrial != nil && c.allocTrial != t {
		m.violation(c.r, "allocation token of trial %d used for trial %d", c.allocTrial.id, id)
	}
	return t
}

func (m *Master) createTrial(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.newUnmanagedTrial(c, c.obj, ""); t != nil {
		writeJSON(c.w, map[string]any{"trial": m.trialBody(t)})
	}
}

func (m *Master) putTrial(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := c.obj["createTrialRequest"].(map[string]any)
	ext := c.obj["externalTrialId"].(string)
	for _, t := range m.trials {
		if t.externalID == ext && float64(t.expID) == req["experimentId"] {
			writeJSON(c.w, map[string]any{"trial": m.trialBody(t)})
			return
		}
	}
	if t := m.newUnmanagedTrial(c, req, ext); t != nil {
		writeJSON(c.w, map[string]any{"trial": m.trialBody(t)})
	}
}

// newUnmanagedTrial creates a trial from a CreateTrialRequest.
func (m *Master) newUnmanagedTrial(c *call, req map[string]any, ext string) *trialState {
	expID, _ := req["experimentId"].(float64)
	e := m.experiments[int(expID)]
	if e == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound", "experiment not found")
		return nil
	}
	if u, _ := req["unmanaged"].(bool); !u || !e.unmanaged {
		writeError(c.w, http.StatusInternalServerError, 13, "Internal",
			"only unmanaged trials are supported")
		return nil
	}
	hp, _ := req["hparams"].(map[string]any)
	t := m.addTrial(e, hp)
	t.unmanaged, t.externalID = true, ext
	if ext != "" {
		t.taskID = fmt.Sprintf("%d.%s", e.id, ext)
	}
	return t
}

func (m *Master) getTrial(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.trialOf(c); t != nil {
		writeJSON(c.w, map[string]any{"trial": m.trialBody(t)})
	}
}

func (m *Master) patchTrial(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trialOf(c)
	if t == nil {
		return
	}
	m.checkBodyID(c, "trialId", t.id)
	if !t.unmanaged {
		writeError(c.w, http.StatusInternalServerError, 13, "Internal",
			"only unmanaged trials are supported")
		return
	}
	if s, _ := c.obj["state"].(string); s != "" {
		t.state = s
		e := m.experiments[t.expID]
		if terminal(s) {
			now := time.Now()
			t.endTime, e.endTime, e.state = &now, &now, s
			e.progress = 1
		} else {
			e.state = "STATE_ACTIVE"
		}
	}
	writeJSON(c.w, map[string]any{"trial": m.trialBody(t)})
}

// checkBodyID flags a body id that differs from the path's.
func (m *Master) checkBodyID(c *call, name string, want int) {
	if v, ok := c.obj[name]; ok && v != float64(want) {
		m.violation(c.r, "body %s %v differs from the path's %d", name, v, want)
	}
}

func (m *Master) startTrial(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trialOf(c)
	if t == nil {
		return
	}
	m.checkBodyID(c, "trialId", t.id)
	if r, _ := c.obj["resume"].(bool); !r {
		writeError(c.w, http.StatusInternalServerError, 13, "Internal",
			"failed to start trial: ERROR: FOR UPDATE cannot be applied to the nullable "+
				"side of an outer join (SQLSTATE 0A000)")
		return
	}
	t.runID++
	out := map[string]any{"trialRunId": t.runID, "stepsCompleted": 0}
	if cp := m.latestCheckpoint(t.id); cp != nil {
		out["latestCheckpoint"], out["stepsCompleted"] = cp.body["uuid"], cp.steps
	}
	writeJSON(c.w, out)
}

// latestCheckpoint is the trial's checkpoint with the most steps.
func (m *Master) latestCheckpoint(trialID int) *checkpointRec {
	var best *checkpointRec
	for _, u := range m.cpOrder {
		if cp := m.checkpoints[u]; cp.trialID == trialID && (best == nil || cp.steps > best.steps) {
			best = cp
		}
	}
	return best
}

func (m *Master) runsStart(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	runID, _ := c.obj["runId"].(float64)
	t := m.trials[int(runID)]
	if t == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound", "run not found")
		return
	}
	if c.allocTrial != nil && c.allocTrial != t {
		m.violation(c.r, "allocation token of trial %d used for run %d", c.allocTrial.id, t.id)
	}
	if _, ok := c.obj["checkpointStorage"]; !ok {
		writeJSON(c.w, map[string]any{})
		return
	}
	id := m.id("storage")
	t.storageID = &id
	writeJSON(c.w, map[string]any{"storageId": id})
}

func (m *Master) reportMetrics(c *call) {
	m.mu.Lock()
	t := m.trialOf(c)
	if t == nil {
		m.mu.Unlock()
		return
	}
	tm, group := c.obj, ""
	switch {
	case strings.HasSuffix(c.r.URL.Path, "/training_metrics"):
		group = "training"
	case strings.HasSuffix(c.r.URL.Path, "/validation_metrics"):
		group = "validation"
	default:
		tm, group = c.obj["metrics"].(map[string]any), c.obj["group"].(string)
	}
	if _, ok := tm["reportTime"]; ok && !m.atLeast(0, 23) {
		m.violation(c.r, "reportTime is not in the %s protocol", m.version)
	}
	if v, ok := tm["trialId"]; ok && v != float64(t.id) {
		m.violation(c.r, "metrics.trialId %v differs from the path's %d", v, t.id)
	}
	run := int(tm["trialRunId"].(float64))
	if run != t.runID {
		m.mu.Unlock()
		writeError(c.w, http.StatusInternalServerError, 13, "Internal", fmt.Sprintf(
			"failed to exec transaction (add trial metrics %s): invalid run id, %d (reported) "+
				"!= %d (expected): invalid arguments", group, run, t.runID))
		return
	}
	steps := int(tm["stepsCompleted"].(float64))
	avg := tm["metrics"].(map[string]any)["avgMetrics"].(map[string]any)
	rec := Metric{TrialID: t.id, TrialRunID: run, Group: group, Steps: steps, Avg: avg}
	if key := m.overlap(rec); key != "" {
		m.mu.Unlock()
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", fmt.Sprintf(
			"overlapping metric key %q: trial %d run %d already reported %s metrics at "+
				"step %d", key, t.id, run, group, steps))
		return
	}
	m.metrics = append(m.metrics, rec)
	t.totalBatches = max(t.totalBatches, steps)
	if t.preemptAt > 0 && group == "training" && steps >= t.preemptAt {
		t.preemptAt = 0
		m.signalPreempt(t)
	}
	hook := m.onMetric
	m.mu.Unlock()
	if hook != nil {
		hook(rec)
	}
	writeJSON(c.w, map[string]any{})
}

// overlap returns a key that rec reports again for the same trial run,
// group and step: the master merges two reports of one step but refuses
// the same key twice. The caller holds m.mu.
func (m *Master) overlap(rec Metric) string {
	for _, old := range m.metrics {
		if old.TrialID != rec.TrialID || old.TrialRunID != rec.TrialRunID ||
			old.Group != rec.Group || old.Steps != rec.Steps {
			continue
		}
		for k := range rec.Avg {
			if _, ok := old.Avg[k]; ok {
				return k
			}
		}
	}
	return ""
}

func (m *Master) progress(c *call) {
	var v any
	if err := json.Unmarshal(c.body, &v); err != nil {
		m.violation(c.r, "body is not JSON")
	}
	obj, isObj := v.(map[string]any)
	switch {
	case m.atLeast(0, 37) && !isObj:
		m.violation(c.r, "progress body must be {progress, isRaw} in %s", m.version)
	case m.atLeast(0, 37):
		if p := progressSchema.check(obj, ""); len(p) > 0 {
			m.violation(c.r, "%s", strings.Join(p, "; "))
		}
	default:
		if _, ok := v.(float64); !ok {
			m.violation(c.r, "progress body must be a bare number in %s", m.version)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.trialOf(c); t != nil {
		if isObj {
			t.progress, _ = obj["progress"].(float64)
		}
		writeJSON(c.w, map[string]any{})
	}
}

func (m *Master) earlyExit(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trialOf(c)
	if t == nil {
		return
	}
	if t.earlyExit {
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", "early exit already reported")
		return
	}
	t.earlyExit = true
	writeJSON(c.w, map[string]any{})
}

// maxLength reads searcher.max_length in batches.
func maxLength(cfg map[string]any) int {
	s, _ := cfg["searcher"].(map[string]any)
	switch v := s["max_length"].(type) {
	case float64:
		return int(v)
	case map[string]any:
		b, _ := v["batches"].(float64)
		return int(b)
	}
	return 0
}

func (m *Master) searcherOperation(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trialOf(c)
	if t == nil {
		return
	}
	if t.opsDone {
		writeJSON(c.w, map[string]any{"op": nil, "completed": true})
		return
	}
	t.opLength = maxLength(m.experiments[t.expID].config)
	writeJSON(c.w, map[string]any{"op": map[string]any{"validateAfter": map[string]any{
		"requestId": "6f9c0b52-0000-4000-8000-000000000001",
		"length":    strconv.Itoa(t.opLength)}}, "completed": false})
}

func (m *Master) completedOperation(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.trialOf(c)
	if t == nil {
		return
	}
	length, _ := strconv.Atoi(c.obj["op"].(map[string]any)["length"].(string))
	if length != t.opLength {
		m.violation(c.r, "completed op length %d, the op was %d", length, t.opLength)
	}
	if _, ok := c.obj["searcherMetric"].(float64); !ok {
		m.violation(c.r, "searcherMetric must be a number")
	}
	t.opsDone = true
	writeJSON(c.w, map[string]any{})
}

// allocationOf finds the trial running allocation {aid}.
func (m *Master) allocationOf(c *call) *trialState {
	aid := c.params["aid"]
	for _, t := range m.trials {
		if t.allocationID == aid {
			if c.allocTrial != nil && c.allocTrial != t {
				m.violation(c.r, "allocation token of trial %d used for allocation %s",
					c.allocTrial.id, aid)
			}
			return t
		}
	}
	writeError(c.w, http.StatusNotFound, 5, "NotFound", "allocation not found: "+aid)
	return nil
}

func (m *Master) preemption(c *call) {
	q := c.r.URL.Query()
	secs := q.Get("timeout_seconds")
	if secs == "" {
		secs = q.Get("timeoutSeconds")
	}
	n, err := strconv.Atoi(secs)
	if err != nil || n < 0 {
		m.violation(c.r, "timeout_seconds %q is not a non-negative integer", secs)
	}
	m.mu.Lock()
	t := m.allocationOf(c)
	if t == nil {
		m.mu.Unlock()
		return
	}
	ch, preempt := t.preemptCh, t.preempt
	m.mu.Unlock()
	if !preempt && n > 0 {
		timer := time.NewTimer(time.Duration(n) * time.Second)
		defer timer.Stop()
		select {
		case <-ch:
		case <-timer.C:
		case <-c.r.Context().Done():
		case <-m.ctx.Done():
		}
	}
	m.mu.Lock()
	preempt = t.preempt && t.preemptCh == ch
	m.mu.Unlock()
	writeJSON(c.w, map[string]any{"preempt": preempt})
}

func (m *Master) ackPreemption(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.allocationOf(c); t != nil {
		t.acked = true
		writeJSON(c.w, map[string]any{})
	}
}

func (m *Master) reportCheckpoint(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, _ := c.obj["uuid"].(string)
	if !uuidRe.MatchString(id) {
		m.violation(c.r, "uuid %q is not a UUID", id)
	}
	taskID, _ := c.obj["taskId"].(string)
	var t *trialState
	for _, tr := range m.trials {
		if tr.taskID == taskID {
			t = tr
		}
	}
	if t == nil {
		m.violation(c.r, "taskId %q is no trial's task", taskID)
		writeError(c.w, http.StatusNotFound, 5, "NotFound", "task not found: "+taskID)
		return
	}
	if prev := m.checkpoints[id]; prev != nil {
		if !reflect.DeepEqual(prev.body, c.obj) {
			m.violation(c.r, "checkpoint %s reported twice with different bodies", id)
		}
		writeError(c.w, http.StatusConflict, 6, "AlreadyExists",
			fmt.Sprintf("checkpoint %s already exists", id))
		return
	}
	m.checkCheckpointReport(c, t)
	steps, _ := c.obj["metadata"].(map[string]any)["steps_completed"].(float64)
	m.checkpoints[id] = &checkpointRec{body: c.obj, trialID: t.id, expID: t.expID,
		steps: int(steps)}
	m.cpOrder = append(m.cpOrder, id)
	writeJSON(c.w, map[string]any{})
}

// checkCheckpointReport checks a report against the trial and the files.
func (m *Master) checkCheckpointReport(c *call, t *trialState) {
	alloc := c.obj["allocationId"]
	switch {
	case t.unmanaged && alloc != nil:
		m.violation(c.r, "allocationId %v for an unmanaged trial", alloc)
	case !t.unmanaged && alloc != t.allocationID:
		m.violation(c.r, "allocationId %v, the trial runs %q", alloc, t.allocationID)
	}
	steps, ok := c.obj["metadata"].(map[string]any)["steps_completed"].(float64)
	if !ok || steps != float64(int(steps)) || steps < 0 {
		m.violation(c.r, "metadata.steps_completed must be a non-negative integer")
	}
	sid, hasSID := c.obj["storageId"].(float64)
	if t.storageID != nil && (!hasSID || int(sid) != *t.storageID) {
		m.violation(c.r, "storageId %v, runs/start gave %d", c.obj["storageId"], *t.storageID)
	}
	m.checkFiles(c, m.experiments[t.expID].config)
}

// checkFiles compares the reported resources with the stored files.
func (m *Master) checkFiles(c *call, cfg map[string]any) {
	dir, ok := storageDir(cfg, c.obj["uuid"].(string))
	if !ok {
		return
	}
	res := c.obj["resources"].(map[string]any)
	if _, ok := res["metadata.json"]; !ok {
		m.violation(c.r, "resources lack metadata.json")
	}
	for rel, v := range res {
		info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		switch {
		case err != nil:
			m.violation(c.r, "resource %s: %v", rel, err)
		case strings.HasSuffix(rel, "/"):
			if !info.IsDir() || v != "0" {
				m.violation(c.r, "resource %s: want a directory of size \"0\"", rel)
			}
		case fmt.Sprint(info.Size()) != v:
			m.violation(c.r, "resource %s: size %v, file has %d", rel, v, info.Size())
		}
	}
}

// storageDir is where checkpoint id lives on this host, for shared_fs
// (host_path/storage_path) and directory storage.
func storageDir(cfg map[string]any, id string) (string, bool) {
	cs, _ := cfg["checkpoint_storage"].(map[string]any)
	switch cs["type"] {
	case "shared_fs":
		host, _ := cs["host_path"].(string)
		sp, _ := cs["storage_path"].(string)
		if filepath.IsAbs(sp) {
			return filepath.Join(sp, id), true
		}
		return filepath.Join(host, sp, id), true
	case "directory":
		p, _ := cs["container_path"].(string)
		return filepath.Join(p, id), true
	}
	return "", false
}

func (m *Master) getCheckpoint(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := m.checkpoints[c.params["uuid"]]
	if cp == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("checkpoint '%s' not found", c.params["uuid"]))
		return
	}
	writeJSON(c.w, map[string]any{"checkpoint": m.checkpointBody(cp)})
}

func (m *Master) trialCheckpoints(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.trialOf(c); t != nil {
		m.listCheckpoints(c, func(r *checkpointRec) bool { return r.trialID == t.id })
	}
}
