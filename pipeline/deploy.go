package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/pipeline/pachyderm"
)

// DefaultPredictorImage is the predictor image when --image is not given.
const DefaultPredictorImage = "ghcr.io/churn-pdk/churn-predictor:latest"

// DeployOptions configure the deploy step.
type DeployOptions struct {
	// Name is the InferenceService's name, also the served model name.
	Name string
	// Namespace is the InferenceService's namespace; "" means
	// $KSERVE_NAMESPACE, then "default".
	Namespace string
	// ServiceAccount is the predictor's service account, whose secret
	// holds the storage credentials; "" means the namespace default.
	ServiceAccount string
	// Tolerations and Resources go to the predictor pod.
	Tolerations []corev1.Toleration
	Resources   corev1.ResourceRequirements
	// Image is the predictor image; "" means DefaultPredictorImage.
	Image string
	// Input is the pipeline's pfs input name; "" means "data".
	Input string
	// InputDir is where the input is mounted; "" means /pfs/<Input>.
	InputDir string
	// InputBranch is the training output branch; "" means master.
	InputBranch string
	// Store is where the model files go (pfs, s3://..., gs://...).
	Store StoreLocation
	// Wait waits for the service to be ready and prints its URL.
	Wait bool
	// WaitTimeout bounds the wait; 0 means 10 minutes.
	WaitTimeout time.Duration
	// PollInterval is the readiness polling interval; 0 means 5s.
	PollInterval time.Duration
	// KeepFailed leaves a replaced service's new spec in place when its
	// generation is not ready in time, instead of putting the previous
	// spec back.
	KeepFailed bool
	// KeepVersions, above 0 and with a bucket store and Wait, deletes the
	// model's version folders in the store beyond the KeepVersions most
	// recently written, once the new version is ready; the version served
	// and the one it replaced are always kept. Only this service's
	// versions are known: services sharing a store prefix must not prune.
	// 0 keeps every version.
	KeepVersions int
}

func (o *DeployOptions) defaults(getenv func(string) string) {
	if o.Namespace == "" {
		o.Namespace = getenv(EnvKServeNamespace)
	}
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Image == "" {
		o.Image = DefaultPredictorImage
	}
	if o.Input == "" {
		o.Input = "data"
	}
	if o.InputDir == "" {
		o.InputDir = filepath.Join("/pfs", o.Input)
	}
	if o.Store.Scheme == "" {
		o.Store.Scheme = StorePFS
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 10 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
}

// Validate checks the options before anything is contacted.
func (o DeployOptions) Validate() error {
	if o.Name == "" {
		return fmt.Errorf("pipeline: deploy: --deployment-name is required")
	}
	if errs := validation.IsDNS1035Label(o.Name); len(errs) > 0 {
		return fmt.Errorf("pipeline: deploy: --deployment-name %q: %s", o.Name, errs[0])
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("pipeline: deploy: --namespace %q: %s", o.Namespace, errs[0])
		}
	}
	if o.ServiceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(errs) > 0 {
			return fmt.Errorf("pipeline: deploy: --service-account-name %q: %s",
				o.ServiceAccount, errs[0])
		}
	}
	if o.KeepVersions < 0 {
		return fmt.Errorf("pipeline: deploy: --keep-versions %d: want 0 (keep all) or more",
			o.KeepVersions)
	}
	if o.KeepVersions > 0 && (!o.Wait || o.Store.Scheme == StorePFS || o.Store.Scheme == "") {
		return fmt.Errorf("pipeline: deploy: --keep-versions needs --wait and a bucket " +
			"--model-store: old versions are deleted only once the new one is ready, and " +
			"the pfs store keeps versions in Pachyderm's commits")
	}
	return CheckResources(o.Resources)
}

// Deployer runs the deploy step.
type Deployer struct {
	// Det is the Determined master. Required.
	Det Determined
	// Services returns the InferenceService client of a namespace.
	// Required; it is called only after the inputs were checked.
	Services func(namespace string) InferenceServices
	// Store uploads to a bucket; required for s3 and gs locations.
	Store ObjectStore
	// Getenv reads the worker environment; nil means os.Getenv.
	Getenv func(string) string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Stdout receives the service URL after a wait; nil discards it.
	Stdout io.Writer
}

// DeployResult says what the deploy step did.
type DeployResult struct {
	// Info is the model-info.yaml it deployed.
	Info *ModelInfo
	// StorageURI is where KServe fetches the model files.
	StorageURI string
	// Applied is the create or replace.
	Applied *Applied
	// URL is the ready service's URL (only after a wait).
	URL string
	// Pruned lists the old versions deleted from the store (KeepVersions).
	Pruned []string
}

// DeployPlan is a checked deploy: the options with defaults filled, the
// model info read from the input and the worker environment.
type DeployPlan struct {
	Options DeployOptions
	Info    *ModelInfo
	Env     WorkerEnv
}

