package trial

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ensures a partial config names every missing field in one error, and
// a file that is no config is reported with one prefix.
func TestConfigPartialAndStutter(t *testing.T) {
	_, err := ParseConfig([]byte("hyperparameters: {lr: 0.1, dense1: 8}\n"))
	var ce *ConfigError
	want := "trial: config: searcher.metric, searcher.max_length, " +
		"hyperparameters.global_batch_size, hyperparameters.random_seed, " +
		"hyperparameters.test_size: required (a config is not merged with the defaults; " +
		"start from a copy of experiment/const.yaml)"
	if !errors.As(err, &ce) || err.Error() != want {
		t.Fatalf("ParseConfig: %v, want %s", err, want)
	}
	path := filepath.Join(t.TempDir(), "ok.csv")
	if err := os.WriteFile(path, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(path)
	prefix := "trial: config " + path + ": json: cannot unmarshal"
	if err == nil || !strings.HasPrefix(err.Error(), prefix) ||
		strings.Count(err.Error(), "trial:") != 1 {
		t.Fatalf("LoadConfig: %v, want one prefix, %q", err, prefix)
	}
}
