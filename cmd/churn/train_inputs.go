package main

import (
	"bytes"
	"encoding/json"
	"fmt"

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
	in := &trainInputs{cfg: cfg,
		infer: dataset.InferOptions{Label: o.label, Positive: o.positive}}
	embedded := false
	switch {
	case len(o.data) > 0:
		in.data = trial.Files(o.data)
	case o.resume != "" && len(meta.Data) > 0:
		in.data, embedded = checkpointData(meta.Data)
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
			return nil, fmt.Errorf("train: config of %s: %w", o.resume, err)
		}
		cfg, err := trial.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("train: config of %s: %w", o.resume, err)
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
// table when it names it, else its files by path.
func checkpointData(files []checkpoint.DataFile) (trial.DataSource, bool) {
	if len(files) == 1 && files[0].Name == churn.DefaultDataName {
		return embeddedData(), true
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Name
	}
	return trial.Files(paths), false
}
