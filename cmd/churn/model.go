package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// modelCmd is a placeholder until the verb lands.
func (a *app) modelCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "model",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("model: not implemented yet")
		},
	}
}
