package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxModelDefinitionBytes is the SDK's cap on a model definition's
// content (the master accepts messages up to 96 MiB).
const MaxModelDefinitionBytes = 95 << 20

// unix st_mode file type bits.
const (
	modeRegular = 0o100000
	modeDir     = 0o040000
)

// SizeError says a model definition is too big and names its biggest files.
type SizeError struct {
	Dir     string
	Total   int64
	Limit   int64
	Biggest []File
}

// Error implements error.
func (e *SizeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "experiment: model definition %s is %d bytes, over the limit of %d; biggest:",
		e.Dir, e.Total, e.Limit)
	for _, f := range e.Biggest {
		fmt.Fprintf(&b, " %s (%d)", f.Path, len(f.Content))
	}
	b.WriteString("; list what is not needed in .detignore")
	return b.String()
}

// PackModelDefinition turns directory dir into the File entries the
// master expects: each sub-directory before its files, paths relative to
// dir, st_mode bits kept (an executable stays executable), uid and gid 0.
// .detignore at the root (and the SDK's default patterns) leaves paths
// out; .detignore itself is not sent. limit <= 0 means
// MaxModelDefinitionBytes.
func PackModelDefinition(dir string, limit int64) ([]File, error) {
	if limit <= 0 {
		limit = MaxModelDefinitionBytes
	}
	ig, err := loadIgnore(dir)
	if err != nil {
		return nil, err
	}
	var files []File
	var total int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := packEntry(p, rel, d, ig)
		if err != nil || f == nil {
			return err
		}
		total += int64(len(f.Content))
		files = append(files, *f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("experiment: model definition %s: %w", dir, err)
	}
	if total > limit {
		return nil, &SizeError{Dir: dir, Total: total, Limit: limit, Biggest: biggest(files, 5)}
	}
	return files, nil
}

func loadIgnore(dir string) (*Ignore, error) {
	name := filepath.Join(dir, ".detignore")
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return ParseIgnore(nil, name)
	}
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	defer f.Close()
	return ParseIgnore(f, name)
}

// packEntry builds the File for one walked path; nil means "leave out"
// (with filepath.SkipDir for an ignored directory).
func packEntry(p, rel string, d fs.DirEntry, ig *Ignore) (*File, error) {
	if rel == ".detignore" {
		return nil, nil
	}
	info, err := os.Stat(p) // follows links: their targets are sent
	if err != nil {
		return nil, err
	}
	if ig.Match(rel, info.IsDir()) {
		if d.IsDir() {
			return nil, filepath.SkipDir
		}
		return nil, nil
	}
	f := &File{Path: rel, Mtime: Int64(info.ModTime().Unix())}
	switch {
	case info.IsDir():
		f.Type, f.Mode, f.Content = FileTypeDir, modeDir|uint32(info.Mode().Perm()), []byte{}
	case info.Mode().IsRegular():
		f.Type, f.Mode = FileTypeRegular, modeRegular|uint32(info.Mode().Perm())
		if f.Content, err = os.ReadFile(p); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return f, nil
}

// biggest returns the n largest regular files.
func biggest(files []File, n int) []File {
	regs := make([]File, 0, len(files))
	for _, f := range files {
		if f.Type == FileTypeRegular {
			regs = append(regs, f)
		}
	}
	sort.SliceStable(regs, func(i, j int) bool { return len(regs[i].Content) > len(regs[j].Content) })
	return regs[:min(n, len(regs))]
}
