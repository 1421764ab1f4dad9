// Package trial is the batch-based training loop, written against a
// Context in the spirit of Determined's Core API, with a local Context that
// keeps metrics and checkpoints in a run directory.
package trial
