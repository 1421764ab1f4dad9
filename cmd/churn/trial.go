package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// trialCmd is a placeholder until the verb lands.
func (a *app) trialCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "trial",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("trial: not implemented yet")
		},
	}
}
