package main

import "github.com/spf13/cobra"

// verbs lists the subcommands, one file each.
func (a *app) verbs() []*cobra.Command {
	return []*cobra.Command{
		a.trainCmd(),
		a.featuresCmd(),
		a.dataCmd(),
		a.serveCmd(),
		a.predictCmd(),
		a.trialCmd(),
		a.experimentCmd(),
		a.modelCmd(),
		a.pipelineCmd(),
	}
}
