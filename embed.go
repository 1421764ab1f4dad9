// Package churn holds the files the churn binary carries inside it, so that
// a plain `churn train` runs with no file at hand: a real churn table, the
// feature spec fitted to it and the default experiment configuration.
package churn

import _ "embed"

//go:embed testdata/telco/wa_churn.csv
var defaultData []byte

//go:embed testdata/telco/features.json
var defaultFeatures []byte

//go:embed experiment/const.yaml
var defaultConfig []byte

// DefaultDataName is the name the default data goes by in reports and errors.
const DefaultDataName = "testdata/telco/wa_churn.csv"

// DefaultData returns the bundled churn table: the IBM "Telco customer
// churn" data as shipped in the R package modeldata (7,043 rows, label churn
// Yes/No). See testdata/telco/README.md. The caller must not modify it.
func DefaultData() []byte { return defaultData }

// DefaultFeatures returns the feature spec fitted to DefaultData (JSON, for
// dataset.ReadSpec). The caller must not modify it.
func DefaultFeatures() []byte { return defaultFeatures }

// DefaultConfig returns the default experiment configuration
// (experiment/const.yaml). The caller must not modify it.
func DefaultConfig() []byte { return defaultConfig }
