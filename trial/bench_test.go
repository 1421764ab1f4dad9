package trial

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/churn-pdk/churn"
	"github.com/churn-pdk/churn/dataset"
)

// BenchmarkTrainEndToEnd is a whole `churn train` run with the original
// recipe (the embedded config: 1000 batches of 512, validation and a
// checkpoint every 100) on a generated file of 31,009 rows in the original
// schema (the size of the original's first data file), with the original
// spec: loading, split, preprocessing, training, validation, checkpoints,
// plots and run.json. samples/s counts training rows per second.
func BenchmarkTrainEndToEnd(b *testing.B) {
	dir := b.TempDir()
	data := genCSV(b, dir, 31009, 42)
	cfg, err := ParseConfig(churn.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	hp, err := cfg.Hparams()
	if err != nil {
		b.Fatal(err)
	}
	s := Settings{Data: Files{data}, Spec: dataset.PDKSpec()}
	n := 0
	for b.Loop() {
		n++
		_, res, err := runLocal(b, context.Background(),
			filepath.Join(dir, fmt.Sprintf("run-%d", n)), cfg, nil, s)
		if err != nil || res.Status != Success {
			b.Fatalf("Run = %v, %v", res.Status, err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/run")
	b.ReportMetric(float64(cfg.Searcher.MaxLength.Batches*hp.GlobalBatchSize)/sec, "samples/s")
}
