package pipeline

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ParseTolerations reads "key=value,key=value" into NoSchedule tolerations
// with operator Equal, as the original deploy script did. An empty string
// gives none.
func ParseTolerations(s string) ([]corev1.Toleration, error) {
	var out []corev1.Toleration
	for i, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("pipeline: --tolerations %q: entry %d %q: want key=value",
				s, i+1, kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("pipeline: --tolerations %q: key %q: %s", s, k, errs[0])
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("pipeline: --tolerations %q: value %q: %s", s, v, errs[0])
		}
		out = append(out, corev1.Toleration{
			Key: k, Operator: corev1.TolerationOpEqual, Value: v,
			Effect: corev1.TaintEffectNoSchedule,
		})
	}
	return out, nil
}

// ParseResources reads "cpu=2,memory=4Gi" into a resource list; flag
// names the flag in errors. An empty string gives nil.
func ParseResources(flag, s string) (corev1.ResourceList, error) {
	var out corev1.ResourceList
	for i, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("pipeline: %s %q: entry %d %q: want name=quantity",
				flag, s, i+1, kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("pipeline: %s %q: resource %q: %s", flag, s, k, errs[0])
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %s %q: %s=%q: not a quantity (e.g. 2, 500m, 4Gi)",
				flag, s, k, v)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("pipeline: %s %q: %s=%q: negative", flag, s, k, v)
		}
		if out == nil {
			out = corev1.ResourceList{}
		}
		if _, dup := out[corev1.ResourceName(k)]; dup {
			return nil, fmt.Errorf("pipeline: %s %q: %s given twice", flag, s, k)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

// CheckResources checks that no request is above its limit.
func CheckResources(r corev1.ResourceRequirements) error {
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			return fmt.Errorf("pipeline: --resource-requests %s=%s is above --resource-limits %s=%s",
				name, req.String(), name, lim.String())
		}
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks around
// entries; "" gives nothing.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}
