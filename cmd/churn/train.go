package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/trial"
)

// trainOptions holds the flags of `churn train`.
type trainOptions struct {
	config        string
	data          []string
	features      string
	inferFeatures bool
	label         string
	positive      string
	runDir        string
	resume        string
	warmStart     string
	threshold     float64
	thresholdSet  bool // --threshold given, not the default
	masterFlags
	externalID string
}

// AddFlags registers the options' flags on cmd.
func (o *trainOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "",
		"experiment config, YAML or JSON (default: the embedded experiment/const.yaml, "+
			"or the checkpoint's with --resume)")
	f.StringArrayVar(&o.data, "data", nil,
		"CSV file to train on; repeat for several, concatenated in order "+
			"(default: the config's data.files, else the embedded telco table)")
	f.StringVar(&o.features, "features", "",
		"feature spec file (JSON) (default: the config's data.features; without one "+
			"a spec is fitted on the training split)")
	f.BoolVar(&o.inferFeatures, "infer-features", false,
		"fit the feature spec on the training split even if the config names one")
	f.StringVar(&o.label, "label", "churn", "label column, when fitting the spec")
	f.StringVar(&o.positive, "positive", "",
		"label value that means churn, when fitting the spec (default: 1, Yes, Y or True)")
	f.StringVar(&o.runDir, "run-dir", "",
		"run directory to create (default: runs/<timestamp>)")
	f.StringVar(&o.resume, "resume", "",
		"run directory (its latest complete checkpoint) or checkpoint directory to "+
			"continue from (same data); the run continues in the checkpoint's run directory "+
			"unless --run-dir names another")
	f.StringVar(&o.warmStart, "warm-start", "",
		"checkpoint directory whose model starts training on new data (needs --data)")
	f.Float64Var(&o.threshold, "threshold", checkpoint.DefaultThreshold,
		"probability at or above which a prediction says churn, for acc, precision, "+
			"recall and f1; stored in metadata.json for serving")
	o.masterFlags.addFlags(cmd)
	// Only train ignores $DET_MASTER: without the flag it trains locally.
	f.Lookup("master").Usage = "Determined master URL to report the run to as an " +
		"unmanaged experiment (default: none, train locally; $DET_MASTER is not read)"
	f.StringVar(&o.externalID, "external-id", "",
		"with --master: experiment id to report into and resume from on a rerun")
}

// Validate checks the flags against each other.
func (o *trainOptions) Validate() error {
	switch {
	case o.resume != "" && o.warmStart != "":
		return errors.New("train: --resume and --warm-start exclude each other")
	case o.features != "" && o.inferFeatures:
		return errors.New("train: --features and --infer-features exclude each other")
	case (o.resume != "" || o.warmStart != "") && (o.features != "" || o.inferFeatures):
		return errors.New("train: a run from a checkpoint uses the checkpoint's feature " +
			"spec; drop --features and --infer-features")
	case o.inferFeatures && o.label == "":
		return errors.New("train: --infer-features needs --label")
	case o.warmStart != "" && len(o.data) == 0:
		return errors.New("train: --warm-start needs --data: a warm start trains the " +
			"checkpoint's model on new data (to continue on the same data, use --resume)")
	case !(o.threshold > 0 && o.threshold < 1):
		return fmt.Errorf("train: --threshold %v: want a probability strictly between 0 and 1",
			o.threshold)
	case o.master == "" && o.externalID != "":
		return errors.New("train: --external-id needs --master")
	case o.master != "" && (o.resume != "" || o.runDir != ""):
		return errors.New("train: with --master the run is tracked by Determined; " +
			"drop --resume and --run-dir (rerun with the same --external-id to resume)")
	}
	for _, d := range o.data {
		if d == "" {
			return errors.New("train: --data: empty file name")
		}
	}
	return nil
}

// checkpoint returns the starting checkpoint and whether it is resumed.
func (o *trainOptions) checkpoint() (dir string, resume bool) {
	if o.resume != "" {
		return o.resume, true
	}
	return o.warmStart, false
}

// isCheckpointDir reports whether dir holds a metadata.json.
func isCheckpointDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, checkpoint.MetadataFile))
	return err == nil
}

// pickCheckpoint turns --resume RUN_DIR into the run's latest complete,
// verifiable checkpoint, and verifies a checkpoint given directly, so that
// a damaged one is refused before anything is written.
func (o *trainOptions) pickCheckpoint(log *slog.Logger) error {
	if o.resume != "" && !isCheckpointDir(o.resume) {
		if err := checkResumeDir(o.resume); err != nil {
			return err
		}
		ck, err := trial.LatestCheckpoint(o.resume, log)
		if err != nil {
			code := exitNoCheckpoint
			if errors.Is(err, trial.ErrRunComplete) {
				code = exitRunComplete
			}
			return &exitError{code: code, err: fmt.Errorf("train: --resume: %w", err)}
		}
		log.Info("resuming from the latest complete checkpoint", "run", o.resume,
			"checkpoint", ck)
		o.resume = ck
		return nil
	}
	dir, _ := o.checkpoint()
	if dir == "" {
		return nil
	}
	ck, err := checkpoint.Read(dir)
	if err != nil {
		return &exitError{code: exitBadCheckpoint, err: fmt.Errorf("train: %w", err)}
	}
	ck.Model.Close()
	return nil
}

