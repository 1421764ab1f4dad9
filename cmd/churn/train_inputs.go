package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/trial"
)

// trainInputs are the resolved config, data and spec of a training run.
type trainInputs struct {
	cfg   *trial.Config
	data  trial.DataSource
	spec  *dataset.Spec // nil: fitted (or the checkpoint's)
	infer dataset.InferOptions
	// threshold is --threshold, or a resumed checkpoint's when not given.
	threshold float64
}

// embeddedData is the DataSource of the embedded telco table.
func embeddedData() trial.DataSource {
	return trial.MemFiles{{Name: churn.DefaultDataName, Data: churn.DefaultData()}}
}

// resolve picks config, data and spec from the flags, in this order:
// flags, the checkpoint being resumed, the config, the embedded defaults.
func (o *trainOptions) resolve() (*trainInputs, error) {
	var meta *checkpoint.Metadata
	if ck, _ := o.checkpoint(); ck != "" {
		m, err := checkpoint.ReadMetadata(ck)
		if err != nil {
			return nil, err
		}
		meta = m
	}
	cfg, err := o.loadConfig(meta)
	if err != nil {
		return nil, err
	}
	in := &trainInputs{cfg: cfg, threshold: o.threshold,
		infer: dataset.InferOptions{Label: o.label, Positive: o.positive}}
	if o.resume != "" && !o.thresholdSet && meta.Threshold > 0 {
		in.threshold = meta.Threshold
	}
	embedded := false
	switch {
	case len(o.data) > 0:
		in.data = trial.Files(o.data)
	case o.resume != "" && len(meta.Data) > 0:
		if in.data, embedded, err = checkpointData(o.resume, meta.Data); err != nil {
			return nil, err
		}
	case len(cfg.Data.Files) > 0:
		if in.data, err = trial.DataSourceFor(cfg.Data); err != nil {
			return nil, err
		}
	default:
		in.data, embedded = embeddedData(), true
	}
	if meta != nil {
		return in, nil // the checkpoint's spec is used
	}
	in.spec, err = o.loadSpec(cfg, embedded)
	return in, err
}

// loadConfig reads --config, else a resumed checkpoint's, else the
// embedded one.
func (o *trainOptions) loadConfig(meta *checkpoint.Metadata) (*trial.Config, error) {
	switch {
	case o.config != "":
		return trial.LoadConfig(o.config)
	case o.resume != "" && meta.Config != nil:
		b, err := json.Marshal(meta.Config)
		if err != nil {
			return nil, fmt.Errorf("config of %s: %w", o.resume, err)
		}
		cfg, err := trial.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("config of %s: %w", o.resume, err)
		}
		return cfg, nil
	}
	return trial.ParseConfig(churn.DefaultConfig())
}

// loadSpec reads the fixed spec, or returns nil to fit one.
func (o *trainOptions) loadSpec(cfg *trial.Config, embedded bool) (*dataset.Spec, error) {
	switch {
	case o.features != "":
		return dataset.LoadSpec(o.features)
	case o.inferFeatures:
		return nil, nil
	case cfg.Data.Features != "":
		return dataset.LoadSpec(cfg.Data.Features)
	case embedded:
		return dataset.ReadSpec(bytes.NewReader(churn.DefaultFeatures()))
	}
	return nil, nil
}

// checkpointData is the data a checkpoint was trained on: the embedded
// table when it names it, else its files: by name as given when that
// exists from here, else by the absolute path recorded at training.
func checkpointData(ck string, files []checkpoint.DataFile) (trial.DataSource, bool, error) {
	if len(files) == 1 && files[0].Name == churn.DefaultDataName {
		return embeddedData(), true, nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		switch {
		case fileExists(f.Name):
			paths[i] = f.Name
		case f.Path != "" && fileExists(f.Path):
			paths[i] = f.Path
		default:
			where := ""
			if f.Path != "" {
				where = " nor " + f.Path
			}
			return nil, false, fmt.Errorf("--resume: data file %s%s, named by "+
				"checkpoint %s, not found; pass the same file with --data", f.Name, where, ck)
		}
	}
	return trial.Files(paths), false, nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
