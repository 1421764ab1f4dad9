package detfake

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

func (m *Master) getMaster(c *call) {
	writeJSON(c.w, map[string]any{"version": m.version,
		"masterId":  "7ee48aca-7d2b-4b8b-a0c6-d67c356d0d1f",
		"clusterId": "3b5981d1-acdc-49b2-89a3-84cb6015aec4", "clusterName": "",
		"telemetryEnabled": false, "ssoProviders": []any{}, "externalLoginUri": "",
		"externalLogoutUri": "", "branding": "determined", "rbacEnabled": false,
		"product": "PRODUCT_UNSPECIFIED", "featureSwitches": []any{},
		"userManagementEnabled": true, "strictJobQueueControl": false, "hasCustomLogo": false})
}

func hashed(pw string) string {
	if pw == "" {
		return ""
	}
	sum := sha512.Sum512([]byte("GubPEmmotfiK9TMD6Zdw" + pw))
	return hex.EncodeToString(sum[:])
}

func userBody(name string) map[string]any {
	id := map[string]int{"admin": 1, "determined": 2}[name]
	return map[string]any{"id": id, "username": name, "admin": name == "admin",
		"active": true, "agentUserGroup": nil, "displayName": "",
		"modifiedAt": "2026-12-03T15:49:50.302729Z", "remote": false,
		"lastAuthAt": "2026-12-03T15:50:00.154691Z"}
}

func (m *Master) login(c *call) {
	user, _ := c.obj["username"].(string)
	pw, _ := c.obj["password"].(string)
	isHashed, _ := c.obj["isHashed"].(bool)
	want := c.m.pass
	if isHashed {
		want = hashed(c.m.pass)
	}
	if (user != "admin" && user != "determined") || pw != want {
		writeError(c.w, http.StatusUnauthorized, 16, "Unauthenticated", "invalid credentials")
		return
	}
	m.mu.Lock()
	tok := m.newUserToken(user)
	m.mu.Unlock()
	writeJSON(c.w, map[string]any{"token": tok, "user": userBody(user)})
}

func (m *Master) me(c *call) {
	name := c.user
	if name == "" {
		name = "admin"
	}
	writeJSON(c.w, map[string]any{"user": userBody(name)})
}

// newExperiment validates a creation request and stores the experiment.
func (m *Master) newExperiment(c *call, externalID string) (*experiment, bool) {
	text, _ := c.obj["config"].(string)
	unmanaged, _ := c.obj["unmanaged"].(bool)
	cfg, err := mergeConfig(text, unmanaged)
	if err != nil {
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", err.Error())
		return nil, false
	}
	defs, _ := c.obj["modelDefinition"].([]any)
	if !m.checkModelDef(c, defs) {
		return nil, false
	}
	e := &experiment{config: cfg, originalConfig: text, modelDef: defs, unmanaged: unmanaged,
		externalID: externalID, projectID: 1, startTime: time.Now(), state: "STATE_PAUSED"}
	e.name, _ = cfg["name"].(string)
	if p, ok := c.obj["projectId"].(float64); ok && p > 0 {
		e.projectID = int(p)
	}
	for _, d := range defs {
		b, _ := base64.StdEncoding.DecodeString(d.(map[string]any)["content"].(string))
		e.modelDefSize += len(b)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e.id = m.id("experiment")
	e.jobID = fmt.Sprintf("00000000-0000-4000-8000-%012d", e.id)
	m.experiments[e.id] = e
	if !unmanaged {
		hp, _ := cfg["hyperparameters"].(map[string]any)
		t := m.addTrial(e, sampleHparams(hp))
		t.state, e.state = "STATE_QUEUED", "STATE_QUEUED"
		if activate, _ := c.obj["activate"].(bool); !activate {
			t.state, e.state = "STATE_PAUSED", "STATE_PAUSED"
		} else if m.launch != nil {
			m.wg.Add(1)
			go m.runTrial(t.id)
		}
	}
	return e, true
}

// checkModelDef checks the File entries: base64 content, modes, order.
func (m *Master) checkModelDef(c *call, defs []any) bool {
	seen := map[string]bool{}
	for i, d := range defs {
		f := d.(map[string]any)
		p, _ := f["path"].(string)
		typ, _ := f["type"].(float64)
		mode, _ := f["mode"].(float64)
		content, _ := f["content"].(string)
		if _, err := base64.StdEncoding.DecodeString(content); err != nil {
			m.violation(c.r, "modelDefinition[%d].content: not base64", i)
		}
		switch {
		case typ == 48 && int(mode)&0o170000 != 0o100000:
			m.violation(c.r, "modelDefinition[%d] %s: regular file with mode %o", i, p, int(mode))
		case typ == 53 && int(mode)&0o170000 != 0o040000:
			m.violation(c.r, "modelDefinition[%d] %s: directory with mode %o", i, p, int(mode))
		case typ != 48 && typ != 53:
			m.violation(c.r, "modelDefinition[%d] %s: type %v, want 48 or 53", i, p, typ)
		}
		if dir := parentDir(p); dir != "" && !seen[dir] {
			m.violation(c.r, "modelDefinition[%d] %s: comes before its directory", i, p)
		}
		if p == "" || p[0] == '/' || seen[p] {
			m.violation(c.r, "modelDefinition[%d]: bad or repeated path %q", i, p)
		}
		seen[p] = true
	}
	return true
}

func parentDir(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return ""
}

func (m *Master) createExperiment(c *call) {
	e, ok := m.newExperiment(c, "")
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	writeJSON(c.w, map[string]any{"experiment": m.experimentBody(e), "config": e.config,
		"warnings": []any{}})
}

func (m *Master) putExperiment(c *call) {
	if u, _ := c.obj["unmanaged"].(bool); !u {
		writeError(c.w, http.StatusInternalServerError, 13, "Internal",
			"only unmanaged experiments are supported")
		return
	}
	ext := c.params["ext"]
	m.mu.Lock()
	for _, e := range m.experiments {
		if e.externalID == ext {
			body := m.experimentBody(e)
			m.mu.Unlock()
			writeJSON(c.w, map[string]any{"experiment": body, "config": e.config,
				"warnings": []any{}})
			return
		}
	}
	m.mu.Unlock()
	e, ok := m.newExperiment(c, ext)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	writeJSON(c.w, map[string]any{"experiment": m.experimentBody(e), "config": e.config,
		"warnings": []any{}})
}

// experimentOf looks up the {id} experiment or answers 404.
func (m *Master) experimentOf(c *call) *experiment {
	id, err := strconv.Atoi(c.params["id"])
	if err != nil {
		m.violation(c.r, "experiment id %q is not an int32", c.params["id"])
	}
	e := m.experiments[id]
	if e == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("experiment not found: %d", id))
	}
	return e
}

