package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// experimentCmd is a placeholder until the verb lands.
func (a *app) experimentCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "experiment",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("experiment: not implemented yet")
		},
	}
}
