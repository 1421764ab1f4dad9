// Package trial is the batch-based training loop, written against a
// Context in the spirit of Determined's Core API, with a local Context that
// keeps metrics and checkpoints in a run directory.
//
// [Run] is the loop: data from a [DataSource], the split, the feature spec
// (fixed, fitted on the training split, or a checkpoint's), the model,
// batches, validation, checkpoints (through package checkpoint) and
// preemption, configured by [Settings] and summed up in a [Result] whose
// [Status] says how it ended. [Config] is the experiment configuration in
// Determined's format ([LoadConfig], [ParseConfig]); [Local] is the Context
// of `churn train`; the Determined one lives in package experiment.
// [ClassMetrics], [AUC] and [NewROC] are the validation metrics, and
// [WritePlots] draws a run's curves.
package trial
