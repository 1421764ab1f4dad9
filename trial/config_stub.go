package trial

// This file holds the agreed exported API of the package while it is being
// written. The owner of the package replaces these stubs with real code.

import "errors"

var errStub = errors.New("trial: not implemented yet")

// Config is an experiment configuration in Determined's format (the
// fields the churn trial reads; the rest is kept in Raw).
type Config struct {
	Name                string         `json:"name"`
	Entrypoint          any            `json:"entrypoint,omitempty"`
	Hyperparameters     map[string]any `json:"hyperparameters"`
	Searcher            SearcherConfig `json:"searcher"`
	MinValidationPeriod Length         `json:"min_validation_period"`
	Data                DataConfig     `json:"data"`
	// Raw is the whole document as decoded, for passing on unchanged.
	Raw map[string]any `json:"-"`
}

// SearcherConfig is the searcher block.
type SearcherConfig struct {
	Name            string `json:"name"`
	Metric          string `json:"metric"`
	SmallerIsBetter bool   `json:"smaller_is_better"`
	MaxLength       Length `json:"max_length"`
}

// Length is a training length in batches ({batches: N} or a bare int).
type Length struct {
	Batches int `json:"batches"`
}

// DataConfig is the config's data section.
type DataConfig struct {
	// Source selects where data comes from: "local" (default) or "pachyderm".
	Source string `json:"source,omitempty"`
	// Files are local CSV paths or globs (relative to the config file).
	Files []string `json:"files,omitempty"`
	// Features is the feature spec file (relative to the config file).
	Features string `json:"features,omitempty"`
	// Pachyderm holds the Pachyderm source's settings.
	Pachyderm map[string]any `json:"pachyderm,omitempty"`
}

// LoadConfig reads a YAML or JSON experiment config.
func LoadConfig(path string) (*Config, error) { return nil, errStub }

// Hparams resolves the config's hyperparameters (const values) into the
// churn trial's Hyperparameters.
func (c *Config) Hparams() (Hyperparameters, error) { return Hyperparameters{}, errStub }
