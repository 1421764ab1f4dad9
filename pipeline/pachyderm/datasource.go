package pachyderm

import (
	"context"
	"fmt"
	"os"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// DataSource is the trial's data source for data.source = "pachyderm":
// each Open fetches the configured commit (or what changed since the
// previous one) into a fresh temporary directory that release removes.
type DataSource struct {
	settings Settings
	src      *Source
	// TempDir is where download directories are made; "" means the
	// system's temporary directory.
	TempDir string
}

// NewDataSource returns the DataSource for a config's data section, which
// must name the pachyderm source. src may be nil for the defaults.
func NewDataSource(d trial.DataConfig, src *Source) (*DataSource, error) {
	if d.Source != trial.SourcePachyderm {
		return nil, fmt.Errorf("pachyderm: data.source is %q, not %q", d.Source, trial.SourcePachyderm)
	}
	s, err := ParseSettings(d.Pachyderm)
	if err != nil {
		return nil, err
	}
	if src == nil {
		src = &Source{}
	}
	return &DataSource{settings: s, src: src}, nil
}

// Settings returns the parsed data.pachyderm section.
func (d *DataSource) Settings() Settings { return d.settings }

// Open implements trial.DataSource. With nothing to train on (no file
// matches, or none changed since the previous commit) it returns an error
// wrapping trial.ErrNoData.
func (d *DataSource) Open(ctx context.Context) ([]dataset.Source, func(), error) {
	dir, err := os.MkdirTemp(d.TempDir, "churn-pfs-")
	if err != nil {
		return nil, nil, fmt.Errorf("pachyderm: %w", err)
	}
	got, err := d.src.Fetch(ctx, d.settings, dir)
	if err == nil && len(got.Files) == 0 {
		err = fmt.Errorf("%w: %s has no file matching %q", trial.ErrNoData,
			d.settings.commit(d.settings.Commit), d.settings.pattern())
		if got.Incremental {
			err = fmt.Errorf("%w: nothing changed in %s since commit %s", trial.ErrNoData,
				d.settings.commit(d.settings.Commit), d.settings.PreviousCommit)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	srcs, closeFiles, err := trial.Files(got.Files).Open(ctx)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	// Name each input by where it lives in Pachyderm, for errors and for
	// the checkpoint's record of its data.
	c := d.settings.commit(d.settings.Commit)
	for i := range srcs {
		srcs[i].Name = c.String() + ":/" + got.Keys[i]
	}
	release := func() {
		closeFiles()
		os.RemoveAll(dir)
	}
	return srcs, release, nil
}

// Data returns a picker of the data source a config names: a DataSource
// for data.source "pachyderm", else trial.DataSourceFor's. Its shape is
// experiment.DataFunc, so trial containers plug it into RunTrial. src may
// be nil for the defaults.
func Data(src *Source) func(ctx context.Context, cfg *trial.Config) (trial.DataSource, error) {
	return func(_ context.Context, cfg *trial.Config) (trial.DataSource, error) {
		if cfg.Data.Source == trial.SourcePachyderm {
			return NewDataSource(cfg.Data, src)
		}
		return trial.DataSourceFor(cfg.Data)
	}
}