func (m *Master) getExperiment(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.experimentOf(c); e != nil {
		var job any
		if e.state == "STATE_QUEUED" {
			job = map[string]any{"state": "STATE_QUEUED", "jobsAhead": 0}
		}
		writeJSON(c.w, map[string]any{"experiment": m.experimentBody(e), "jobSummary": job,
			"config": e.config})
	}
}

func (m *Master) experimentTrials(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.experimentOf(c); e != nil {
		var trials []any
		for _, id := range e.trialIDs {
			trials = append(trials, m.trialBody(m.trials[id]))
		}
		writeJSON(c.w, map[string]any{"trials": orEmpty(trials),
			"pagination": pagination(len(trials))})
	}
}

func (m *Master) experimentCheckpoints(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.experimentOf(c); e != nil {
		m.listCheckpoints(c, func(r *checkpointRec) bool { return r.expID == e.id })
	}
}

// listCheckpoints answers a (paged) checkpoint list in report order.
func (m *Master) listCheckpoints(c *call, keep func(*checkpointRec) bool) {
	var all []any
	for _, u := range m.cpOrder {
		if r := m.checkpoints[u]; keep(r) {
			all = append(all, m.checkpointBody(r))
		}
	}
	q := c.r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset = min(offset, len(all))
	end := len(all)
	if limit > 0 {
		end = min(end, offset+limit)
	}
	writeJSON(c.w, map[string]any{"checkpoints": orEmpty(all[offset:end]),
		"pagination": map[string]any{"offset": offset, "limit": limit, "startIndex": offset,
			"endIndex": end, "total": len(all)}})
}

func (m *Master) killExperiment(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.experimentOf(c); e != nil {
		e.killed = true
		now := time.Now()
		for _, id := range e.trialIDs {
			t := m.trials[id]
			if !terminal(t.state) {
				t.state, t.endTime = "STATE_CANCELED", &now
			}
		}
		if !terminal(e.state) {
			e.state, e.endTime = "STATE_CANCELED", &now
		}
		writeJSON(c.w, map[string]any{})
	}
}

func terminal(state string) bool {
	switch state {
	case "STATE_COMPLETED", "STATE_CANCELED", "STATE_ERROR", "STATE_DELETED":
		return true
	}
	return false
}
