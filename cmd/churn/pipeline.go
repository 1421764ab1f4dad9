//go:build !predictor

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	kserve "github.com/kserve/kserve/pkg/client/clientset/versioned"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/pipeline"
)

// pipelineCmd groups the steps that run inside Pachyderm pipeline workers.
func (a *app) pipelineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Pachyderm pipeline steps: train a model version, deploy it to KServe",
		Long: "The steps of the two Pachyderm pipelines (pipelines/*.json). They read the " +
			"worker environment (PACH_JOB_ID, PPS_PIPELINE_NAME, PPS_PROJECT_NAME, " +
			"<input>_COMMIT) and the pipeline secret (DET_MASTER, DET_USER, DET_PASSWORD, " +
			"PAC_TOKEN, KSERVE_NAMESPACE).",
	}
	cmd.AddCommand(a.pipelineTrainCmd(), a.pipelineDeployCmd())
	return cmd
}

// pipelineMasterFlags name the Determined master of a pipeline step.
type pipelineMasterFlags struct {
	master, user string
}

func (f *pipelineMasterFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.master, "master", "", "Determined master URL (default $DET_MASTER)")
	cmd.Flags().StringVar(&f.user, "user", "",
		"user to log in as when $DET_USER_TOKEN is unset (default $DET_USER); "+
			"the password is read from $DET_PASSWORD")
}

// pipelineMaster connects to the master of the pipeline secret: DET_MASTER,
// then DET_USER_TOKEN or DET_USER with DET_PASSWORD.
func (a *app) pipelineMaster(cmd *cobra.Command, f *pipelineMasterFlags) (
	*experiment.Client, error) {
	pw := os.Getenv("DET_PASSWORD")
	if pw == "" {
		pw = os.Getenv("DET_PASS")
	}
	o := experiment.ConnectOptions{Master: f.master, User: f.user, Logger: a.logger,
		Token:    experiment.NewSecret(os.Getenv("DET_USER_TOKEN")),
		Password: experiment.NewSecret(pw)}
	if o.Master == "" {
		o.Master = os.Getenv("DET_MASTER")
	}
	if o.Master == "" {
		return nil, errors.New("pipeline: no Determined master: set --master or DET_MASTER")
	}
	if o.User == "" {
		o.User = os.Getenv("DET_USER")
	}
	return experiment.Connect(cmd.Context(), o)
}

type pipelineTrainFlags struct {
	pipelineMasterFlags
	opts pipeline.TrainOptions
}

