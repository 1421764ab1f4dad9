package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// serveCmd is a placeholder until the verb lands.
func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "serve",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("serve: not implemented yet")
		},
	}
}
