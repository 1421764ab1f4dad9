package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/serve"
	"github.com/churn-pdk/churn/trial"
)

// kserveModelDir is where KServe's storage-initializer puts the model.
const kserveModelDir = "/mnt/models"

// serveOptions holds the flags of `churn serve`.
type serveOptions struct {
	modelDir        string
	modelName       string
	host            string
	port            int
	maxInFlight     int
	maxRows         int
	maxBodyBytes    int64
	shutdownTimeout time.Duration
	threshold       float64 // 0: the checkpoint's
	thresholdSet    bool    // --threshold was given
}

// AddFlags registers the options' flags on cmd; the flag names are KServe's.
func (o *serveOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.modelDir, "model", defaultModelDir(),
		"checkpoint directory to serve, or a run directory of `churn train` to serve its "+
			"best checkpoint (default: $STORAGE_URI when it is a path, else "+kserveModelDir+")")
	f.StringVar(&o.modelDir, "model_dir", defaultModelDir(), "same as --model (KServe's spelling)")
	f.StringVar(&o.modelName, "model_name", "",
		"name in URLs, /v1/models/NAME (default: the model directory's base name)")
	f.StringVar(&o.host, "host", "", "address to listen on (default: all interfaces)")
	f.IntVar(&o.port, "http_port", 0, "HTTP port (default: $PORT as Knative sets it, else 8080)")
	f.IntVar(&o.maxInFlight, "max_in_flight", serve.DefaultMaxInFlight,
		"inference requests served at once; more get 503 (negative: no limit)")
	f.Int64Var(&o.maxBodyBytes, "max_body_bytes", serve.DefaultMaxBodyBytes,
		"largest request body accepted; larger get 413")
	f.IntVar(&o.maxRows, "max_rows", serve.DefaultMaxRows,
		"most rows in one inference request; more get 413 (negative: no limit; 0: the default)")
	f.DurationVar(&o.shutdownTimeout, "shutdown_timeout", serve.DefaultShutdownTimeout,
		"on SIGTERM, how long to let in-flight requests finish")
	f.Float64Var(&o.threshold, "threshold", 0,
		"decision threshold in (0, 1), instead of the checkpoint's; "+
			"V2 metadata reports the one in use")
}

// defaultModelDir is $STORAGE_URI when KServe rewrote it to a local path,
// else KServe's model mount.
func defaultModelDir() string {
	if u := os.Getenv("STORAGE_URI"); strings.HasPrefix(u, "/") {
		return u
	}
	return kserveModelDir
}

// Validate checks the options and fills the port and name defaults.
func (o *serveOptions) Validate() error {
	if o.port == 0 {
		o.port = 8080
		if p := os.Getenv("PORT"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("serve: $PORT %q: want a port number", p)
			}
			o.port = n
		}
	}
	if o.port < 1 || o.port > 65535 {
		return fmt.Errorf("serve: --http_port %d: want 1 to 65535", o.port)
	}
	if o.modelDir == "" {
		return errors.New("serve: --model: empty")
	}
	if o.modelName == "" {
		o.modelName = filepath.Base(filepath.Clean(o.modelDir))
	}
	if strings.ContainsAny(o.modelName, "/:") {
		return fmt.Errorf("serve: --model_name %q: must not hold '/' or ':'", o.modelName)
	}
	if o.maxBodyBytes < 1 {
		return fmt.Errorf("serve: --max_body_bytes %d: want >= 1", o.maxBodyBytes)
	}
	if o.thresholdSet && !(o.threshold > 0 && o.threshold < 1) {
		return fmt.Errorf("serve: --threshold %v: want a value between 0 and 1, both excluded",
			o.threshold)
	}
	return nil
}

