package trial

import "strings"

// Redacted replaces the value of every secret-looking key.
const Redacted = "<redacted>"

// secretWords mark a config key whose value must not be written out.
var secretWords = []string{"secret", "password", "token", "access_key", "credential",
	"connection_string", "api_key"}

// RedactConfig returns a deep copy of a decoded config with the values of
// secret-looking keys (secret_key, password, token, data.secrets.*, ...)
// replaced by Redacted, so that a config can be stored in checkpoint
// metadata without the credentials it carries.
func RedactConfig(raw map[string]any) map[string]any {
	if raw == nil {
		return nil
	}
	return redactValue(raw, false).(map[string]any)
}

func redactValue(v any, secret bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = redactValue(x, secret || isSecretKey(k))
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(x, secret)
		}
		return out
	}
	if secret && v != nil {
		return Redacted
	}
	return v
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
