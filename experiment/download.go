package experiment

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxCheckpointBytes bounds what a download may write.
const maxCheckpointBytes = 8 << 30

// DownloadCheckpoint fetches checkpoint uuid through the master's root
// route GET /checkpoints/{uuid} as a tar.gz and unpacks it into dir, which
// must not exist yet; the files appear there only when all arrived. It
// needs a user token: the master refuses allocation tokens on this route.
func (c *Client) DownloadCheckpoint(ctx context.Context, uuid, dir string) error {
	if !c.Credentials().IsUser() {
		return fmt.Errorf("experiment: download checkpoint %s: needs a user token "+
			"(log in or set DET_USER_TOKEN)", uuid)
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("experiment: download checkpoint %s: %s already exists", uuid, dir)
	}
	var resp *http.Response
	err := c.do(ctx, request{method: http.MethodGet, path: "/checkpoints/" + url.PathEscape(uuid),
		header: http.Header{"Accept": {"application/gzip"}}, raw: &resp, retry: true,
		timeout: 30 * time.Minute})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".part-")
	if err != nil {
		return fmt.Errorf("experiment: download checkpoint %s: %w", uuid, err)
	}
	if err := untar(resp.Body, resp.Header.Get("Content-Type"), tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("experiment: download checkpoint %s: %w", uuid, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("experiment: download checkpoint %s: %w", uuid, err)
	}
	return nil
}

// untar unpacks a tar (gzipped when contentType says so) into dir,
// refusing entries that would land outside it.
func untar(r io.Reader, contentType, dir string) error {
	if strings.HasPrefix(contentType, "application/gzip") ||
		strings.HasPrefix(contentType, "application/x-gzip") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("tar: %w", err)
		}
		n, err := extractEntry(tr, h, dir, maxCheckpointBytes-total)
		if err != nil {
			return err
		}
		total += n
	}
}

// extractEntry writes one tar entry below dir and returns its size.
func extractEntry(tr *tar.Reader, h *tar.Header, dir string, budget int64) (int64, error) {
	name := path.Clean(strings.TrimPrefix(h.Name, "./"))
	if name == "." || strings.HasPrefix(name, "../") || name == ".." || path.IsAbs(name) {
		return 0, fmt.Errorf("tar entry %q: outside the checkpoint", h.Name)
	}
	target := filepath.Join(dir, filepath.FromSlash(name))
	switch h.Typeflag {
	case tar.TypeDir:
		return 0, os.MkdirAll(target, 0o755)
	case tar.TypeReg:
	default:
		return 0, fmt.Errorf("tar entry %q: unsupported type %q", h.Name, h.Typeflag)
	}
	if h.Size > budget {
		return 0, fmt.Errorf("tar entry %q: checkpoint larger than %d bytes", h.Name,
			int64(maxCheckpointBytes))
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, io.LimitReader(tr, h.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != h.Size {
		err = fmt.Errorf("tar entry %q: %d of %d bytes", h.Name, n, h.Size)
	}
	return n, err
}
