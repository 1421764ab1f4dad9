package experiment

import (
	"encoding/json"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret holds a password or token. It prints, logs and marshals as
// "[REDACTED]" so that it cannot reach a log line, an error or a file by
// accident; Reveal is the one way to read it.
type Secret struct {
	value string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{value: s} }

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return s.value }

// Empty reports whether the secret holds nothing.
func (s Secret) Empty() bool { return s.value == "" }

// String implements fmt.Stringer without showing the value.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer without showing the value.
func (s Secret) GoString() string { return `experiment.Secret("` + s.String() + `")` }

// LogValue implements slog.LogValuer without showing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redacted form, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
