package trial

import (
	"encoding/json"
	"strings"
	"testing"
)

// ensures credentials in a config never survive RedactConfig, and the
// rest of the config is kept.
func TestRedactConfig(t *testing.T) {
	doc := `name: churn
checkpoint_storage: {type: s3, bucket: b, access_key: AKIAXXXX, secret_key: s3cr3t}
data:
  source: pachyderm
  pachyderm: {host: pach, token: pachtok, repo: data}
  secrets: {db: hunter2, nested: [x1, x2]}
searcher: {metric: val_acc, max_length: 10}
hyperparameters: {global_batch_size: 8, random_seed: 1, test_size: 0.2, lr: 0.1, dense1: 2}
`
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out := RedactConfig(c.Raw)
	b, _ := json.Marshal(out)
	for _, secret := range []string{"AKIAXXXX", "s3cr3t", "pachtok", "hunter2", "x1"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("RedactConfig kept %q: %s", secret, b)
		}
	}
	for _, kept := range []string{`"bucket":"b"`, `"repo":"data"`, `"name":"churn"`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("RedactConfig lost %s: %s", kept, b)
		}
	}
	if c.Raw["checkpoint_storage"].(map[string]any)["secret_key"] != "s3cr3t" {
		t.Error("RedactConfig changed its input")
	}
}
