// Package checkpoint reads and writes checkpoint directories: the model's
// parameters, the resolved feature spec and metadata.json. It is the one
// artefact shared by training, serving and the pipelines.
package checkpoint