func (a *app) pipelineTrainCmd() *cobra.Command {
	var f pipelineTrainFlags
	cmd := &cobra.Command{
		Use:   "train --config FILE --repo REPO --model NAME",
		Short: "Train on the job's data commit in Determined and register the best checkpoint",
		Long: "Run inside the training pipeline's worker. It gets or creates the registry " +
			"model; with no version yet it starts an experiment on every file of the data " +
			"commit, else it warm-starts from the latest version's checkpoint on the files " +
			"changed since that version's commit. It registers the best checkpoint as a " +
			"version named by the job and writes it with model-info.yaml into --out. An " +
			"experiment that ends without a checkpoint registers nothing and exits 0; one " +
			"that does not complete exits 2. A retried datum whose job already registered " +
			"its version writes that version's output without training again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.opts.Validate(); err != nil {
				return err
			}
			det, err := a.pipelineMaster(cmd, &f.pipelineMasterFlags)
			if err != nil {
				return err
			}
			t := &pipeline.Trainer{Det: det, Logger: a.logger}
			res, err := t.Train(cmd.Context(), f.opts)
			if err != nil {
				return pipelineExit(err)
			}
			if res.Info == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "experiment %d produced no checkpoint; "+
					"no model version registered\n", res.Experiment)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "registered %s version %d (%s) from experiment %d\n",
				res.Info.Name, res.Info.Number, res.Info.Version, res.Experiment)
			return nil
		},
	}
	f.addFlags(cmd)
	fl := cmd.Flags()
	o := &f.opts
	fl.StringVar(&o.Config, "config", "",
		"experiment config; its directory is the model definition (required)")
	fl.StringVar(&o.Repo, "repo", "", "Pachyderm data repository (required)")
	fl.StringVar(&o.Project, "project", "",
		"Pachyderm project of the data repository (default $PPS_PROJECT_NAME)")
	fl.StringVar(&o.Branch, "branch", "master", "data branch")
	fl.StringVar(&o.Model, "model", "",
		"Determined registry model to create or update (required)")
	fl.StringVar(&o.Input, "input", "data", "name of the pipeline's pfs input")
	fl.StringVar(&o.S3Endpoint, "s3-endpoint", "",
		"S3 gateway address trials read data from (default from pachd's service links)")
	fl.StringVar(&o.TokenEnv, "token-env", pipeline.EnvToken,
		"variable holding the Pachyderm token in the worker and trial containers")
	fl.BoolVar(&o.Full, "full", false,
		"train on every file, not only those changed since the last version")
	fl.StringVar(&o.OutDir, "out", "/pfs/out", "output directory")
	fl.DurationVar(&o.PollInterval, "poll-interval", 5*time.Second, "experiment polling interval")
	for _, name := range []string{"config", "repo", "model"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// deployFlags are the deploy step's flags as typed.
type deployFlags struct {
	pipelineMasterFlags
	name, namespace, serviceAccount         string
	tolerations, requests, limits           string
	kubeconfig, image, store, storeEndpoint string
	storeRegion, input, inputDir, branch    string
	wait, keepFailed                        bool
	waitTimeout, pollInterval               time.Duration
	keepVersions                            int
}

// options turns the flags into deploy options, refusing malformed values.
func (f *deployFlags) options() (pipeline.DeployOptions, error) {
	o := pipeline.DeployOptions{Name: f.name, Namespace: f.namespace,
		ServiceAccount: f.serviceAccount, Image: f.image, Input: f.input, InputDir: f.inputDir,
		InputBranch: f.branch, Wait: f.wait, WaitTimeout: f.waitTimeout,
		PollInterval: f.pollInterval, KeepFailed: f.keepFailed, KeepVersions: f.keepVersions}
	var err error
	if o.Tolerations, err = pipeline.ParseTolerations(f.tolerations); err != nil {
		return o, err
	}
	var req, lim corev1.ResourceList
	if req, err = pipeline.ParseResources("--resource-requests", f.requests); err != nil {
		return o, err
	}
	if lim, err = pipeline.ParseResources("--resource-limits", f.limits); err != nil {
		return o, err
	}
	o.Resources = corev1.ResourceRequirements{Requests: req, Limits: lim}
	if o.Store, err = pipeline.ParseStoreLocation(f.store); err != nil {
		return o, err
	}
	return o, nil
}

func (a *app) pipelineDeployCmd() *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy --deployment-name NAME",
		Short: "Deploy the model version in /pfs/<input>/model-info.yaml to KServe",
		Long: "Run inside the deployment pipeline's worker. It reads model-info.yaml, " +
			"fetches that version from Determined, checks it, and points a KServe " +
			"InferenceService running `churn serve` at its files: the finished training " +
			"output commit through the S3 gateway (--model-store pfs), or a copy uploaded " +
			"to s3:// or gs:// (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY " +
			"or the workload's role). The service is created, or replaced with conflict " +
			"retries, only once the model files are in place and verified. With --wait it " +
			"waits for the new generation to be Ready and prints its URL; if it is not " +
			"ready in time, the previous spec is put back (KServe keeps serving the last " +
			"ready revision meanwhile) and the step exits 6 (7 if the roll back failed). " +
			"Model files go to a location of their own per version; existing objects are " +
			"never overwritten.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.deploy(cmd, &f) },
	}
	f.addFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.name, "deployment-name", "",
		"InferenceService and served model name (required)")
	fl.StringVar(&f.namespace, "namespace", "",
		"namespace of the InferenceService (default $KSERVE_NAMESPACE, else default)")
	fl.StringVar(&f.serviceAccount, "service-account-name", "",
		"predictor service account whose secret holds the storage credentials")
	fl.StringVar(&f.tolerations, "tolerations", "", "key=value,... tolerated NoSchedule taints")
	fl.StringVar(&f.requests, "resource-requests", "", "predictor requests, e.g. cpu=2,memory=4Gi")
	fl.StringVar(&f.limits, "resource-limits", "", "predictor limits, e.g. cpu=10,memory=8Gi")
	fl.StringVar(&f.kubeconfig, "k8s-config-file", "", "kubeconfig file (default: in-cluster config)")
	fl.BoolVar(&f.wait, "wait", false, "wait until the service is ready and print its URL")
	fl.DurationVar(&f.waitTimeout, "wait-timeout", 10*time.Minute, "how long --wait waits")
	fl.BoolVar(&f.keepFailed, "keep-failed", false, "when --wait times out, leave the new spec "+
		"in place instead of putting the previous one back")
	fl.DurationVar(&f.pollInterval, "poll-interval", 5*time.Second, "readiness polling interval")
	fl.IntVar(&f.keepVersions, "keep-versions", 0, "with --wait and a bucket --model-store: "+
		"once the new version is ready, delete the model's folders beyond the N most recent "+
		"(the served and the replaced versions always stay); 0 keeps all")
	fl.StringVar(&f.image, "image", pipeline.DefaultPredictorImage,
		"predictor image (entrypoint: churn serve)")
	fl.StringVar(&f.store, "model-store", pipeline.StorePFS, "where KServe reads the model: "+
		"pfs (the training output commit), s3://bucket[/prefix] or gs://bucket[/prefix]")
	fl.StringVar(&f.storeEndpoint, "store-endpoint", "",
		"S3 API endpoint of --model-store (default: the scheme's public service)")
	fl.StringVar(&f.storeRegion, "store-region", "", "region of the --model-store bucket")
	fl.StringVar(&f.input, "input", "data", "name of the pipeline's pfs input")
	fl.StringVar(&f.inputDir, "input-dir", "", "where the input is mounted (default /pfs/<input>)")
	fl.StringVar(&f.branch, "input-branch", "master", "branch of the training output repo")
	_ = cmd.MarkFlagRequired("deployment-name")
	return cmd
}

