package pipeline

import (
	"fmt"
	"net"
)

// Worker environment variables the steps read.
const (
	EnvJobID        = "PACH_JOB_ID"
	EnvOutputCommit = "PACH_OUTPUT_COMMIT_ID"
	EnvPipeline     = "PPS_PIPELINE_NAME"
	EnvProject      = "PPS_PROJECT_NAME"
	// EnvS3Host and EnvS3Port are the Kubernetes service links of pachd's
	// s3gateway-port, present in pods of pachd's namespace.
	EnvS3Host = "PACHD_SERVICE_HOST"
	EnvS3Port = "PACHD_SERVICE_PORT_S3GATEWAY_PORT"
	// EnvToken is the pipeline secret's Pachyderm token (pac_token).
	EnvToken = "PAC_TOKEN"
	// EnvKServeNamespace is the pipeline secret's kserve_namespace.
	EnvKServeNamespace = "KSERVE_NAMESPACE"
)

// DefaultProject is Pachyderm's project when none is named.
const DefaultProject = "default"

// WorkerEnv is what a Pachyderm pipeline worker tells its user code.
type WorkerEnv struct {
	// JobID is PACH_JOB_ID, the global ID shared by the job, its output
	// commit and the input commits that triggered it.
	JobID string
	// OutputCommit is PACH_OUTPUT_COMMIT_ID ("" when unset).
	OutputCommit string
	// Pipeline is PPS_PIPELINE_NAME, also the output repo's name.
	Pipeline string
	// Project is PPS_PROJECT_NAME, DefaultProject when unset.
	Project string
	// InputCommit is <input>_COMMIT, JobID when unset.
	InputCommit string
	// S3Endpoint is the S3 gateway's address built from pachd's service
	// links ("" when they are unset).
	S3Endpoint string
}

// ReadWorkerEnv reads the worker environment through getenv; input names
// the pipeline's pfs input (its <input>_COMMIT variable).
func ReadWorkerEnv(getenv func(string) string, input string) (WorkerEnv, error) {
	w := WorkerEnv{
		JobID:        getenv(EnvJobID),
		OutputCommit: getenv(EnvOutputCommit),
		Pipeline:     getenv(EnvPipeline),
		Project:      getenv(EnvProject),
		InputCommit:  getenv(input + "_COMMIT"),
	}
	for _, f := range [][2]string{{EnvJobID, w.JobID}, {EnvPipeline, w.Pipeline}} {
		if f[1] == "" {
			return w, fmt.Errorf("pipeline: environment: %s is not set "+
				"(run this inside a Pachyderm pipeline worker)", f[0])
		}
	}
	if w.Project == "" {
		w.Project = DefaultProject
	}
	if w.InputCommit == "" {
		w.InputCommit = w.JobID
	}
	if h, p := getenv(EnvS3Host), getenv(EnvS3Port); h != "" && p != "" {
		w.S3Endpoint = "http://" + net.JoinHostPort(h, p)
	}
	return w, nil
}
