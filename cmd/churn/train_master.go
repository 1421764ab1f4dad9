package main

import (
	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/trial"
)

// trainOnMaster runs the training loop here while reporting it to a
// Determined master as an unmanaged experiment (masters 0.29 and later):
// metrics, checkpoints (written to the config's checkpoint_storage, at
// host_path for shared_fs) and the trial's end state. externalID makes a
// rerun report into, and resume from, the same experiment and trial; ""
// creates new ones. text is the config as written, for the master's
// record. The train verb calls it when --master is given.
func (a *app) trainOnMaster(cmd *cobra.Command, f *masterFlags, text []byte,
	cfg *trial.Config, externalID string, s trial.Settings) (*trial.Result, error) {
	c, err := a.connect(cmd, f)
	if err != nil {
		return nil, err
	}
	opts := experiment.UnmanagedOptions{Logger: a.logger, ConfigText: text, Config: cfg,
		ExternalExperimentID: externalID}
	if externalID != "" {
		opts.ExternalTrialID = externalID + "-trial"
	}
	return experiment.TrainUnmanaged(cmd.Context(), c, opts, s)
}
