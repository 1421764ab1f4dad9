package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// TrialEnv is what the master tells a trial container through its
// environment.
type TrialEnv struct {
	// Master is DET_MASTER, the master's URL.
	Master string
	// ExperimentID is DET_EXPERIMENT_ID.
	ExperimentID int
	// TrialID is DET_TRIAL_ID.
	TrialID int
	// TrialRunID is DET_TRIAL_RUN_ID; every metric report echoes it.
	TrialRunID int
	// AllocationID is DET_ALLOCATION_ID (preemption calls use it).
	AllocationID string
	// TaskID is DET_TASK_ID (checkpoint reports use it).
	TaskID string
	// SessionToken is DET_SESSION_TOKEN, the allocation token.
	SessionToken Secret
	// User and UserToken are DET_USER and DET_USER_TOKEN (optional).
	User      string
	UserToken Secret
	// Hparams is DET_HPARAMS: the sampled hyperparameter values.
	Hparams map[string]any
	// Config is DET_EXPERIMENT_CONFIG: the full, defaults-filled config.
	Config map[string]any
	// ConfigJSON is DET_EXPERIMENT_CONFIG as given.
	ConfigJSON []byte
	// LatestCheckpoint is DET_LATEST_CHECKPOINT (empty: start afresh).
	LatestCheckpoint string
	// StepsCompleted is DET_STEPS_COMPLETED (0 when absent).
	StepsCompleted int
	// Seed is DET_TRIAL_SEED (0 when absent).
	Seed uint32
	// MasterCertFile and MasterCertName come from DET_MASTER_CERT_FILE and
	// DET_MASTER_CERT_NAME (TLS; "noverify" disables verification).
	MasterCertFile string
	MasterCertName string
}

// TrialEnvVars lists the variables ReadTrialEnv reads, required first.
var TrialEnvVars = []string{
	"DET_MASTER", "DET_EXPERIMENT_ID", "DET_TRIAL_ID", "DET_TRIAL_RUN_ID",
	"DET_ALLOCATION_ID", "DET_TASK_ID", "DET_SESSION_TOKEN", "DET_HPARAMS",
	"DET_EXPERIMENT_CONFIG", "DET_LATEST_CHECKPOINT", "DET_STEPS_COMPLETED",
	"DET_TRIAL_SEED", "DET_USER", "DET_USER_TOKEN", "DET_MASTER_CERT_FILE",
	"DET_MASTER_CERT_NAME",
}

// ReadTrialEnv reads the trial environment through lookup (os.LookupEnv
// when nil). Every missing or malformed variable is named in the error;
// secret values never appear in it.
func ReadTrialEnv(lookup func(string) (string, bool)) (*TrialEnv, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	r := envReader{lookup: lookup}
	e := &TrialEnv{
		Master:           r.str("DET_MASTER", true),
		ExperimentID:     r.int("DET_EXPERIMENT_ID", true, 1),
		TrialID:          r.int("DET_TRIAL_ID", true, 1),
		TrialRunID:       r.int("DET_TRIAL_RUN_ID", true, 1),
		AllocationID:     r.str("DET_ALLOCATION_ID", true),
		TaskID:           r.str("DET_TASK_ID", true),
		SessionToken:     NewSecret(r.str("DET_SESSION_TOKEN", true)),
		User:             r.str("DET_USER", false),
		UserToken:        NewSecret(r.str("DET_USER_TOKEN", false)),
		LatestCheckpoint: r.str("DET_LATEST_CHECKPOINT", false),
		StepsCompleted:   r.int("DET_STEPS_COMPLETED", false, 0),
		Seed:             uint32(r.int("DET_TRIAL_SEED", false, 0)),
		MasterCertFile:   r.str("DET_MASTER_CERT_FILE", false),
		MasterCertName:   r.str("DET_MASTER_CERT_NAME", false),
	}
	e.Hparams = r.object("DET_HPARAMS")
	e.ConfigJSON = []byte(r.str("DET_EXPERIMENT_CONFIG", false))
	e.Config = r.object("DET_EXPERIMENT_CONFIG")
	if len(r.problems) > 0 {
		return nil, &ConfigError{Field: "trial environment",
			Reason: strings.Join(r.problems, "; ")}
	}
	return e, nil
}

// envReader collects every problem instead of stopping at the first.
type envReader struct {
	lookup   func(string) (string, bool)
	problems []string
}

func (r *envReader) str(name string, required bool) string {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	if required && (!ok || v == "") {
		r.problems = append(r.problems, name+" is not set")
	}
	return v
}

func (r *envReader) int(name string, required bool, lo int) int {
	s := r.str(name, required)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q: want an integer >= %d", name, s, lo))
		return 0
	}
	return n
}

func (r *envReader) object(name string) map[string]any {
	s := r.str(name, true)
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		r.problems = append(r.problems, fmt.Sprintf("%s: not a JSON object", name))
	}
	return m
}
