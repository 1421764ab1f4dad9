package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/experiment"
)

// masterFlags are the flags of every verb that talks to a master.
// Secrets are never flag values (they would show in ps and shell
// history): they come from the environment or from files.
type masterFlags struct {
	master       string
	user         string
	passwordFile string
	tokenFile    string
}

func (f *masterFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.master, "master", "",
		"Determined master URL (default $DET_MASTER, else localhost:8080)")
	cmd.Flags().StringVar(&f.user, "user", "",
		"user to log in as when there is no user token (default $DET_USER, else determined)")
	cmd.Flags().StringVar(&f.passwordFile, "password-file", "",
		"file holding the password to log in with (default $DET_PASS_FILE; "+
			"else the password is $DET_PASS)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "",
		"file holding a user session token; no login then (default $DET_USER_TOKEN_FILE; "+
			"else the token is $DET_USER_TOKEN)")
}

// secretFrom reads a secret from file (flag, else the environment
// variable fileEnv) or else the environment variable env. The file's
// trailing newline is dropped; errors name the file, never its content.
func secretFrom(file, fileEnv, env string) (experiment.Secret, error) {
	if file == "" {
		file = os.Getenv(fileEnv)
	}
	if file == "" {
		return experiment.NewSecret(os.Getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return experiment.Secret{}, fmt.Errorf("secret file: %w", err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return experiment.Secret{}, fmt.Errorf("secret file %s is empty", file)
	}
	return experiment.NewSecret(v), nil
}

// connect logs in to the master the flags and environment name.
func (a *app) connect(cmd *cobra.Command, f *masterFlags) (*experiment.Client, error) {
	token, err := secretFrom(f.tokenFile, "DET_USER_TOKEN_FILE", "DET_USER_TOKEN")
	if err != nil {
		return nil, err
	}
	o := experiment.ConnectOptions{Master: f.master, User: f.user, Logger: a.logger,
		Token: token}
	if token.Empty() {
		if o.Password, err = secretFrom(f.passwordFile, "DET_PASS_FILE", "DET_PASS"); err != nil {
			return nil, err
		}
	}
	if o.Master == "" {
		o.Master = os.Getenv("DET_MASTER")
	}
	if o.Master == "" {
		o.Master = "localhost:8080"
	}
	if o.User == "" {
		o.User = os.Getenv("DET_USER")
	}
	return experiment.Connect(cmd.Context(), o)
}

// experimentCmd submits and watches Determined experiments.
func (a *app) experimentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "experiment",
		Short: "Submit churn experiments to a Determined master and wait for them",
	}
	cmd.AddCommand(a.experimentCreateCmd(), a.experimentWaitCmd())
	return cmd
}

type createOptions struct {
	masterFlags
	config    string
	follow    bool
	projectID int
	interval  time.Duration
}

func (a *app) experimentCreateCmd() *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create --config FILE DIR",
		Short: "Create an experiment from a config and a model definition directory",
		Long: "Create an experiment: DIR is the model definition (with a linux/amd64 churn " +
			"binary for the entrypoint ./churn trial), packed as the master expects and " +
			"filtered by DIR/.detignore. With --follow, wait until the experiment ends; " +
			"the exit status is 0 only if it COMPLETED.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.createExperiment(cmd, &o, args[0])
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.config, "config", "", "experiment config file (YAML); required")
	cmd.Flags().BoolVar(&o.follow, "follow", false, "wait until the experiment ends")
	cmd.Flags().IntVar(&o.projectID, "project-id", 0, "project to create it in (0: the config's)")
	cmd.Flags().DurationVar(&o.interval, "interval", 5*time.Second, "poll interval with --follow")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func (a *app) createExperiment(cmd *cobra.Command, o *createOptions, dir string) error {
	text, err := os.ReadFile(o.config)
	if err != nil {
		return fmt.Errorf("experiment create: %w", err)
	}
	files, err := experiment.PackModelDefinition(dir, 0)
	if err != nil {
		return err
	}
	if err := experiment.CheckEntrypoint(text, files); err != nil {
		return fmt.Errorf("experiment create: %s: %w", o.config, err)
	}
	c, err := a.connect(cmd, &o.masterFlags)
	if err != nil {
		return err
	}
	resp, err := c.CreateExperiment(cmd.Context(), experiment.CreateExperimentRequest{
		Config: string(text), ModelDefinition: files, Activate: true, ProjectID: o.projectID})
	if err != nil {
		return err
	}
	for _, w := range resp.Warnings {
		a.logger.Warn("master warning", "warning", fmt.Sprint(w))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "created experiment %d (%s): %s/det/experiments/%d\n",
		resp.Experiment.ID, resp.Experiment.State, c.Master(), resp.Experiment.ID)
	if !o.follow {
		return nil
	}
	return a.waitExperiment(cmd, c, resp.Experiment.ID, o.interval)
}

func (a *app) experimentWaitCmd() *cobra.Command {
	var f masterFlags
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "wait ID",
		Short: "Wait until an experiment ends; exit 0 only if it COMPLETED",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.Atoi(args[0])
			if err != nil || id < 1 {
				return fmt.Errorf("experiment wait: %q is not an experiment id", args[0])
			}
			c, err := a.connect(cmd, &f)
			if err != nil {
				return err
			}
			return a.waitExperiment(cmd, c, id, interval)
		},
	}
	f.addFlags(cmd)
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "poll interval")
	return cmd
}

// waitExperiment polls until id ends: exit status 0 for COMPLETED, 2 for
// any other end (CANCELED, ERROR, DELETED, PAUSED).
func (a *app) waitExperiment(cmd *cobra.Command, c *experiment.Client, id int,
	interval time.Duration) error {
	state, err := c.WaitExperiment(cmd.Context(), id, experiment.WaitOptions{Interval: interval,
		OnState: func(s string) { a.logger.Info("experiment state", "experiment", id, "state", s) }})
	if err != nil && !errors.Is(err, experiment.ErrPaused) {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "experiment %d: %s\n", id, state)
	if state != "STATE_COMPLETED" {
		return &exitError{code: 2, err: fmt.Errorf("experiment %d ended %s", id, state)}
	}
	return nil
}
