package detfake

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	*testing.T
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.errs
	r.errs = nil
	return e
}

func send(t *testing.T, m *Master, method, path, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, m.URL()+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestFakeFlagsViolations ensures the fake master fails the test on
// requests that break the documented protocol, and not on good ones.
func TestFakeFlagsViolations(t *testing.T) {
	rec := &recorder{T: t}
	m := New(rec, Options{})
	tok := m.UserToken()
	cfg := `"name: x\nentrypoint: ./churn trial\nsearcher: {name: single, metric: val_acc}\n"`
	for _, tc := range []struct {
		name, method, path, body string
		want                     string // "" means no violation
	}{
		{"good model", "POST", "/api/v1/models", `{"name":"m","labels":["a"]}`, ""},
		{"unknown field", "POST", "/api/v1/models", `{"name":"n","bogusField":1}`, "unknown field"},
		{"wrapped put", "PUT", "/api/v1/experiments/by-external-id/e",
			`{"createExperimentRequest":{"config":` + cfg + `,"unmanaged":true}}`, "unknown field"},
		{"bad enum", "POST", "/api/v1/trials/1/early_exit", `{"reason":"INVALID_HP"}`, "not one of"},
		{"no route", "GET", "/api/v1/trials/1/searcher/operation", "", "no such route"},
		{"int64 as number", "POST", "/api/v1/experiments",
			`{"config":` + cfg + `,"modelDefinition":[{"path":"a","type":48,"content":"",` +
				`"mtime":17,"mode":33188}]}`, "int64 as a JSON string"},
		{"bad query", "GET", "/api/v1/models/m/versions?sortBy=SORT_BY_NAME", "", "is not one of"},
	} {
		send(t, m, tc.method, tc.path, tok, tc.body)
		errs := strings.Join(rec.take(), "\n")
		if (tc.want == "") != (errs == "") || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: violations %q, want %q", tc.name, errs, tc.want)
		}
	}
	if code := send(t, m, "GET", "/api/v1/models/m", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d, want 401", code)
	}
	if code := send(t, m, "POST", "/api/v1/models", tok, `{"name":"m"}`); code != http.StatusConflict {
		t.Errorf("duplicate model: HTTP %d, want 409", code)
	}
	if errs := rec.take(); len(errs) > 0 {
		t.Errorf("protocol errors flagged as violations: %v", errs)
	}
}
