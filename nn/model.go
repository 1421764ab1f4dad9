// Package nn is the churn classifier: Linear(inputs, hidden) ->
// Linear(hidden, 1) -> Sigmoid, trained with binary cross-entropy and Adam,
// in float32 on Gorgonia. Gorgonia types never leave this package: callers
// see row-major float32 slices.
package nn
