package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// featuresCmd is a placeholder until the verb lands.
func (a *app) featuresCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "features",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("features: not implemented yet")
		},
	}
}