// PlanDeploy checks the options, reads model-info.yaml from the input and,
// for the pfs store, the worker environment. It contacts nothing, so bad
// input fails before any master or cluster call. getenv nil means
// os.Getenv.
func PlanDeploy(opts DeployOptions, getenv func(string) string) (*DeployPlan, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	opts.defaults(getenv)
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	info, err := ReadModelInfo(filepath.Join(opts.InputDir, ModelInfoFile))
	if err != nil {
		return nil, err
	}
	p := &DeployPlan{Options: opts, Info: info}
	if opts.Store.Scheme == StorePFS {
		if p.Env, err = ReadWorkerEnv(getenv, opts.Input); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Deploy plans (PlanDeploy) and applies the deploy.
func (d *Deployer) Deploy(ctx context.Context, opts DeployOptions) (*DeployResult, error) {
	p, err := PlanDeploy(opts, d.Getenv)
	if err != nil {
		return nil, err
	}
	return d.Apply(ctx, p)
}

// Apply fetches the planned version from Determined, places its files
// where KServe reads them and only then creates or replaces the
// InferenceService; with Wait it waits for the new generation to be ready
// and prints its URL.
//
// A failure before the update leaves the service as it was: model files
// go to a location named by the version and existing objects are never
// replaced. When the new generation is not ready in time, the spec and
// annotations of the previous service are put back (unless KeepFailed),
// so that the object names what KServe still serves: KServe keeps routing
// to the last ready revision while a newer one is not ready.
func (d *Deployer) Apply(ctx context.Context, p *DeployPlan) (*DeployResult, error) {
	opts, info := p.Options, p.Info
	if opts.Store.Scheme != StorePFS && d.Store == nil {
		return nil, fmt.Errorf("pipeline: deploy: --model-store %s needs a bucket client",
			opts.Store.URI(""))
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("deploy step", "deployment", opts.Name, "namespace", opts.Namespace,
		"model", info.Name, "version", info.Version)
	res := &DeployResult{Info: info}
	var err error
	if res.StorageURI, err = d.placeModel(ctx, opts, p.Env, info, log); err != nil {
		return nil, err
	}
	svc := d.Services(opts.Namespace)
	prev, err := currentService(ctx, svc, opts)
	if err != nil {
		return nil, err
	}
	want := InferenceService(ServiceSpec{
		Name: opts.Name, Namespace: opts.Namespace, ModelName: opts.Name, Image: opts.Image,
		StorageURI: res.StorageURI, PachID: info.Version, ServiceAccount: opts.ServiceAccount,
		Tolerations: opts.Tolerations, Resources: opts.Resources,
	})
	if res.Applied, err = ApplyInferenceService(ctx, svc, want); err != nil {
		return nil, err
	}
	log.Info("InferenceService applied", "name", opts.Name, "replaced", res.Applied.Replaced,
		"storage_uri", res.StorageURI, "generation", res.Applied.Object.Generation)
	if !opts.Wait {
		return res, nil
	}
	ready, err := WaitReady(ctx, svc, opts.Name, res.Applied.Object.Generation,
		opts.PollInterval, opts.WaitTimeout, log)
	if err != nil {
		return res, d.notReady(ctx, svc, opts, prev, res, err, log)
	}
	res.URL = ServiceURL(ready)
	log.Info("InferenceService ready", "name", opts.Name, "url", res.URL)
	if d.Stdout != nil {
		fmt.Fprintln(d.Stdout, res.URL)
	}
	d.prune(ctx, opts, info, res, log, prev, ready)
	return res, nil
}

// prune deletes old version folders after a ready deploy, as
// KeepVersions asks. It keeps the version deployed, and every version the
// service it replaced and the ready service name (a deploy of the same
// service that landed meanwhile is what is served now), by annotation or
// by storage URI. Its failures are logged, not returned: the service is
// up, and a folder left behind only costs storage.
func (d *Deployer) prune(ctx context.Context, opts DeployOptions, info *ModelInfo,
	res *DeployResult, log *slog.Logger, services ...*v1beta1.InferenceService) {
	if opts.KeepVersions <= 0 || opts.Store.Scheme == StorePFS {
		return
	}
	if !isSegment(info.Version) {
		log.Warn("model versions not pruned: the version is not one path segment",
			"version", info.Version)
		return
	}
	protect := []string{info.Version}
	for _, s := range services {
		protect = append(protect, namedVersions(s, opts.Store, info.Name)...)
	}
	var err error
	res.Pruned, err = pruneVersions(ctx, d.Store, opts.Store, info.Name, opts.KeepVersions,
		protect, log)
	if err != nil {
		log.Warn("model versions not all pruned", "error", err)
	}
}

// ErrRollBackFailed means a deploy whose new generation was not ready
// could not put the previous spec back: the service's spec and pach_id
// name a version that KServe is not serving.
var ErrRollBackFailed = errors.New("roll back failed")

// currentService reads the service the deploy replaces (nil when there is
// none), before anything is changed.
func currentService(ctx context.Context, svc InferenceServices, opts DeployOptions) (
	*v1beta1.InferenceService, error) {
	cur, err := svc.Get(ctx, opts.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: deploy: read InferenceService %s/%s: %w",
			opts.Namespace, opts.Name, err)
	}
	return cur, nil
}

// notReady handles a new generation that did not become ready: it puts
// the previous spec back (unless KeepFailed or there was none) and
// returns an error saying what is served now.
func (d *Deployer) notReady(ctx context.Context, svc InferenceServices, opts DeployOptions,
	prev *v1beta1.InferenceService, res *DeployResult, waitErr error, log *slog.Logger) error {
	gen := res.Applied.Object.Generation
	if prev == nil {
		return fmt.Errorf("pipeline: deploy: %w; it was created by this deploy and is left "+
			"in place (nothing served before)", waitErr)
	}
	was := prev.Annotations[AnnotationPachID]
	if opts.KeepFailed {
		return fmt.Errorf("pipeline: deploy: %w; --keep-failed: the spec of version %q stays, "+
			"KServe keeps serving its last ready revision (version %q)", waitErr,
			res.Info.Version, was)
	}
	// A fresh context: the wait may have ended because ctx did.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	back, err := RollBack(rctx, svc, prev, gen)
	if err != nil {
		return fmt.Errorf("pipeline: deploy: %w; %w: to version %q: %v",
			waitErr, ErrRollBackFailed, was, err)
	}
	log.Warn("InferenceService rolled back", "name", opts.Name, "failed_version",
		res.Info.Version, "failed_generation", gen, "version", was,
		"generation", back.Generation)
	return fmt.Errorf("pipeline: deploy: %w; rolled back to version %q (generation %d); "+
		"KServe serves that version's last ready revision", waitErr, was, back.Generation)
}

// placeModel fetches the version from Determined, checks it loads, and
// makes it readable to KServe; it returns the storage URI.
func (d *Deployer) placeModel(ctx context.Context, opts DeployOptions, env WorkerEnv,
	info *ModelInfo, log *slog.Logger) (string, error) {
	v, err := d.Det.ModelVersion(ctx, info.Name, info.Number)
	if err != nil {
		return "", fmt.Errorf("pipeline: deploy: model %q version %d: %w", info.Name, info.Number, err)
	}
	if v.Name != info.Version {
		return "", fmt.Errorf("pipeline: deploy: model %q version %d is named %q, "+
			"but %s names %q", info.Name, v.Version, v.Name, ModelInfoFile, info.Version)
	}
	tmp, err := os.MkdirTemp("", "churn-deploy-")
	if err != nil {
		return "", fmt.Errorf("pipeline: deploy: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, CheckpointDir)
	if err := d.Det.DownloadCheckpoint(ctx, v.Checkpoint.UUID, dir); err != nil {
		return "", fmt.Errorf("pipeline: deploy: download checkpoint %s: %w", v.Checkpoint.UUID, err)
	}
	if _, err := checkpoint.Read(dir); err != nil {
		return "", fmt.Errorf("pipeline: deploy: checkpoint %s of %s version %d: %w",
			v.Checkpoint.UUID, info.Name, v.Version, err)
	}
	if opts.Store.Scheme != StorePFS {
		return publishDir(ctx, d.Store, opts.Store, path.Join(info.Name, info.Version), dir, log)
	}
	return pfsStorageURI(opts, env, info, dir)
}

// pfsStorageURI checks that the training output commit (the deploy
// step's input, already finished) holds the registered checkpoint and
// returns its S3 gateway URI. The running job's own output commit is not
// used: it holds nothing until the job ends.
func pfsStorageURI(opts DeployOptions, env WorkerEnv, info *ModelInfo,
	fetched string) (string, error) {
	in := filepath.Join(opts.InputDir, CheckpointDir)
	diff, err := sameFiles(fetched, in)
	if err != nil {
		return "", fmt.Errorf("pipeline: deploy: compare %s with the registry: %w", in, err)
	}
	if diff != "" {
		return "", fmt.Errorf("pipeline: deploy: %s is not %s version %q: %s",
			in, info.Name, info.Version, diff)
	}
	c := pachyderm.Commit{ID: env.InputCommit, Branch: opts.InputBranch, Repo: info.Pipeline,
		Project: env.Project}
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("pipeline: deploy: input commit: %w", err)
	}
	return "s3://" + c.Bucket() + "/" + CheckpointDir, nil
}
