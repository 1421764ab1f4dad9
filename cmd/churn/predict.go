package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// predictCmd is a placeholder until the verb lands.
func (a *app) predictCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "predict",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("predict: not implemented yet")
		},
	}
}
