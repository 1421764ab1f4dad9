package trial

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

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
	Name   string `json:"name"`
	Metric string `json:"metric"`
	// SmallerIsBetter says which way Metric improves. Determined's default
	// is true; the churn config sets false for val_acc.
	SmallerIsBetter bool   `json:"smaller_is_better"`
	MaxLength       Length `json:"max_length"`
}

// UnmarshalJSON applies Determined's default smaller_is_better: true.
func (s *SearcherConfig) UnmarshalJSON(b []byte) error {
	type plain SearcherConfig
	p := plain{SmallerIsBetter: true}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = SearcherConfig(p)
	return nil
}

// Length is a training length in batches ({batches: N} or a bare int).
// Records and epochs are refused: the trial counts batches only.
type Length struct {
	Batches int `json:"batches"`
}

// UnmarshalJSON accepts N, {"batches": N} and Determined's defaults-filled
// form where the other units are null.
func (l *Length) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		l.Batches = n
		return nil
	}
	var units struct {
		Batches, Records, Epochs *int
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&units); err != nil {
		return fmt.Errorf("want a number of batches or {batches: N}: %w", err)
	}
	switch {
	case units.Batches != nil:
		l.Batches = *units.Batches
	case units.Records != nil, units.Epochs != nil:
		return errors.New("only a length in batches is supported, not records or epochs")
	default:
		l.Batches = 0
	}
	return nil
}

// DataConfig is the config's data section.
type DataConfig struct {
	// Source selects where data comes from: "local" (default) or "pachyderm".
	Source string `json:"source,omitempty"`
	// Files are local CSV paths (relative to the config file when loaded
	// with LoadConfig, else to the working directory).
	Files []string `json:"files,omitempty"`
	// Features is the feature spec file (relative like Files). Empty means
	// fit the spec on the training split.
	Features string `json:"features,omitempty"`
	// Pachyderm holds the Pachyderm source's settings.
	Pachyderm map[string]any `json:"pachyderm,omitempty"`
}

// Data sources named in DataConfig.Source.
const (
	SourceLocal     = "local"
	SourcePachyderm = "pachyderm"
)

// ConfigError is a problem with one field of a configuration.
type ConfigError struct {
	// File is the config file, empty when it was not read from a file.
	File string
	// Field is the dotted field path, e.g. "searcher.metric".
	Field string
	// Problem says what is wrong.
	Problem string
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("trial: config: %s: %s", e.Field, e.Problem)
	}
	return fmt.Sprintf("trial: config %s: %s: %s", e.File, e.Field, e.Problem)
}

// LoadConfig reads a YAML or JSON experiment config and validates it.
// Relative data paths are resolved against the file's directory.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trial: config: %w", err)
	}
	c, err := parseConfig(b)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.File = path
			return nil, ce
		}
		return nil, fmt.Errorf("trial: config %s: %w", path, err)
	}
	c.Data.resolve(filepath.Dir(path))
	return c, nil
}

// ParseConfig decodes a YAML or JSON experiment config (such as
// Determined's DET_EXPERIMENT_CONFIG) and validates it.
//
// A config is complete on its own: it is not merged over the embedded
// experiment/const.yaml, because the same text is what a Determined master
// runs, and a master would not see defaults filled in here. A partial
// config fails with one ConfigError naming every missing field.
func ParseConfig(b []byte) (*Config, error) {
	c, err := parseConfig(b)
	var ce *ConfigError
	if err != nil && !errors.As(err, &ce) {
		return nil, fmt.Errorf("trial: config: %w", err)
	}
	return c, err
}

// parseConfig is ParseConfig with errors other than ConfigError unprefixed.
func parseConfig(b []byte) (*Config, error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(j, &c); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(j, &c.Raw); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolve makes relative paths relative to dir.
func (d *DataConfig) resolve(dir string) {
	for i, f := range d.Files {
		if f != "" && !filepath.IsAbs(f) {
			d.Files[i] = filepath.Join(dir, f)
		}
	}
	if d.Features != "" && !filepath.IsAbs(d.Features) {
		d.Features = filepath.Join(dir, d.Features)
	}
}

// missing lists the required fields the config lacks.
func (c *Config) missing() []string {
	var m []string
	if c.Searcher.Metric == "" {
		m = append(m, "searcher.metric")
	}
	if c.Searcher.MaxLength.Batches == 0 {
		m = append(m, "searcher.max_length")
	}
	for name := range c.Hyperparameters {
		if !slices.Contains(hpNames, name) {
			return m // Hparams names the unknown one: likely a misspelt one
		}
	}
	for _, name := range hpNames {
		if _, ok := c.Hyperparameters[name]; !ok {
			m = append(m, "hyperparameters."+name)
		}
	}
	return m
}

// validMetrics are the validation metrics a searcher may optimise.
var validMetrics = []string{
	MetricValLoss, MetricValAcc, MetricAUC, MetricPrecision, MetricRecall, MetricF1,
}

// Validate checks the fields the trial needs and returns a *ConfigError
// naming the first bad one.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if missing := c.missing(); len(missing) > 0 {
		return bad(strings.Join(missing, ", "), "required (a config is not merged with "+
			"the defaults; start from a copy of experiment/const.yaml)")
	}
	switch {
	case c.Searcher.Metric == "":
		return bad("searcher.metric", "required (one of %v)", validMetrics)
	case !slices.Contains(validMetrics, c.Searcher.Metric):
		return bad("searcher.metric", "%q is not reported; want one of %v",
			c.Searcher.Metric, validMetrics)
	case c.Searcher.MaxLength.Batches <= 0:
		return bad("searcher.max_length", "required: a positive number of batches")
	case c.MinValidationPeriod.Batches < 0:
		return bad("min_validation_period", "negative batches %d",
			c.MinValidationPeriod.Batches)
	}
	switch c.Data.Source {
	case "", SourceLocal, SourcePachyderm:
	default:
		return bad("data.source", "%q: want %q or %q", c.Data.Source, SourceLocal, SourcePachyderm)
	}
	_, err := c.Hparams()
	return err
}
