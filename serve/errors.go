package serve

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Every error a handler returns wraps at most one of them,
// and [StatusOf] turns them into HTTP statuses; anything else is a 500.
var (
	// ErrInvalidInput marks a malformed body or a bad value (400).
	ErrInvalidInput = errors.New("invalid input")
	// ErrModelNotFound marks a request for a model this server lacks (404).
	ErrModelNotFound = errors.New("model not found")
	// ErrRouteNotFound marks a path no handler serves (404).
	ErrRouteNotFound = errors.New("route not found")
	// ErrMethodNotAllowed marks a known path asked with a wrong method (405).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrTooLarge marks a body, or a request's rows, over the configured
	// limit (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrRequestTimeout marks a request whose body did not arrive within
	// the read timeout (408).
	ErrRequestTimeout = errors.New("request timeout")
	// ErrUnsupportedMediaType marks a body whose Content-Type is not JSON (415).
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrNotImplemented marks a protocol feature this server lacks (501).
	ErrNotImplemented = errors.New("not implemented")
	// ErrModelNotReady marks a request arriving before the model is loaded (503).
	ErrModelNotReady = errors.New("model not ready")
	// ErrOverloaded marks a request shed because too many are in flight (503).
	ErrOverloaded = errors.New("server overloaded")
)

// StatusOf maps an error to the HTTP status the server answers with.
func StatusOf(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, ErrModelNotFound), errors.Is(err, ErrRouteNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrRequestTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedMediaType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, ErrModelNotReady), errors.Is(err, ErrOverloaded):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// InputError is a bad value in a request: Field is the JSON path of the
// value ("instances[0].data"), Column and Row locate it in the table the
// request describes (Row < 0 when the error concerns a whole column).
type InputError struct {
	Field  string
	Column string
	Row    int
	Reason string
}

// Error implements error.
func (e *InputError) Error() string {
	s := e.Field
	if e.Column != "" {
		s += fmt.Sprintf(": column %q", e.Column)
	}
	if e.Row >= 0 {
		s += fmt.Sprintf(", row %d", e.Row)
	}
	return s + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidInput) hold.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// apiError is an error whose message is what the client reads and whose
// kind is one of the sentinels above.
type apiError struct {
	kind error
	msg  string
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.kind }

// errorf builds an error of the given kind whose message is the client's.
func errorf(kind error, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// invalid builds a 400 error.
func invalid(format string, args ...any) error {
	return errorf(ErrInvalidInput, format, args...)
}
