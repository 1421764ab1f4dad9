package experiment

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors a caller can test for with errors.Is; an *APIError
// matches the one that its HTTP status or gRPC code names.
var (
	ErrInvalidArgument  = errors.New("experiment: invalid argument")
	ErrUnauthenticated  = errors.New("experiment: unauthenticated")
	ErrPermissionDenied = errors.New("experiment: permission denied")
	ErrNotFound         = errors.New("experiment: not found")
	ErrAlreadyExists    = errors.New("experiment: already exists")
	ErrUnimplemented    = errors.New("experiment: unimplemented")
	ErrUnavailable      = errors.New("experiment: master unavailable")
	ErrInternal         = errors.New("experiment: master internal error")
	// ErrUnreachable wraps connection failures: no HTTP answer at all.
	ErrUnreachable = errors.New("experiment: master unreachable")
)

// gRPC status codes the master puts in its error bodies.
const (
	codeInvalidArgument    = 3
	codeDeadlineExceeded   = 4
	codeNotFound           = 5
	codeAlreadyExists      = 6
	codePermissionDenied   = 7
	codeFailedPrecondition = 9
	codeUnimplemented      = 12
	codeInternal           = 13
	codeUnavailable        = 14
	codeUnauthenticated    = 16
)

// APIError is an answer of the master with a status of 300 or more. It
// carries the master's error body: the gRPC code, its name and message on
// /api/v1 routes, or the message of the root (echo) routes.
type APIError struct {
	Method string
	Path   string
	Status int
	// Code is the gRPC status code (0 when the body had none).
	Code int
	// Reason is the gRPC code's name, e.g. "NotFound".
	Reason string
	// Message is the master's message.
	Message string
}

// Error implements error.
func (e *APIError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = http.StatusText(e.Status)
	}
	msg := fmt.Sprintf("experiment: %s %s: HTTP %d %s", e.Method, e.Path, e.Status, reason)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is matches the sentinel errors by HTTP status and gRPC code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrInvalidArgument:
		return e.Status == http.StatusBadRequest || e.Code == codeInvalidArgument ||
			e.Code == codeFailedPrecondition
	case ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized || e.Code == codeUnauthenticated
	case ErrPermissionDenied:
		return e.Status == http.StatusForbidden || e.Code == codePermissionDenied
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Code == codeNotFound
	case ErrAlreadyExists:
		return e.Status == http.StatusConflict || e.Code == codeAlreadyExists
	case ErrUnimplemented:
		return e.Status == http.StatusNotImplemented || e.Code == codeUnimplemented
	case ErrUnavailable:
		return transientStatus(e.Status) || e.Code == codeUnavailable
	case ErrInternal:
		return e.Status == http.StatusInternalServerError || e.Code == codeInternal
	}
	return false
}

// transientStatus reports the statuses worth retrying: a proxy or the
// master saying "not now".
func transientStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout
}

// ConfigError is a bad value in the trial environment or a config.
type ConfigError struct {
	// Field names the environment variable or config field.
	Field  string
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string { return "experiment: " + e.Field + ": " + e.Reason }
