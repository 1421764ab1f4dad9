package experiment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
)

// TestMetricsSurviveOutage ensures a burst of 503s on the metrics
// endpoint loses no report: they are queued and retried.
func TestMetricsSurviveOutage(t *testing.T) {
	c := newCluster(t, "")
	c.master.Fail("POST", "/api/v1/trials/1/metrics", 503, 12)
	expID, state := c.submit(t, c.config(300, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	var got []string
	for _, m := range c.master.Metrics(tid) {
		got = append(got, fmt.Sprintf("%s@%d", m.Group, m.Steps))
	}
	want := "training@100 validation@100 training@200 validation@200 training@300 validation@300"
	if strings.Join(got, " ") != want {
		t.Errorf("metrics = %v, want %s", got, want)
	}
	if n := c.master.Count("POST", "/api/v1/trials/1/metrics"); n != 6+12 {
		t.Errorf("metrics requests = %d, want 18 (12 refused)", n)
	}
	if len(c.sleeps.all()) < 12 {
		t.Errorf("backoff waits = %d, want at least 12", len(c.sleeps.all()))
	}
}

// TestEarlyExitWithoutData ensures a trial with no data reports an early
// exit for invalid hyperparameters and ends with status 0.
func TestEarlyExitWithoutData(t *testing.T) {
	c := newCluster(t, "")
	cfg := strings.Replace(c.config(100, ""), "files: ["+c.csv+"]", "files: []", 1)
	expID, state := c.submit(t, cfg)
	info := c.master.Trial(c.master.TrialIDs(expID)[0])
	if state != "STATE_COMPLETED" || !info.EarlyExit || len(c.codes) != 1 || c.codes[0] != 0 {
		t.Errorf("no-data trial: state %s, %+v, exit codes %v", state, info, c.codes)
	}
	var body string
	for _, r := range c.master.Requests() {
		if strings.HasSuffix(r.Path, "/early_exit") {
			body = string(r.Body)
		}
	}
	if body != `{"reason":"EXITED_REASON_INVALID_HP"}` {
		t.Errorf("early_exit body = %q", body)
	}
}

// TestEarlyExitInvalidHparams ensures unusable sampled hyperparameters
// end the trial early, with status 0.
func TestEarlyExitInvalidHparams(t *testing.T) {
	c := newCluster(t, "")
	cfg := strings.Replace(c.config(100, ""), "dense1: 8", "dense1: {type: categorical, vals: [eight]}", 1)
	expID, state := c.submit(t, cfg)
	info := c.master.Trial(c.master.TrialIDs(expID)[0])
	if state != "STATE_COMPLETED" || !info.EarlyExit || c.codes[0] != 0 {
		t.Errorf("bad-hparams trial: state %s, %+v, exit codes %v", state, info, c.codes)
	}
}

// TestOldMasterProtocol ensures a 0.22 master gets the searcher-operation
// protocol: /training_metrics, /validation_metrics, operations, a bare
// progress number, and the final acknowledgement.
func TestOldMasterProtocol(t *testing.T) {
	c := newCluster(t, "0.22.2")
	expID, state := c.submit(t, c.config(200, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	p := fmt.Sprintf("/api/v1/trials/%d", tid)
	for path, want := range map[string]int{
		p + "/training_metrics": 2, p + "/validation_metrics": 2,
		p + "/searcher/completed_operation": 1, p + "/progress": 2,
	} {
		if n := c.master.Count("POST", path); n != want {
			t.Errorf("POST %s: %d requests, want %d", path, n, want)
		}
	}
	if n := c.master.Count("GET", p+"/searcher/operation"); n != 2 {
		t.Errorf("searcher/operation asked %d times, want 2", n)
	}
	if !c.master.Trial(tid).Acked {
		t.Error("the final operation was not acknowledged")
	}
	for _, r := range c.master.Requests() {
		if strings.HasSuffix(r.Path, "/progress") && strings.HasPrefix(string(r.Body), "{") {
			t.Errorf("0.22 progress body %s, want a bare number", r.Body)
		}
	}
}

// TestResumeOrWarmStart ensures DET_STEPS_COMPLETED is kept only when the
// latest checkpoint was written by the same trial.
func TestResumeOrWarmStart(t *testing.T) {
	c := newCluster(t, "")
	expID, _ := c.submit(t, c.config(200, ""))
	tid := c.master.TrialIDs(expID)[0]
	cp := c.master.Trial(tid).Checkpoints[1]
	warm := c.config(100, "") + "\n"
	warm = strings.Replace(warm, "max_length: {batches: 100}}",
		"max_length: {batches: 100}, source_checkpoint_uuid: "+cp+"}", 1)
	resp, err := c.client.CreateExperiment(context.Background(), experiment.CreateExperimentRequest{
		Config: warm})
	if err != nil {
		t.Fatal(err)
	}
	other := c.master.TrialIDs(resp.Experiment.ID)[0]
	for _, tc := range []struct {
		trial, steps int
		want         int
	}{{tid, 200, 200}, {other, 200, 0}} {
		env := c.master.StartAllocation(tc.trial)
		env["DET_LATEST_CHECKPOINT"], env["DET_STEPS_COMPLETED"] = cp, fmt.Sprint(tc.steps)
		te, err := experiment.ReadTrialEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		cc, err := experiment.NewClusterContext(context.Background(), te, &experiment.ClusterOptions{
			Storage: experiment.StorageOptions{SharedFSRoot: c.hostDir}})
		if err != nil {
			t.Fatal(err)
		}
		if got := cc.Info().StepsCompleted; got != tc.want {
			t.Errorf("trial %d from %s: StepsCompleted %d, want %d", tc.trial, cp, got, tc.want)
		}
		if err := cc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}
}

// TestUnmanagedRun ensures a run outside the cluster follows the recorded
// unmanaged sequence and that a rerun with the same external ids resumes.
func TestUnmanagedRun(t *testing.T) {
	c := newCluster(t, "")
	ctx := context.Background()
	text := c.config(200, "")
	cfg := parseConfig(t, text)
	opts := experiment.UnmanagedOptions{ConfigText: []byte(text), Config: cfg,
		ExternalExperimentID: "churn-exp-001", ExternalTrialID: "churn-trial-a",
		Heartbeat: time.Millisecond}
	res, err := experiment.TrainUnmanaged(ctx, c.client, opts, pdkSettings())
	if err != nil || res.Steps != 200 {
		t.Fatalf("TrainUnmanaged = %+v, %v", res, err)
	}
	var seq []string
	for _, r := range c.master.Requests()[1:] {
		seq = append(seq, r.Method+" "+r.Path)
	}
	want := []string{"GET /api/v1/master", "PUT /api/v1/experiments/by-external-id/churn-exp-001",
		"PUT /api/v1/trials", "POST /api/v1/trials/1/start", "POST /api/v1/runs/start",
		"PATCH /api/v1/trials/1"}
	if strings.Join(seq[:len(want)], ", ") != strings.Join(want, ", ") {
		t.Errorf("unmanaged sequence starts %v, want %v", seq[:len(want)], want)
	}
	if last := seq[len(seq)-1]; last != "PATCH /api/v1/trials/1" || c.master.ExperimentState(1) != "STATE_COMPLETED" {
		t.Errorf("last request %s, experiment %s", last, c.master.ExperimentState(1))
	}
	beats := 0
	for _, r := range c.master.Requests() {
		if r.Method == "PATCH" && string(r.Body) == `{"trialId":1}` {
			beats++
		}
	}
	if beats == 0 {
		t.Error("no heartbeat (PATCH without a state) was sent")
	}
	opts.Config = parseConfig(t, c.config(300, ""))
	res, err = experiment.TrainUnmanaged(ctx, c.client, opts, pdkSettings())
	if err != nil || res.StartSteps != 200 || res.Steps != 300 {
		t.Fatalf("rerun = %+v, %v; want resumed from 200 to 300", res, err)
	}
	if info := c.master.Trial(1); info.Runs != 2 || info.State != "STATE_COMPLETED" {
		t.Errorf("trial after rerun = %+v", info)
	}
	_ = detfake.Password
}