// checkResumeDir refuses a --resume that is a file; a directory that does
// not exist is left to trial.LatestCheckpoint, which says it has none.
func checkResumeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || fi.IsDir() {
		return nil
	}
	return &exitError{code: exitNoCheckpoint, err: fmt.Errorf("train: --resume %s: a file, "+
		"not a directory; give a run directory (holding %s/) or a checkpoint directory "+
		"(holding %s)", dir, trial.CheckpointsDir, checkpoint.MetadataFile)}
}

func (a *app) trainCmd() *cobra.Command {
	o := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train [flags]",
		Short: "Train the churn classifier locally into a run directory",
		Long: "Train the churn classifier: 80/20 split (seed random_seed), batches of\n" +
			"global_batch_size rows for searcher.max_length batches, validation and a\n" +
			"checkpoint every min_validation_period batches. With no flags it trains on\n" +
			"the embedded telco table with the embedded experiment config and spec.\n" +
			"Features: --features, else the config's data.features, else a spec is\n" +
			"fitted on the training split of the data (--label, --positive); so\n" +
			"--infer-features is only needed to override the config's data.features.\n" +
			"The run directory holds metrics.jsonl, checkpoints/, plots and, once the\n" +
			"run is complete, run.json.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			o.thresholdSet = cmd.Flags().Changed("threshold")
			return a.runTrain(cmd, o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// runTrain resolves the inputs, runs the trial and prints the outcome.
func (a *app) runTrain(cmd *cobra.Command, o *trainOptions) error {
	if err := o.pickCheckpoint(a.logger); err != nil {
		return err
	}
	in, err := o.resolve()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if o.master != "" {
		return a.runTrainOnMaster(cmd, o, in)
	}
	runDir, err := o.makeRunDirName()
	if err != nil {
		return err
	}
	prog := a.newTrainProgress()
	logger := prog.logger(a.logger)
	ckDir, resume := o.checkpoint()
	local, err := trial.NewLocal(runDir, in.cfg, &trial.LocalOptions{
		Checkpoint: ckDir, Resume: resume, Logger: logger,
	})
	if err != nil {
		return err
	}
	res, err := trial.Run(cmd.Context(), local, &trial.Settings{
		Data: in.data, Spec: in.spec, Infer: in.infer, Threshold: in.threshold,
		Logger: logger, Observer: prog,
	})
	prog.finish()
	if err != nil {
		return a.trainFailed(local, res, err)
	}
	if err := local.Finish(res); err != nil {
		return err
	}
	if res.Status != trial.Success {
		return fmt.Errorf("train: run stopped (%s) at batch %d; continue with "+
			"churn train --resume %s", res.Status, res.Steps, local.Dir())
	}
	return a.printTrainResult(local, res)
}

// trainFailed cleans up after a failed run and says how to go on.
func (a *app) trainFailed(local *trial.Local, res *trial.Result, err error) error {
	if aerr := local.Abort(); aerr != nil {
		a.logger.Warn("run directory not cleaned up", "dir", local.Dir(), "error", aerr)
	}
	if res.Latest.ID != "" && res.Status.Early() {
		return fmt.Errorf("train: %w; continue with churn train --resume %s",
			err, local.Dir())
	}
	return fmt.Errorf("train: %w", err)
}

// makeRunDirName returns --run-dir, the resumed checkpoint's own run
// directory, or a fresh runs/<timestamp>.
func (o *trainOptions) makeRunDirName() (string, error) {
	if o.runDir != "" {
		return o.runDir, nil
	}
	if run := trial.RunDirOf(o.resume); o.resume != "" && run != "" {
		return run, nil
	}
	base := filepath.Join("runs", time.Now().Format("20060102-150405"))
	dir := base
	for i := 2; ; i++ {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return dir, nil
		} else if err != nil {
			return "", fmt.Errorf("train: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

// runTrainOnMaster trains here and reports the run to a Determined master
// as an unmanaged experiment.
func (a *app) runTrainOnMaster(cmd *cobra.Command, o *trainOptions, in *trainInputs) error {
	text := churn.DefaultConfig()
	if o.config != "" {
		b, err := os.ReadFile(o.config)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		text = b
	}
	prog := a.newTrainProgress()
	s := trial.Settings{Data: in.data, Spec: in.spec, Infer: in.infer,
		Threshold: in.threshold, Logger: prog.logger(a.logger), Observer: prog}
	res, err := a.trainOnMaster(cmd, &o.masterFlags, text, in.cfg, o.externalID, s)
	prog.finish()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if res.Status != trial.Success {
		return fmt.Errorf("train: run stopped (%s) at batch %d", res.Status, res.Steps)
	}
	fmt.Fprintf(a.stdout, "trained %d batches; best checkpoint %s (%s %.4f), "+
		"tracked on the master\n", res.Steps, res.Best.ID, in.cfg.Searcher.Metric,
		res.Best.Metrics[in.cfg.Searcher.Metric])
	return nil
}
