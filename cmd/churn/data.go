package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// dataCmd is a placeholder until the verb lands.
func (a *app) dataCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "data",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("data: not implemented yet")
		},
	}
}
