package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// pipelineCmd is a placeholder until the verb lands.
func (a *app) pipelineCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "pipeline",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("pipeline: not implemented yet")
		},
	}
}
