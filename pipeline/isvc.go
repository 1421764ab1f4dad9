package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
)

// InferenceServices is what the deploy step needs from the KServe
// clientset for one namespace; the typed client
// ServingV1beta1().InferenceServices(ns) implements it.
type InferenceServices interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*v1beta1.InferenceService, error)
	Create(ctx context.Context, isvc *v1beta1.InferenceService, opts metav1.CreateOptions) (
		*v1beta1.InferenceService, error)
	Update(ctx context.Context, isvc *v1beta1.InferenceService, opts metav1.UpdateOptions) (
		*v1beta1.InferenceService, error)
}

// Annotations the deploy step sets on the InferenceService.
const (
	// AnnotationPachID records the deployed model version (the training
	// job's ID), as the original tutorial did.
	AnnotationPachID = "pach_id"
	// AnnotationIstioInject keeps Istio's sidecar out of the predictor.
	AnnotationIstioInject = "sidecar.istio.io/inject"
)

// Predictor container settings.
const (
	// PredictorContainer is the name KServe gives a custom predictor.
	PredictorContainer = "kserve-container"
	// PredictorPort is the predictor's HTTP port (KServe's default).
	PredictorPort = 8080
	// ModelMount is where the storage-initializer puts the model files.
	ModelMount = "/mnt/models"
)

// ServiceSpec describes the InferenceService the deploy step applies.
type ServiceSpec struct {
	// Name and Namespace name the InferenceService.
	Name      string
	Namespace string
	// ModelName is the name the predictor serves (/v1/models/<name>).
	ModelName string
	// Image is the predictor image, whose entrypoint is "churn serve"
	// (docker/predictor.Dockerfile); the container passes only flags.
	Image string
	// StorageURI is where the storage-initializer fetches the model files.
	StorageURI string
	// PachID is the model version, recorded as the pach_id annotation.
	PachID string
	// ServiceAccount carries the storage credentials ("" = namespace default).
	ServiceAccount string
	// Tolerations and Resources go to the predictor pod.
	Tolerations []corev1.Toleration
	Resources   corev1.ResourceRequirements
}

// InferenceService builds the object for s: one custom predictor container
// running "churn serve" (the image's entrypoint) on the files KServe
// downloads from StorageURI into /mnt/models.
func InferenceService(s ServiceSpec) *v1beta1.InferenceService {
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromInt32(PredictorPort),
		}}}
	}
	c := corev1.Container{
		Name:  PredictorContainer,
		Image: s.Image,
		Args: []string{"--model=" + ModelMount, "--model_name=" + s.ModelName,
			fmt.Sprintf("--http_port=%d", PredictorPort)},
		Env: []corev1.EnvVar{
			{Name: "STORAGE_URI", Value: s.StorageURI},
			{Name: "PROTOCOL", Value: "v1"},
		},
		Ports: []corev1.ContainerPort{
			{ContainerPort: PredictorPort, Protocol: corev1.ProtocolTCP},
		},
		Resources:      s.Resources,
		ReadinessProbe: probe("/v1/models/" + s.ModelName),
		LivenessProbe:  probe("/"),
	}
	return &v1beta1.InferenceService{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace,
			Annotations: map[string]string{AnnotationIstioInject: "false", AnnotationPachID: s.PachID},
		},
		Spec: v1beta1.InferenceServiceSpec{Predictor: v1beta1.PredictorSpec{
			PodSpec: v1beta1.PodSpec{
				Containers:         []corev1.Container{c},
				ServiceAccountName: s.ServiceAccount,
				Tolerations:        s.Tolerations,
			},
		}},
	}
}

// Applied says what ApplyInferenceService did.
type Applied struct {
	// Object is the stored object the API server returned.
	Object *v1beta1.InferenceService
	// Replaced is true when an existing service was updated.
	Replaced bool
}

