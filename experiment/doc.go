// Package experiment talks to a Determined master: experiment submission,
// the model registry, and the cluster implementation of trial's Context.
package experiment
