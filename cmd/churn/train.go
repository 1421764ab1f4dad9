package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// trainCmd is a placeholder until the verb lands.
func (a *app) trainCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "train",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("train: not implemented yet")
		},
	}
}
