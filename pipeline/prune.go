package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

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
