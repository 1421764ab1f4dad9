//go:build predictor

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// pipelineCmd stands in for the pipeline verbs in a binary built with the
// predictor tag (the predictor image: docker/predictor.Dockerfile). That
// build leaves out the pipeline package and, with it, the Kubernetes and
// KServe clientsets and their cloud SDKs, whose package initialisation
// alone costs the serving process about 20 MB of RSS.
func (a *app) pipelineCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "pipeline",
		Short:  "Pachyderm pipeline steps (not in this build: it was built with -tags predictor)",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pipeline: this binary was built with -tags predictor, " +
				"which leaves the pipeline verbs out; use the full churn binary")
		},
	}
}
