// Package experiment talks to a Determined master through its REST API:
// experiment submission (the model definition packed from a directory),
// waiting, the model registry and checkpoint downloads (Client), and the
// two implementations of trial.Context that report to a master: the
// cluster one inside a trial container (NewClusterContext, RunTrial) and
// the unmanaged one for runs outside the cluster (NewUnmanagedContext,
// TrainUnmanaged).
//
// One Client speaks both the 0.22-0.37 protocol (searcher operations,
// /training_metrics, bare-number progress) and 0.38's, chosen from the
// master's version. Idempotent calls and reports are retried on 502, 503,
// 504 and connection errors with jittered exponential backoff; failures
// are *APIError values that match ErrNotFound, ErrUnauthenticated,
// ErrAlreadyExists and the other sentinels with errors.Is. Passwords and
// tokens are Secret values, which never print.
//
// Package detfake beside this one is a fake master for tests.
package experiment
