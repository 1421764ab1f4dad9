package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/experiment"
)

// modelCmd works with Determined's model registry.
func (a *app) modelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Register churn checkpoints in Determined's model registry and fetch them",
	}
	cmd.AddCommand(a.modelRegisterCmd(), a.modelDownloadCmd())
	return cmd
}

type registerOptions struct {
	masterFlags
	model       string
	experiment  int
	versionName string
	notes       string
}

func (a *app) modelRegisterCmd() *cobra.Command {
	var o registerOptions
	cmd := &cobra.Command{
		Use:   "register --model NAME --experiment ID",
		Short: "Register an experiment's best checkpoint (by its searcher metric) as a model version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.model == "" || o.experiment < 1 {
				return fmt.Errorf("model register: --model and --experiment are required")
			}
			c, err := a.connect(cmd, &o.masterFlags)
			if err != nil {
				return err
			}
			mv, err := c.RegisterBest(cmd.Context(), experiment.RegisterOptions{Model: o.model,
				Experiment: o.experiment, VersionName: o.versionName, Notes: o.notes,
				Description: "customer churn classifier"})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s version %d (checkpoint %s)\n",
				o.model, mv.Version, mv.Checkpoint.UUID)
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.model, "model", "", "model name; created when missing (required)")
	cmd.Flags().IntVar(&o.experiment, "experiment", 0, "experiment id (required)")
	cmd.Flags().StringVar(&o.versionName, "version-name", "", "name of the new version")
	cmd.Flags().StringVar(&o.notes, "notes", "", "notes on the new version")
	return cmd
}

func (a *app) modelDownloadCmd() *cobra.Command {
	var f masterFlags
	cmd := &cobra.Command{
		Use:   "download NAME[@VERSION] DIR",
		Short: "Download a model version's checkpoint (default the latest) into DIR and verify it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, version, err := parseModelRef(args[0])
			if err != nil {
				return err
			}
			c, err := a.connect(cmd, &f)
			if err != nil {
				return err
			}
			mv, err := c.ModelVersion(cmd.Context(), name, version)
			if err != nil {
				return err
			}
			if err := c.DownloadCheckpoint(cmd.Context(), mv.Checkpoint.UUID, args[1]); err != nil {
				return err
			}
			ck, err := checkpoint.Read(args[1])
			if err != nil {
				return fmt.Errorf("model download: %s version %d: %w", name, mv.Version, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s version %d: checkpoint %s (%d batches) in %s\n",
				name, mv.Version, mv.Checkpoint.UUID, ck.Metadata.StepsCompleted, args[1])
			return nil
		},
	}
	f.addFlags(cmd)
	return cmd
}

// parseModelRef splits NAME[@VERSION]; version 0 means the latest.
func parseModelRef(ref string) (string, int, error) {
	name, v, ok := strings.Cut(ref, "@")
	if name == "" {
		return "", 0, fmt.Errorf("model: %q: empty model name", ref)
	}
	if !ok {
		return name, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("model: %q: version must be a positive integer", ref)
	}
	return name, n, nil
}
