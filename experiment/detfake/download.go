package detfake

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// downloadCheckpoint serves GET /checkpoints/{uuid} like the master's
// echo route: a tar, tar.gz or zip of the files, by Accept.
func (m *Master) downloadCheckpoint(c *call) {
	id := c.params["uuid"]
	m.mu.Lock()
	cp := m.checkpoints[id]
	var dir string
	ok := false
	if cp != nil {
		dir, ok = storageDir(m.experiments[cp.expID].config, id)
	}
	m.mu.Unlock()
	if cp == nil {
		writeMessage(c.w, http.StatusNotFound, fmt.Sprintf("checkpoint '%s' not found", id))
		return
	}
	if !ok {
		writeMessage(c.w, http.StatusNotImplemented, "fake master: storage not readable")
		return
	}
	files, err := listFiles(dir)
	if err != nil {
		writeMessage(c.w, http.StatusInternalServerError, err.Error())
		return
	}
	accept := c.r.Header.Get("Accept")
	switch accept {
	case "application/gzip":
		c.w.Header().Set("Content-Type", "application/gzip")
		zw := gzip.NewWriter(c.w)
		writeTar(zw, dir, files)
		_ = zw.Close()
	case "", "*/*", "application/*", "application/x-tar":
		c.w.Header().Set("Content-Type", "application/x-tar")
		pr, pw := io.Pipe()
		go func() { writeTar(pw, dir, files); _ = pw.Close() }()
		b, _ := io.ReadAll(pr)
		c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = c.w.Write(b)
	case "application/zip":
		c.w.Header().Set("Content-Type", "application/zip")
		zw := zip.NewWriter(c.w)
		for _, f := range files {
			w, _ := zw.Create(f)
			copyFile(w, filepath.Join(dir, f))
		}
		_ = zw.Close()
	default:
		writeMessage(c.w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported media type to download a checkpoint: '%s'", accept))
	}
}

// listFiles returns the regular files below dir, slash-separated, sorted.
func listFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out, err
}

// writeTar writes the files as the master does: relative paths, no
// directory entries, mode 0666, uid/gid 0, mtime 1970.
func writeTar(w io.Writer, dir string, files []string) {
	tw := tar.NewWriter(w)
	for _, f := range files {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		h := &tar.Header{Name: f, Mode: 0o666, Size: info.Size(), ModTime: time.Unix(0, 0),
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if strings.Contains(f, "..") {
			continue
		}
		_ = tw.WriteHeader(h)
		copyFile(tw, filepath.Join(dir, f))
	}
	_ = tw.Close()
}

func copyFile(w io.Writer, p string) {
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(w, f)
}
