package experiment_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
)

// reportKeys lists "group@steps" of trial tid's stored metric reports.
func reportKeys(c *cluster, tid int) []string {
	var got []string
	for _, m := range c.master.Metrics(tid) {
		got = append(got, fmt.Sprintf("%s@%d", m.Group, m.Steps))
	}
	return got
}

// wantKeys is every report of a 300-batch run validating every 100.
var wantKeys = []string{"training@100", "validation@100", "training@200", "validation@200",
	"training@300", "validation@300"}

// checkpointSteps lists the steps of trial tid's checkpoints, checking
// that each uuid is recorded once.
func checkpointSteps(t *testing.T, c *cluster, tid int) []int {
	t.Helper()
	ids := c.master.Trial(tid).Checkpoints
	var steps []int
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("checkpoint %s recorded twice", id)
		}
		seen[id] = true
		meta := c.master.Checkpoint(id)["metadata"].(map[string]any)
		steps = append(steps, int(meta["steps_completed"].(float64)))
	}
	slices.Sort(steps)
	return steps
}

// ensures reports whose answers were lost (the master stored them, the
// client saw a 504) are neither lost nor stored twice: the master's
// refusal of keys it already holds, after such an attempt, is success.
func TestLostAnswersNotDuplicated(t *testing.T) {
	c := newCluster(t, "")
	c.master.FailAfter("POST", "/api/v1/trials/1/metrics", 504, 3)
	c.master.FailAfter("POST", "/api/v1/checkpoints", 504, 2)
	expID, state := c.submit(t, c.config(300, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	if got := reportKeys(c, tid); !slices.Equal(got, wantKeys) {
		t.Errorf("metrics = %v, want each of %v once", got, wantKeys)
	}
	if got := checkpointSteps(t, c, tid); !slices.Equal(got, []int{100, 200, 300}) {
		t.Errorf("checkpoints at %v, want 100, 200, 300 once each", got)
	}
	if n := c.master.Count("POST", "/api/v1/trials/1/metrics"); n != 6+3 {
		t.Errorf("metrics requests = %d, want 9 (3 sent again)", n)
	}
	if n := c.master.Count("POST", "/api/v1/checkpoints"); n != 3+2 {
		t.Errorf("checkpoint requests = %d, want 5 (2 sent again)", n)
	}
	// A duplicate on a first attempt is a real error, not success.
	err := c.client.ReportMetrics(context.Background(), experiment.Protocol{GenericMetrics: true},
		experiment.MetricsReport{TrialID: tid, TrialRunID: 1, Group: "training", Steps: 100,
			Metrics: map[string]float64{"loss": 1}})
	if !errors.Is(err, experiment.ErrInvalidArgument) || !strings.Contains(err.Error(), "overlapping") {
		t.Errorf("a second report of training@100 = %v, want the master's refusal", err)
	}
}

// ensures a burst of 503s on POST /api/v1/checkpoints loses no
// checkpoint and records none twice.
func TestCheckpointReportsSurviveOutage(t *testing.T) {
	c := newCluster(t, "")
	c.master.Fail("POST", "/api/v1/checkpoints", 503, 8)
	expID, state := c.submit(t, c.config(300, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	if got := checkpointSteps(t, c, tid); !slices.Equal(got, []int{100, 200, 300}) {
		t.Errorf("checkpoints at %v, want 100, 200, 300", got)
	}
	if n := c.master.Count("POST", "/api/v1/checkpoints"); n != 3+8 {
		t.Errorf("checkpoint requests = %d, want 11 (8 refused)", n)
	}
	if got := reportKeys(c, tid); !slices.Equal(got, wantKeys) {
		t.Errorf("metrics = %v, want %v", got, wantKeys)
	}
}

// ensures a burst of 5xx on the preemption long poll neither kills the
// trial nor hides a preemption: the trial stops at its checkpoint, resumes
// and every report is stored once.
func TestPreemptionPollSurvivesOutage(t *testing.T) {
	c := newCluster(t, "")
	c.master.Fail("GET", "/api/v1/allocations/", 503, 25)
	c.master.Fail("GET", "/api/v1/allocations/", 502, 5)
	var once sync.Once
	c.master.OnMetric(func(m detfake.Metric) {
		if m.Group == "validation" && m.Steps == 100 {
			once.Do(func() { c.master.Preempt(m.TrialID) })
		}
	})
	expID, state := c.submit(t, c.config(300, ""))
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	if info := c.master.Trial(tid); info.Runs != 2 || !slices.Equal(c.codes, []int{0, 0}) {
		t.Errorf("trial = %+v, exit codes %v; want 2 runs that exit 0", info, c.codes)
	}
	if got := reportKeys(c, tid); !slices.Equal(got, wantKeys) {
		t.Errorf("metrics = %v, want each of %v once", got, wantKeys)
	}
	if got := checkpointSteps(t, c, tid); !slices.Equal(got, []int{100, 200, 300}) {
		t.Errorf("checkpoints at %v, want 100, 200, 300", got)
	}
}

// ensures a master restart in the middle of a trial (no answer at all for
// a second, open connections and the long poll cut) loses no metric and
// no checkpoint and stores none twice.
func TestMasterRestartMidTrial(t *testing.T) {
	c := newCluster(t, "")
	c.sleeps.until = func() bool { return c.master.Restarts() > 0 }
	var wg sync.WaitGroup
	var once sync.Once
	c.master.OnMetric(func(m detfake.Metric) {
		if m.Group == "training" && m.Steps == 200 {
			once.Do(func() {
				wg.Add(1)
				go func() { defer wg.Done(); c.master.Restart(time.Second) }()
			})
		}
	})
	expID, state := c.submit(t, c.config(300, ""))
	wg.Wait()
	if state != "STATE_COMPLETED" {
		t.Fatalf("experiment ended %s", state)
	}
	tid := c.master.TrialIDs(expID)[0]
	if info := c.master.Trial(tid); info.Runs != 1 || c.master.Restarts() != 1 {
		t.Errorf("trial = %+v after %d restarts; want 1 run and 1 restart", info,
			c.master.Restarts())
	}
	if got := reportKeys(c, tid); !slices.Equal(got, wantKeys) {
		t.Errorf("metrics = %v, want each of %v once", got, wantKeys)
	}
	if got := checkpointSteps(t, c, tid); !slices.Equal(got, []int{100, 200, 300}) {
		t.Errorf("checkpoints at %v, want 100, 200, 300 once each", got)
	}
}