// routeClientGoLogs sends what client-go logs (through klog: warnings from
// the API server, client-side throttling, kubeconfig loading) to logger,
// tagged as such, instead of klog's own lines on stderr. klog hands them
// over as info, so they show at --log-level info and below.
func routeClientGoLogs(logger *slog.Logger) {
	klog.SetSlogLogger(logger.With("source", "client-go"))
}

// deploy checks everything it can before it talks to the master or the
// cluster, then deploys.
func (a *app) deploy(cmd *cobra.Command, f *deployFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	plan, err := pipeline.PlanDeploy(opts, nil)
	if err != nil {
		return err
	}
	routeClientGoLogs(a.logger)
	restCfg, err := kubeConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kserve.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("pipeline: deploy: KServe client: %w", err)
	}
	d := &pipeline.Deployer{
		Services: func(ns string) pipeline.InferenceServices {
			return cs.ServingV1beta1().InferenceServices(ns)
		},
		Logger: a.logger, Stdout: cmd.OutOrStdout(),
	}
	if plan.Options.Store.Scheme != pipeline.StorePFS {
		d.Store, err = pipeline.NewS3Store(pipeline.S3StoreConfig{Endpoint: f.storeEndpoint,
			Scheme: plan.Options.Store.Scheme, Region: f.storeRegion})
		if err != nil {
			return err
		}
	}
	if d.Det, err = a.pipelineMaster(cmd, &f.pipelineMasterFlags); err != nil {
		return err
	}
	res, err := d.Apply(cmd.Context(), plan)
	if err != nil {
		return pipelineExit(err)
	}
	verb := "created"
	if res.Applied.Replaced {
		verb = "replaced"
	}
	a.logger.Info("deployed", "inference_service", plan.Options.Name, "action", verb,
		"model", res.Info.Name, "version", res.Info.Version)
	return nil
}

// Exit statuses of the pipeline steps besides 0 and 1 (any other failure;
// for deploy: nothing was changed in the cluster, or the update itself
// failed and the object is as it was).
const (
	// exitExperimentFailed: pipeline train's experiment ended in a state
	// other than COMPLETED (as experiment create --follow).
	exitExperimentFailed = 2
	// exitNotReady: pipeline deploy --wait: the new generation was not
	// ready in time; the previous spec was put back (or, with
	// --keep-failed, the new one left) and KServe serves the last ready
	// revision.
	exitNotReady = 6
	// exitRollBackFailed: as exitNotReady, but putting the previous spec
	// back failed: the object names a version that is not serving.
	exitRollBackFailed = 7
)

// pipelineExit gives a step's error its exit status.
func pipelineExit(err error) error {
	switch {
	case errors.Is(err, pipeline.ErrRollBackFailed):
		return &exitError{code: exitRollBackFailed, err: err}
	case errors.Is(err, pipeline.ErrNotReady):
		return &exitError{code: exitNotReady, err: err}
	case errors.Is(err, pipeline.ErrExperimentFailed):
		return &exitError{code: exitExperimentFailed, err: err}
	}
	return err
}

// kubeConfig loads the kubeconfig file, or the in-cluster config of the
// worker's service account when path is empty.
func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("pipeline: deploy: in-cluster config (use --k8s-config-file "+
				"outside a cluster): %w", err)
		}
		return c, nil
	}
	c, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: deploy: --k8s-config-file %s: %w", path, err)
	}
	return c, nil
}
