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

	"github.com/churn-pdk/churn/serve"
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
	maxBodyBytes    int64
	shutdownTimeout time.Duration
}

// AddFlags registers the options' flags on cmd; the flag names are KServe's.
func (o *serveOptions) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.modelDir, "model", defaultModelDir(),
		"checkpoint directory to serve (default: $STORAGE_URI when it is a path, else "+
			kserveModelDir+")")
	f.StringVar(&o.modelDir, "model_dir", defaultModelDir(), "same as --model (KServe's spelling)")
	f.StringVar(&o.modelName, "model_name", "",
		"name in URLs, /v1/models/NAME (default: the model directory's base name)")
	f.StringVar(&o.host, "host", "", "address to listen on (default: all interfaces)")
	f.IntVar(&o.port, "http_port", 0, "HTTP port (default: $PORT as Knative sets it, else 8080)")
	f.IntVar(&o.maxInFlight, "max_in_flight", serve.DefaultMaxInFlight,
		"inference requests served at once; more get 503 (negative: no limit)")
	f.Int64Var(&o.maxBodyBytes, "max_body_bytes", serve.DefaultMaxBodyBytes,
		"largest request body accepted; larger get 413")
	f.DurationVar(&o.shutdownTimeout, "shutdown_timeout", serve.DefaultShutdownTimeout,
		"on SIGTERM, how long to let in-flight requests finish")
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
			"requests finish before the process exits.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	m, err := serve.Load(o.modelDir)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s, err := serve.New(serve.Config{
		ModelName: o.modelName, Model: m, Version: version(), Logger: a.logger,
		Registry: reg, MaxBodyBytes: o.maxBodyBytes, MaxInFlight: o.maxInFlight,
		ShutdownTimeout: o.shutdownTimeout,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.host, strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a.logger.Info("model loaded", "dir", o.modelDir, "model", o.modelName,
		"threshold", m.Threshold(), "inputs", m.Spec().Width())
	return s.Run(cmd.Context(), ln)
}

// version is the module version the binary was built from, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
