package detfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

func (m *Master) getModel(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.models[c.params["name"]]
	if md == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("model %q not found", c.params["name"]))
		return
	}
	writeJSON(c.w, map[string]any{"model": modelBody(md, 1)})
}

func (m *Master) createModel(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := c.obj["name"].(string)
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, `/\`) ||
		strings.Contains(name, "  ") {
		writeError(c.w, http.StatusBadRequest, 3, "InvalidArgument", "invalid model name")
		return
	}
	id := m.id("model") // a refused duplicate still takes an id
	if m.models[name] != nil {
		writeError(c.w, http.StatusConflict, 6, "AlreadyExists",
			"avoid names equal to other models (case-sensitive)")
		return
	}
	md := &model{id: id, name: name, created: time.Now()}
	md.description, _ = c.obj["description"].(string)
	md.metadata, _ = c.obj["metadata"].(map[string]any)
	md.notes, _ = c.obj["notes"].(string)
	md.labels = strs(c.obj["labels"])
	m.models[name] = md
	writeJSON(c.w, map[string]any{"model": modelBody(md, 0)})
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, e.(string))
	}
	return out
}

func (m *Master) registerVersion(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name := c.params["name"]
	if c.obj["modelName"] != name {
		m.violation(c.r, "modelName %v differs from the path's %q", c.obj["modelName"], name)
	}
	md := m.models[name]
	if md == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound", fmt.Sprintf("model %q not found", name))
		return
	}
	id := c.obj["checkpointUuid"].(string)
	if m.checkpoints[id] == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("checkpoint '%s' not found", id))
		return
	}
	v := &version{id: m.id("version"), num: len(md.versions) + 1, uuid: id, created: time.Now()}
	v.name, _ = c.obj["name"].(string)
	v.comment, _ = c.obj["comment"].(string)
	v.notes, _ = c.obj["notes"].(string)
	v.metadata, _ = c.obj["metadata"].(map[string]any)
	v.labels = strs(c.obj["labels"])
	md.versions = append(md.versions, v)
	body := m.versionBody(md, v)
	// 0.38.1 answers the POST with an unfilled nested model.
	nested := modelBody(md, 0)
	nested["workspaceId"], nested["numVersions"] = 0, 0
	body["model"], body["userId"], body["lastUpdatedTime"] = nested, 0, nil
	writeJSON(c.w, map[string]any{"modelVersion": body})
}

func (m *Master) listVersions(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.models[c.params["name"]]
	if md == nil {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("model %q not found", c.params["name"]))
		return
	}
	vs := append([]*version(nil), md.versions...)
	q := c.r.URL.Query()
	if q.Get("orderBy") == "ORDER_BY_DESC" {
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].num > vs[j].num })
	}
	if n, _ := strconv.Atoi(q.Get("limit")); n > 0 && n < len(vs) {
		vs = vs[:n]
	}
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, m.versionBody(md, v))
	}
	writeJSON(c.w, map[string]any{"model": modelBody(md, 1), "modelVersions": out,
		"pagination": pagination(len(out))})
}

func (m *Master) getVersion(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md := m.models[c.params["name"]]
	n, err := strconv.Atoi(c.params["n"])
	if err != nil {
		m.violation(c.r, "version %q is not an int32", c.params["n"])
	}
	if md == nil || n < 1 || n > len(md.versions) {
		writeError(c.w, http.StatusNotFound, 5, "NotFound",
			fmt.Sprintf("model version %s of model %q not found", c.params["n"], c.params["name"]))
		return
	}
	writeJSON(c.w, map[string]any{"modelVersion": m.versionBody(md, md.versions[n-1])})
}
