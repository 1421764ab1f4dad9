package trial

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/churn-pdk/churn/dataset"
)

// ErrNoData means a run was given no data files.
var ErrNoData = errors.New("trial: no data files")

// DataSource yields a run's CSV inputs. The local implementations are
// Files and MemFiles; the cluster adds its own (Pachyderm) behind the same
// interface.
type DataSource interface {
	// Open returns the inputs in order, each readable once, and a function
	// that releases them. It may be called more than once.
	Open(ctx context.Context) (srcs []dataset.Source, release func(), err error)
}

// Files is a DataSource of local CSV files, read in order.
type Files []string

// Open opens every file; a missing one is an error naming it.
func (f Files) Open(context.Context) ([]dataset.Source, func(), error) {
	if len(f) == 0 {
		return nil, nil, ErrNoData
	}
	var files []*os.File
	release := func() {
		for _, fh := range files {
			fh.Close()
		}
	}
	srcs := make([]dataset.Source, 0, len(f))
	for _, path := range f {
		fh, err := os.Open(path)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("trial: data: %w", err)
		}
		files = append(files, fh)
		srcs = append(srcs, dataset.Source{Name: path, R: fh})
	}
	return srcs, release, nil
}

// MemFile is an in-memory CSV table, such as an embedded one.
type MemFile struct {
	Name string
	Data []byte
}

// MemFiles is a DataSource of in-memory CSV tables.
type MemFiles []MemFile

// Open returns a reader over each table.
func (m MemFiles) Open(context.Context) ([]dataset.Source, func(), error) {
	if len(m) == 0 {
		return nil, nil, ErrNoData
	}
	srcs := make([]dataset.Source, len(m))
	for i, f := range m {
		srcs[i] = dataset.Source{Name: f.Name, R: bytes.NewReader(f.Data)}
	}
	return srcs, func() {}, nil
}

// DataSourceFor returns the DataSource a config's data section names:
// Files for the local source. Other sources are provided by the code that
// runs the trial where they can be reached.
func DataSourceFor(d DataConfig) (DataSource, error) {
	switch d.Source {
	case "", SourceLocal:
		if len(d.Files) == 0 {
			return nil, fmt.Errorf("%w: the config's data.files is empty", ErrNoData)
		}
		return Files(d.Files), nil
	}
	return nil, fmt.Errorf("trial: data source %q is not available here", d.Source)
}
