package churn_test

import (
	"bytes"
	"testing"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/dataset"
)

// ensures the embedded default data loads under the embedded spec without
// a file on disk, with the documented row count and missing values.
func TestDefaultDataLoads(t *testing.T) {
	spec, err := dataset.ReadSpec(bytes.NewReader(churn.DefaultFeatures()))
	if err != nil {
		t.Fatalf("ReadSpec(DefaultFeatures()): %v", err)
	}
	tab, rep, err := dataset.LoadReaders(spec, true, dataset.Source{
		Name: churn.DefaultDataName, R: bytes.NewReader(churn.DefaultData()),
	})
	if err != nil {
		t.Fatalf("LoadReaders(DefaultData()): %v", err)
	}
	if _, err := dataset.Preprocess(spec, tab, rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 7043 || rep.Missing["total_charges"] != 11 || spec.Label != "churn" {
		t.Errorf("default data: %d rows, %v missing, label %q; want 7043, total_charges 11, churn",
			rep.Rows, rep.Missing, spec.Label)
	}
	if len(churn.DefaultConfig()) == 0 {
		t.Error("DefaultConfig() is empty")
	}
}
