package detfake

import (
	"net/http"
	"net/url"
	"strings"
)

// route is one endpoint of the protocol.
type route struct {
	method  string
	pattern string // segments; "{x}" binds a parameter
	auth    authKind
	schema  schema
	query   map[string][]string // allowed query parameters (nil list: any value)
	handle  func(c *call)
	min     [2]int // first version with the route
	max     [2]int // first version without it (zero: still present)
}

var sortQuery = map[string][]string{"offset": nil, "limit": nil,
	"orderBy": {"ORDER_BY_ASC", "ORDER_BY_DESC", "ORDER_BY_UNSPECIFIED"}}

func (m *Master) routes() []route {
	cpQuery := map[string][]string{"states": {"STATE_COMPLETED", "STATE_ACTIVE", "STATE_ERROR",
		"STATE_DELETED", "STATE_PARTIALLY_DELETED"}, "sortByAttr": {"SORT_BY_SEARCHER_METRIC",
		"SORT_BY_UUID", "SORT_BY_TRIAL_ID", "SORT_BY_BATCH_NUMBER", "SORT_BY_END_TIME",
		"SORT_BY_STATE"}, "sortByMetric": nil}
	for k, v := range sortQuery {
		cpQuery[k] = v
	}
	versionQuery := map[string][]string{"sortBy": {"SORT_BY_VERSION", "SORT_BY_CREATION_TIME"}}
	for k, v := range sortQuery {
		versionQuery[k] = v
	}
	return []route{
		{method: "GET", pattern: "/api/v1/master", auth: authNone, handle: m.getMaster},
		{method: "POST", pattern: "/api/v1/auth/login", auth: authNone, schema: loginSchema,
			handle: m.login},
		{method: "GET", pattern: "/api/v1/me", auth: authAny, handle: m.me},
		{method: "POST", pattern: "/api/v1/experiments", auth: authAny,
			schema: createExperimentSchema, handle: m.createExperiment},
		{method: "PUT", pattern: "/api/v1/experiments/by-external-id/{ext}", auth: authAny,
			schema: createExperimentSchema, handle: m.putExperiment, min: [2]int{0, 25}},
		{method: "GET", pattern: "/api/v1/experiments/{id}", auth: authAny,
			handle: m.getExperiment},
		{method: "GET", pattern: "/api/v1/experiments/{id}/trials", auth: authAny,
			query: sortQuery, handle: m.experimentTrials},
		{method: "GET", pattern: "/api/v1/experiments/{id}/checkpoints", auth: authAny,
			query: cpQuery, handle: m.experimentCheckpoints},
		{method: "POST", pattern: "/api/v1/experiments/{id}/kill", auth: authAny,
			schema: schema{"id": {kind: kInt32}}, handle: m.killExperiment},
		{method: "POST", pattern: "/api/v1/trials", auth: authAny, schema: createTrialSchema,
			handle: m.createTrial, min: [2]int{0, 23}},
		{method: "PUT", pattern: "/api/v1/trials", auth: authAny, schema: putTrialSchema,
			handle: m.putTrial, min: [2]int{0, 25}},
		{method: "GET", pattern: "/api/v1/trials/{id}", auth: authAny, handle: m.getTrial},
		{method: "PATCH", pattern: "/api/v1/trials/{id}", auth: authAny,
			schema: patchTrialSchema, handle: m.patchTrial, min: [2]int{0, 23}},
		{method: "POST", pattern: "/api/v1/trials/{id}/start", auth: authAny,
			schema: startTrialSchema, handle: m.startTrial, min: [2]int{0, 23}},
		{method: "POST", pattern: "/api/v1/runs/start", auth: authAny, schema: runsStartSchema,
			handle: m.runsStart, min: [2]int{0, 29}},
		{method: "POST", pattern: "/api/v1/trials/{id}/metrics", auth: authAny,
			schema: metricsSchema, handle: m.reportMetrics, min: [2]int{0, 23}},
		{method: "POST", pattern: "/api/v1/trials/{id}/training_metrics", auth: authAny,
			schema: trialMetricsSchema, handle: m.reportMetrics},
		{method: "POST", pattern: "/api/v1/trials/{id}/validation_metrics", auth: authAny,
			schema: trialMetricsSchema, handle: m.reportMetrics},
		{method: "POST", pattern: "/api/v1/trials/{id}/progress", auth: authAny,
			handle: m.progress},
		{method: "POST", pattern: "/api/v1/trials/{id}/early_exit", auth: authAny,
			schema: earlyExitSchema, handle: m.earlyExit},
		{method: "GET", pattern: "/api/v1/trials/{id}/searcher/operation", auth: authAny,
			handle: m.searcherOperation, max: [2]int{0, 38}},
		{method: "POST", pattern: "/api/v1/trials/{id}/searcher/completed_operation",
			auth: authAny, schema: completedOpSchema, handle: m.completedOperation,
			max: [2]int{0, 38}},
		{method: "GET", pattern: "/api/v1/allocations/{aid}/signals/preemption", auth: authAny,
			query:  map[string][]string{"timeout_seconds": nil, "timeoutSeconds": nil},
			handle: m.preemption},
		{method: "POST", pattern: "/api/v1/allocations/{aid}/signals/ack_preemption",
			auth: authAny, schema: emptySchema, handle: m.ackPreemption},
		{method: "POST", pattern: "/api/v1/checkpoints", auth: authAny,
			schema: checkpointSchema, handle: m.reportCheckpoint},
		{method: "GET", pattern: "/api/v1/checkpoints/{uuid}", auth: authAny,
			handle: m.getCheckpoint},
		{method: "GET", pattern: "/api/v1/trials/{id}/checkpoints", auth: authAny,
			query: cpQuery, handle: m.trialCheckpoints},
		{method: "GET", pattern: "/api/v1/models/{name}", auth: authAny, handle: m.getModel},
		{method: "POST", pattern: "/api/v1/models", auth: authAny, schema: createModelSchema,
			handle: m.createModel},
		{method: "POST", pattern: "/api/v1/models/{name}/versions", auth: authAny,
			schema: registerSchema, handle: m.registerVersion},
		{method: "GET", pattern: "/api/v1/models/{name}/versions", auth: authAny,
			query: versionQuery, handle: m.listVersions},
		{method: "GET", pattern: "/api/v1/models/{name}/versions/{n}", auth: authAny,
			handle: m.getVersion},
		{method: "GET", pattern: "/checkpoints/{uuid}", auth: authUser,
			handle: m.downloadCheckpoint},
	}
}

// route finds the route of r in this version and checks its query.
func (m *Master) route(r *http.Request) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for _, rt := range m.routes() {
		if rt.method != r.Method || !m.inVersion(rt) {
			continue
		}
		params, ok := matchPattern(rt.pattern, segs)
		if !ok {
			continue
		}
		m.checkQuery(r, rt.query)
		return &rt, params
	}
	return nil, nil
}

func (m *Master) inVersion(rt route) bool {
	if !m.atLeast(rt.min[0], rt.min[1]) {
		return false
	}
	return rt.max == [2]int{} || !m.atLeast(rt.max[0], rt.max[1])
}

func matchPattern(pattern string, segs []string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(ps) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			params[strings.Trim(p, "{}")] = v
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// checkQuery flags unknown query parameters and enum values.
func (m *Master) checkQuery(r *http.Request, allowed map[string][]string) {
	for k, vs := range r.URL.Query() {
		enum, ok := allowed[k]
		if !ok {
			m.violation(r, "unknown query parameter %q", k)
			continue
		}
		for _, v := range vs {
			if enum != nil && !contains(enum, v) {
				m.violation(r, "query %s=%q is not one of %v", k, v, enum)
			}
		}
	}
}