func (a *app) serveCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--model DIR] [--model_name NAME] [--http_port PORT]",
		Short: "Serve a checkpoint over KServe's V1 and V2 REST protocols",
		Long: "Serve a checkpoint directory (weights, feature spec, metadata) as a KServe\n" +
			"predictor: V1 /v1/models/NAME:predict and :explain, V2 /v2/models/NAME/infer,\n" +
			"health routes and Prometheus /metrics on one port. SIGTERM lets in-flight\n" +
			"requests finish before the process exits.\n\n" +
			"--model may also name a run directory of `churn train`: its run.json's best\n" +
			"checkpoint is served (a run without run.json did not finish: name one of its\n" +
			"checkpoints instead). --threshold overrides the checkpoint's decision\n" +
			"threshold.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.thresholdSet = cmd.Flags().Changed("threshold")
			if err := o.Validate(); err != nil {
				return err
			}
			return a.runServe(cmd, o)
		},
	}
	o.AddFlags(cmd)
	return cmd
}

// runServe loads the model, then serves until the command's context ends.
func (a *app) runServe(cmd *cobra.Command, o *serveOptions) error {
	dir, err := checkpointDir(o.modelDir)
	if err != nil {
		return err
	}
	m, err := loadModel(dir, o.threshold)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := serve.New(serve.Config{
		ModelName: o.modelName, Model: m, Version: version(), Logger: a.logger,
		Registry: reg, MaxBodyBytes: o.maxBodyBytes, MaxInFlight: o.maxInFlight,
		MaxRows:         o.maxRows,
		ShutdownTimeout: o.shutdownTimeout,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a.logger.Info("model loaded", "dir", dir, "model", o.modelName,
		"threshold", m.Threshold(), "inputs", m.Spec().Width())
	return s.Run(cmd.Context(), ln)
}

// loadModel reads checkpoint directory dir and builds the model to serve,
// with threshold as its decision threshold (0: the checkpoint's).
func loadModel(dir string, threshold float64) (*serve.Model, error) {
	ck, err := checkpoint.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("serve: load model: %w", err)
	}
	if threshold == 0 {
		threshold = ck.Metadata.Threshold
	}
	return serve.NewModel(ck.Spec, ck.Model, threshold)
}

// checkpointDir returns the checkpoint directory to serve for --model dir:
// dir itself, or when dir is a run directory of `churn train`, the best
// checkpoint its run.json names. A run directory without run.json is an
// error: the run did not finish and has no best checkpoint yet.
func checkpointDir(dir string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("serve: --model: %w", err)
	}
	if fileExists(filepath.Join(dir, checkpoint.MetadataFile)) {
		return dir, nil
	}
	if fileExists(filepath.Join(dir, trial.SummaryFile)) {
		return bestCheckpoint(dir)
	}
	if fileExists(filepath.Join(dir, trial.CheckpointsDir)) {
		return "", fmt.Errorf("serve: --model %s is a run directory without %s (the run did "+
			"not finish); serve one of its checkpoints, %s", dir, trial.SummaryFile,
			filepath.Join(dir, trial.CheckpointsDir, "ID"))
	}
	return dir, nil // not a run: checkpoint.Read says what is wrong
}

// bestCheckpoint returns the best checkpoint of run directory dir: under
// dir's checkpoints/ when it is there (the run may have been moved since it
// wrote best_dir), else best_dir as written.
func bestCheckpoint(dir string) (string, error) {
	s, err := trial.ReadSummary(dir)
	if err != nil {
		return "", fmt.Errorf("serve: --model %s: %w", dir, err)
	}
	if s.Best.ID != "" && filepath.IsLocal(s.Best.ID) {
		in := filepath.Join(dir, trial.CheckpointsDir, s.Best.ID)
		if fileExists(filepath.Join(in, checkpoint.MetadataFile)) {
			return in, nil
		}
	}
	if s.BestDir != "" && fileExists(filepath.Join(s.BestDir, checkpoint.MetadataFile)) {
		return s.BestDir, nil
	}
	return "", fmt.Errorf("serve: --model %s is a run directory whose best checkpoint "+
		"(best_dir %q in %s) is not there", dir, s.BestDir, trial.SummaryFile)
}

// version is the module version the binary was built from, or "dev".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "dev"
	}
	return bi.Main.Version
}
