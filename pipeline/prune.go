package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/minio/minio-go/v7"
)

// isSegment reports whether name is one path segment, as a version
// folder's name must be.
func isSegment(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.Contains(name, "/")
}

// namedVersions returns the versions a service names: its pach_id
// annotation, and every version folder of model under loc that its spec
// points into (its storage URI, wherever the spec holds it).
func namedVersions(s *v1beta1.InferenceService, loc StoreLocation, model string) []string {
	if s == nil {
		return nil
	}
	out := []string{s.Annotations[AnnotationPachID]}
	spec, err := json.Marshal(s.Spec)
	if err != nil {
		return out
	}
	base := loc.URI(model) + "/"
	for rest := string(spec); ; {
		i := strings.Index(rest, base)
		if i < 0 {
			return out
		}
		rest = rest[i+len(base):]
		end := strings.IndexAny(rest, `/"`)
		if end < 0 {
			end = len(rest)
		}
		out = append(out, rest[:end])
	}
}

// versionDir is one model version's folder in a bucket store.
type versionDir struct {
	name   string
	newest time.Time // the newest object's last modification
	keys   []string
}

// pruneVersions deletes the version folders of model under loc beyond the
// keep most recently written, never one named in protect (the version now
// served and the one it replaced, the roll-back target). It returns the
// versions it deleted. A folder is deleted object by object; one that
// fails to go is reported and the rest are still tried.
func pruneVersions(ctx context.Context, s ObjectStore, loc StoreLocation, model string,
	keep int, protect []string, log *slog.Logger) ([]string, error) {
	dirs, err := listVersions(ctx, s, loc, model)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dirs, func(a, b versionDir) int {
		if c := b.newest.Compare(a.newest); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var removed []string
	var firstErr error
	for i, d := range dirs {
		if i < keep || slices.Contains(protect, d.name) {
			continue
		}
		if err := removeKeys(ctx, s, loc.Bucket, d.keys); err != nil {
			log.Warn("model version not pruned", "version", d.name, "error", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		log.Info("model version pruned", "uri", loc.URI(path.Join(model, d.name)),
			"objects", len(d.keys))
		removed = append(removed, d.name)
	}
	return removed, firstErr
}

// listVersions lists the version folders under <prefix>/<model>/.
func listVersions(ctx context.Context, s ObjectStore, loc StoreLocation, model string) (
	[]versionDir, error) {
	base := path.Join(loc.Prefix, model) + "/"
	byName := map[string]*versionDir{}
	var dirs []*versionDir
	for obj := range s.ListObjects(ctx, loc.Bucket, minio.ListObjectsOptions{
		Prefix: base, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("pipeline: deploy: list %s: %w", loc.URI(model), obj.Err)
		}
		name, _, ok := strings.Cut(strings.TrimPrefix(obj.Key, base), "/")
		if !ok || name == "" {
			continue // not inside a version folder
		}
		d := byName[name]
		if d == nil {
			d = &versionDir{name: name}
			byName[name] = d
			dirs = append(dirs, d)
		}
		d.keys = append(d.keys, obj.Key)
		if obj.LastModified.After(d.newest) {
			d.newest = obj.LastModified
		}
	}
	out := make([]versionDir, len(dirs))
	for i, d := range dirs {
		out[i] = *d
	}
	return out, nil
}

// removeKeys deletes the objects of keys.
func removeKeys(ctx context.Context, s ObjectStore, bucket string, keys []string) error {
	for _, k := range keys {
		if err := s.RemoveObject(ctx, bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("pipeline: deploy: remove %s: %w", k, err)
		}
	}
	return nil
}
