package trial

import (
	"fmt"
	"math"
	"slices"
)

// Hyperparameter names, as in experiment/const.yaml.
const (
	HPGlobalBatchSize = "global_batch_size"
	HPRandomSeed      = "random_seed"
	HPTestSize        = "test_size"
	HPLR              = "lr"
	HPDense1          = "dense1"
)

var hpNames = []string{HPGlobalBatchSize, HPRandomSeed, HPTestSize, HPLR, HPDense1}

// Hparams resolves the config's hyperparameters (const values) into the
// churn trial's Hyperparameters. Searched types (int, double, log,
// categorical) are refused: only a Determined searcher can sample them, and
// the trial then reads the sampled values with DecodeHparams.
func (c *Config) Hparams() (Hyperparameters, error) {
	return DecodeHparams(c.Hyperparameters)
}

// DecodeHparams resolves hyperparameter values, each a scalar or
// {type: const, val: x} (as in a config or Determined's DET_HPARAMS), into
// Hyperparameters. Every churn hyperparameter is required; unknown names
// are refused so that a misspelt one is not silently ignored.
func DecodeHparams(values map[string]any) (Hyperparameters, error) {
	var hp Hyperparameters
	for name := range values {
		if !slices.Contains(hpNames, name) {
			return hp, hpError(name, "unknown; want only %v", hpNames)
		}
	}
	vals := make(map[string]float64, len(hpNames))
	for _, name := range hpNames {
		raw, ok := values[name]
		if !ok {
			return hp, hpError(name, "required")
		}
		v, err := hpValue(name, raw)
		if err != nil {
			return hp, err
		}
		vals[name] = v
	}
	for _, name := range []string{HPGlobalBatchSize, HPRandomSeed, HPDense1} {
		if v := vals[name]; v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return hp, hpError(name, "%v is not an integer", v)
		}
	}
	hp = Hyperparameters{
		GlobalBatchSize: int(vals[HPGlobalBatchSize]),
		RandomSeed:      int64(vals[HPRandomSeed]),
		TestSize:        vals[HPTestSize],
		LR:              vals[HPLR],
		Dense1:          int(vals[HPDense1]),
	}
	return hp, hp.Validate()
}

// Validate checks the values' ranges.
func (hp Hyperparameters) Validate() error {
	switch {
	case hp.GlobalBatchSize < 1:
		return hpError(HPGlobalBatchSize, "%d: want at least 1", hp.GlobalBatchSize)
	case !(hp.TestSize > 0 && hp.TestSize < 1):
		return hpError(HPTestSize, "%v: want a fraction strictly between 0 and 1", hp.TestSize)
	case !(hp.LR > 0) || math.IsInf(hp.LR, 0):
		return hpError(HPLR, "%v: want a positive learning rate", hp.LR)
	case hp.Dense1 < 1:
		return hpError(HPDense1, "%d: want at least 1 hidden unit", hp.Dense1)
	}
	return nil
}

// hpValue reads a scalar or a {type: const, val: x} definition.
func hpValue(name string, raw any) (float64, error) {
	if m, ok := raw.(map[string]any); ok {
		if t, _ := m["type"].(string); t != "const" {
			return 0, hpError(name, "type %v needs a searcher to sample it; "+
				"a churn config gives a value or {type: const, val: x}", m["type"])
		}
		raw = m["val"]
	}
	switch v := raw.(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	}
	return 0, hpError(name, "%v (%T) is not a number", raw, raw)
}

func hpError(name, format string, args ...any) error {
	return &ConfigError{Field: "hyperparameters." + name, Problem: fmt.Sprintf(format, args...)}
}
