package main

import (
	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/pipeline/pachyderm"
)

// trialCmd runs the churn trial inside a Determined trial container: the
// entrypoint of experiment/const.yaml.
func (a *app) trialCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "trial",
		Short: "Run the churn trial in a Determined trial container (the experiment's entrypoint)",
		Long: "Run the churn trial in a Determined trial container. It reads the DET_* " +
			"environment the master sets, trains with the hyperparameters DET_HPARAMS " +
			"holds, reports metrics and checkpoints to the master, resumes from " +
			"DET_LATEST_CHECKPOINT and stops cleanly when the master preempts it. " +
			"With data.source pachyderm it reads the data commit through Pachyderm's " +
			"S3 gateway, only the files changed since data.pachyderm.previous_commit.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := experiment.ReadTrialEnv(nil)
			if err != nil {
				return err
			}
			opts := &experiment.TrialOptions{
				Cluster: experiment.ClusterOptions{Logger: a.logger},
				// data.source pachyderm reads the job's commit through the
				// S3 gateway (or /pfs); anything else is local files.
				Data: pachyderm.Data(&pachyderm.Source{Logger: a.logger}),
			}
			_, err = experiment.RunTrial(cmd.Context(), env, opts)
			return err
		},
	}
}
