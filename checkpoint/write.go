package checkpoint

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// Write writes model, spec and metadata into dir, filling Files,
// FormatVersion and Framework, Created when zero (now, UTC) and Threshold
// when zero (DefaultThreshold). dir must not exist or be empty; its parent
// is created when missing. The files are written into a temporary sibling
// directory, synced, and the directory is renamed to dir, so dir either
// does not exist or holds a whole checkpoint. On error nothing is left
// behind but what was at dir before.
func Write(dir string, meta Metadata, model *nn.Model, spec *dataset.Spec) error {
	if model == nil || spec == nil {
		return fmt.Errorf("checkpoint: write %s: model and spec are required", dir)
	}
	if meta.StepsCompleted < 0 {
		return fmt.Errorf("checkpoint: write %s: negative steps_completed %d",
			dir, meta.StepsCompleted)
	}
	existed, err := checkEmpty(dir)
	if err != nil {
		return err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	_, statErr := os.Stat(parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".partial-")
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	if err := fill(tmp, meta, model, spec); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := commit(tmp, dir, parent, existed); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// The parent is new: its own entry must reach the disk too.
		return syncDir(filepath.Dir(filepath.Clean(parent)))
	}
	return nil
}

// checkEmpty reports whether dir exists, failing when it holds anything.
func checkEmpty(dir string) (existed bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checkpoint: write %s: %w", dir, err)
	case len(entries) > 0:
		return true, fmt.Errorf("%w: %s", ErrNotEmpty, dir)
	}
	return true, nil
}

// fill writes the three files into the temporary directory tmp.
func fill(tmp string, meta Metadata, model *nn.Model, spec *dataset.Spec) error {
	modelSum, err := writeFile(filepath.Join(tmp, ModelFile), func(w io.Writer) error {
		_, err := model.WriteTo(w)
		return err
	})
	if err != nil {
		return err
	}
	specJSON, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: encode %s: %w", SpecFile, err)
	}
	specSum, err := writeBytes(filepath.Join(tmp, SpecFile), append(specJSON, '\n'))
	if err != nil {
		return err
	}
	meta.FormatVersion = FormatVersion
	meta.Framework = Framework
	if meta.Created.IsZero() {
		meta.Created = time.Now().UTC()
	}
	if meta.Threshold == 0 {
		meta.Threshold = DefaultThreshold
	}
	meta.Files = map[string]string{ModelFile: modelSum, SpecFile: specSum}
	metaJSON, err := sealMetadata(meta)
	if err != nil {
		return err
	}
	_, err = writeBytes(filepath.Join(tmp, MetadataFile), metaJSON)
	return err
}

// sealMetadata encodes meta with metadata_sha256 set to the sha256 of the
// encoding that holds zeros in its place.
func sealMetadata(meta Metadata) ([]byte, error) {
	meta.SelfSHA256 = zeroSum
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: encode %s: %w", MetadataFile, err)
	}
	b = append(b, '\n')
	at := selfSumAt(b)
	if at < 0 {
		return nil, fmt.Errorf("checkpoint: encode %s: no metadata_sha256", MetadataFile)
	}
	sum := sha256.Sum256(b)
	hex.Encode(b[at:at+len(zeroSum)], sum[:])
	return b, nil
}

// commit syncs tmp, moves it to dir and syncs the parent directory.
func commit(tmp, dir, parent string, existed bool) error {
	if err := syncDir(tmp); err != nil {
		return err
	}
	if existed {
		// os.Rename refuses an existing target directory; dir is empty.
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("checkpoint: write %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", dir, err)
	}
	return syncDir(parent)
}

// writeBytes writes b to path, synced, and returns its sha256.
func writeBytes(path string, b []byte) (string, error) {
	return writeFile(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeFile creates path, fills it with fn, syncs it and returns its sha256.
func writeFile(path string, fn func(io.Writer) error) (sum string, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("checkpoint: close %s: %w", path, cerr)
		}
	}()
	h := sha256.New()
	if err := fn(io.MultiWriter(f, h)); err != nil {
		return "", fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("checkpoint: sync %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", dir, err)
	}
	return nil
}