// ApplyInferenceService creates want, or replaces the spec and our
// annotations of the existing service, keeping everything else it has
// (labels, other annotations, finalizers). Conflicts are retried on a
// fresh read.
func ApplyInferenceService(ctx context.Context, c InferenceServices,
	want *v1beta1.InferenceService) (*Applied, error) {
	var out *Applied
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			created, err := c.Create(ctx, want.DeepCopy(), metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Lost a race with another creator: replace on the next try.
				return apierrors.NewConflict(v1beta1.Resource("inferenceservices"), want.Name, err)
			}
			out = &Applied{Object: created}
			return err
		}
		if err != nil {
			return err
		}
		next := cur.DeepCopy()
		next.Spec = *want.Spec.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		maps.Copy(next.Annotations, want.Annotations)
		updated, err := c.Update(ctx, next, metav1.UpdateOptions{})
		out = &Applied{Object: updated, Replaced: true}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: apply InferenceService %s/%s: %w",
			want.Namespace, want.Name, err)
	}
	return out, nil
}

// RollBack puts prev's spec and the annotations the deploy step manages
// back on the service, provided it is still at generation gen (the one
// the failed deploy applied): a newer change by someone else is left
// alone. Conflicts are retried on a fresh read.
func RollBack(ctx context.Context, c InferenceServices, prev *v1beta1.InferenceService,
	gen int64) (*v1beta1.InferenceService, error) {
	var out *v1beta1.InferenceService
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.Get(ctx, prev.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.Generation != gen {
			return fmt.Errorf("it is at generation %d, not %d: changed since, left alone",
				cur.Generation, gen)
		}
		next := cur.DeepCopy()
		next.Spec = *prev.Spec.DeepCopy()
		if next.Annotations == nil {
			next.Annotations = map[string]string{}
		}
		for _, k := range []string{AnnotationPachID, AnnotationIstioInject} {
			if v, ok := prev.Annotations[k]; ok {
				next.Annotations[k] = v
			} else {
				delete(next.Annotations, k)
			}
		}
		out, err = c.Update(ctx, next, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: roll back InferenceService %s/%s: %w",
			prev.Namespace, prev.Name, err)
	}
	return out, nil
}

// ErrNotReady means an InferenceService did not become ready in time.
var ErrNotReady = errors.New("pipeline: InferenceService not ready")

// WaitReady polls the service until it is Ready for a generation at least
// gen (so that the previous revision's readiness does not count) and
// returns it. Polls every interval until timeout.
func WaitReady(ctx context.Context, c InferenceServices, name string, gen int64,
	interval, timeout time.Duration, log *slog.Logger) (*v1beta1.InferenceService, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last *v1beta1.InferenceService
	for {
		cur, err := c.Get(ctx, name, metav1.GetOptions{})
		if err != nil && ctx.Err() == nil {
			if permanent(err) {
				return nil, fmt.Errorf("pipeline: wait for InferenceService %s: %w", name, err)
			}
			// The API server or the client's rate limit: poll again.
			log.Info("InferenceService not read", "name", name, "error", err.Error())
		}
		if err == nil {
			last = cur
			want := max(gen, cur.Generation)
			if cur.Status.ObservedGeneration >= want && cur.Status.IsReady() {
				return cur, nil
			}
			log.Info("InferenceService not ready", "name", name, "generation", want,
				"observed_generation", cur.Status.ObservedGeneration, "reason", notReadyReason(cur))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s after %s: %s", ErrNotReady, name, timeout,
				notReadyReason(last))
		case <-tick.C:
		}
	}
}

// permanent reports whether a read error will not go away by polling:
// the service is gone, or the step may not read it.
func permanent(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) ||
		apierrors.IsUnauthorized(err) || apierrors.IsBadRequest(err)
}

// notReadyReason describes why a service is not ready.
func notReadyReason(s *v1beta1.InferenceService) string {
	if s == nil {
		return "never read"
	}
	if s.Status.ObservedGeneration < s.Generation {
		return fmt.Sprintf("generation %d not yet observed (at %d)",
			s.Generation, s.Status.ObservedGeneration)
	}
	c := s.Status.GetCondition("Ready")
	if c == nil {
		return "no Ready condition"
	}
	return fmt.Sprintf("Ready=%s %s %s", c.Status, c.Reason, c.Message)
}

// ServiceURL is the URL a ready service answers on: the external one when
// there is one, else the cluster-internal address.
func ServiceURL(s *v1beta1.InferenceService) string {
	if s.Status.URL != nil {
		return s.Status.URL.String()
	}
	if s.Status.Address != nil && s.Status.Address.URL != nil {
		return s.Status.Address.URL.String()
	}
	return ""
}
