package pipeline

import (
	"context"

	"github.com/churn-pdk/churn/experiment"
)

// Determined is what the steps need from a Determined master;
// *experiment.Client implements it.
type Determined interface {
	// EnsureModel returns the registry model, creating it when missing.
	EnsureModel(ctx context.Context, req experiment.CreateModelRequest) (*experiment.Model, error)
	// ModelVersion reads version n of a model; n <= 0 means the latest,
	// and a model without versions gives experiment.ErrNotFound.
	ModelVersion(ctx context.Context, model string, n int) (*experiment.ModelVersion, error)
	// CreateExperiment submits an experiment.
	CreateExperiment(ctx context.Context, req experiment.CreateExperimentRequest) (
		*experiment.CreateExperimentResponse, error)
	// WaitExperiment polls an experiment until it ends and returns its state.
	WaitExperiment(ctx context.Context, id int, opts experiment.WaitOptions) (string, error)
	// BestCheckpoint returns an experiment's best completed checkpoint, or
	// experiment.ErrNotFound when it has none.
	BestCheckpoint(ctx context.Context, id int) (*experiment.Checkpoint, error)
	// RegisterVersion adds a checkpoint as the model's next version.
	RegisterVersion(ctx context.Context, req experiment.RegisterRequest) (
		*experiment.ModelVersion, error)
	// DownloadCheckpoint writes a checkpoint's files into dir, which must
	// not exist yet.
	DownloadCheckpoint(ctx context.Context, uuid, dir string) error
}

var _ Determined = (*experiment.Client)(nil)
