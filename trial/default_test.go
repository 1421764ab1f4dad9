package trial

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/dataset"
)

// ensures the embedded default, the real telco table with its spec and the
// original config (1000 batches of 512, lr 1e-4, 32 hidden units), reaches
// a validation accuracy of at least 0.80.
func TestDefaultTelcoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 1000 batches")
	}
	cfg, err := ParseConfig(churn.DefaultConfig())
	if err != nil {
		t.Fatalf("ParseConfig(DefaultConfig): %v", err)
	}
	spec, err := dataset.ReadSpec(bytes.NewReader(churn.DefaultFeatures()))
	if err != nil {
		t.Fatalf("ReadSpec(DefaultFeatures): %v", err)
	}
	s := Settings{
		Data: MemFiles{{Name: churn.DefaultDataName, Data: churn.DefaultData()}},
		Spec: spec,
	}
	_, res, err := runLocal(t, context.Background(), filepath.Join(t.TempDir(), "run"),
		cfg, nil, s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("elapsed %v, validation %v, best %d", res.Elapsed, res.Validation, res.Best.Steps)
	if res.Steps != 1000 || res.TrainRows != 5634 || res.ValRows != 1409 {
		t.Errorf("Run trained %d batches on %d/%d rows, want 1000 on 5634/1409",
			res.Steps, res.TrainRows, res.ValRows)
	}
	if acc := res.Validation[MetricValAcc]; acc < 0.80 {
		t.Errorf("val_acc = %.4f, want >= 0.80", acc)
	}
}
