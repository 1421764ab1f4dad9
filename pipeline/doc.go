// Package pipeline holds the two Pachyderm pipeline steps of the churn
// system. The train step runs in the training pipeline's worker: it turns
// a data commit into a Determined experiment (fresh, or warm-started from
// the model's latest version on the files that changed), registers the
// best checkpoint and writes it with model-info.yaml into the output
// commit. The deploy step runs in the deployment pipeline's worker: it
// fetches that model version, puts its files where KServe's
// storage-initializer can read them and creates or replaces the
// InferenceService.
//
// Protocol clients stay behind the small interfaces Determined and
// InferenceServices, so tests run against fakes and real loopback servers.
package pipeline
