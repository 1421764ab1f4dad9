//go:build !predictor

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/pipeline"
)

// pipelineSpec is the part of Pachyderm's pipeline spec the churn
// pipelines use; decoding refuses any other field.
type pipelineSpec struct {
	Pipeline struct {
		Name string `json:"name"`
	} `json:"pipeline"`
	Description string `json:"description"`
	Input       struct {
		PFS struct {
			Name       string `json:"name"`
			Repo       string `json:"repo"`
			Branch     string `json:"branch"`
			Glob       string `json:"glob"`
			EmptyFiles bool   `json:"empty_files"`
		} `json:"pfs"`
	} `json:"input"`
	Transform struct {
		Image   string   `json:"image"`
		Cmd     []string `json:"cmd"`
		Secrets []struct {
			Name   string `json:"name"`
			Key    string `json:"key"`
			EnvVar string `json:"env_var"`
		} `json:"secrets"`
	} `json:"transform"`
	Autoscaling bool   `json:"autoscaling"`
	PodPatch    string `json:"pod_patch"`
}

func readSpec(t *testing.T, name string) pipelineSpec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "pipelines", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s pipelineSpec
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func secretsOf(s pipelineSpec) []string {
	var out []string
	for _, sec := range s.Transform.Secrets {
		if sec.Name != "pipeline-secret" {
			out = append(out, "wrong secret "+sec.Name)
		}
		out = append(out, sec.Key+"->"+sec.EnvVar)
	}
	return out
}

// parseStep resolves a spec's command against the real cobra tree and
// parses its flags, as the binary would.
func parseStep(t *testing.T, name string, argv []string) func(flag string) string {
	t.Helper()
	if len(argv) < 3 || filepath.Base(argv[0]) != "churn" {
		t.Fatalf("%s: cmd %q does not run churn", name, argv)
	}
	root := (&app{}).rootCmd()
	cmd, rest, err := root.Find(argv[1:])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: %q: %v", name, argv, err)
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return func(flag string) string {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			t.Fatalf("%s: no flag --%s", name, flag)
		}
		return f.Value.String()
	}
}

// Ensures the training pipelines keep the original's name, input and
// secrets and run `churn pipeline train` with flags the binary accepts.
func TestTrainingPipelineSpecs(t *testing.T) {
	for _, name := range []string{"training-pipeline.json", "_on_prem_training-pipeline.json"} {
		s := readSpec(t, name)
		in := s.Input.PFS
		if s.Pipeline.Name != "customer-churn-train" || in.Name != "data" ||
			in.Repo != "customer-churn-data" || in.Branch != "master" || in.Glob != "/" ||
			!in.EmptyFiles {
			t.Errorf("%s: pipeline %q input %+v", name, s.Pipeline.Name, in)
		}
		want := []string{"det_master->DET_MASTER", "det_user->DET_USER",
			"det_password->DET_PASSWORD", "pac_token->PAC_TOKEN"}
		if got := secretsOf(s); !slices.Equal(got, want) {
			t.Errorf("%s: secrets %v, want %v", name, got, want)
		}
		flag := parseStep(t, name, s.Transform.Cmd)
		if flag("repo") != in.Repo || flag("model") != "customer-churn" ||
			flag("project") != "pdk-customer-churn" || flag("input") != in.Name {
			t.Errorf("%s: flags repo %q model %q project %q input %q", name,
				flag("repo"), flag("model"), flag("project"), flag("input"))
		}
		if filepath.Dir(flag("config")) != filepath.Dir(s.Transform.Cmd[0]) {
			t.Errorf("%s: config %s is not beside the churn binary %s (the model definition)",
				name, flag("config"), s.Transform.Cmd[0])
		}
	}
}

// Ensures the deployment pipelines read the training output and run
// `churn pipeline deploy` with flags the binary accepts and parses.
func TestDeploymentPipelineSpecs(t *testing.T) {
	for _, name := range []string{"deployment-pipeline.json", "_on_prem_deployment-pipeline.json"} {
		s := readSpec(t, name)
		in := s.Input.PFS
		if s.Pipeline.Name != "customer-churn-deploy" || in.Name != "data" ||
			in.Repo != "customer-churn-train" || in.Glob != "/" || in.EmptyFiles || !s.Autoscaling {
			t.Errorf("%s: pipeline %q input %+v autoscaling %v", name, s.Pipeline.Name, in, s.Autoscaling)
		}
		want := []string{"det_master->DET_MASTER", "det_user->DET_USER",
			"det_password->DET_PASSWORD", "kserve_namespace->KSERVE_NAMESPACE"}
		if got := secretsOf(s); !slices.Equal(got, want) {
			t.Errorf("%s: secrets %v, want %v", name, got, want)
		}
		flag := parseStep(t, name, s.Transform.Cmd)
		f := deployFlags{name: flag("deployment-name"), tolerations: flag("tolerations"),
			requests: flag("resource-requests"), limits: flag("resource-limits"),
			store: flag("model-store"), input: flag("input")}
		opts, err := f.options()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := opts.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if flag("wait") != "true" || flag("keep-failed") != "false" {
			t.Errorf("%s: --wait %s --keep-failed %s; want a deploy that waits for the new "+
				"generation and rolls back when it is not ready", name, flag("wait"), flag("keep-failed"))
		}
		if opts.Name != "customer-churn" || opts.Resources.Requests.Memory().String() != "4Gi" ||
			opts.Resources.Limits.Cpu().String() != "10" {
			t.Errorf("%s: options %+v", name, opts)
		}
	}
	if sa := parseStepFlag(t, "_on_prem_deployment-pipeline.json", "service-account-name"); sa != "pach-deploy" {
		t.Errorf("on-prem deploy service account %q, want pach-deploy", sa)
	}
	if st := parseStepFlag(t, "_on_prem_deployment-pipeline.json", "model-store"); st != pipeline.StorePFS {
		t.Errorf("on-prem deploy model store %q, want pfs", st)
	}
}

func parseStepFlag(t *testing.T, name, flag string) string {
	return parseStep(t, name, readSpec(t, name).Transform.Cmd)(flag)
}

// Ensures the on-premises variants mount the shared checkpoint folder with
// a well-formed JSON patch.
func TestOnPremPodPatch(t *testing.T) {
	for _, name := range []string{"_on_prem_training-pipeline.json", "_on_prem_deployment-pipeline.json"} {
		var ops []struct {
			Op    string         `json:"op"`
			Path  string         `json:"path"`
			Value map[string]any `json:"value"`
		}
		if err := json.Unmarshal([]byte(readSpec(t, name).PodPatch), &ops); err != nil {
			t.Fatalf("%s: pod_patch: %v", name, err)
		}
		if len(ops) != 2 || ops[0].Path != "/volumes/-" || ops[1].Path != "/containers/0/volumeMounts/-" {
			t.Fatalf("%s: pod_patch ops %+v", name, ops)
		}
		host, _ := ops[0].Value["hostPath"].(map[string]any)
		if host["path"] != "/mnt/efs/shared_fs/determined" ||
			ops[1].Value["mountPath"] != "/determined_shared_fs" ||
			ops[0].Value["name"] != ops[1].Value["name"] {
			t.Errorf("%s: pod_patch %+v", name, ops)
		}
	}
}

// Ensures bad deploy flags and a missing model-info.yaml fail with a
// clear message before any cluster or master is contacted (there is none
// here: reaching them would fail differently).
func TestPipelineDeployRejectsBadFlags(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tolerations", "gpu"}, `--tolerations "gpu": entry 1 "gpu": want key=value`},
		{[]string{"--resource-requests", "cpu=two"}, `--resource-requests "cpu=two": cpu="two": not a quantity`},
		{[]string{"--resource-limits", "memory"}, "--resource-limits"},
		{[]string{"--model-store", "ftp://x"}, "--model-store"},
		{[]string{"--input-dir", empty}, "model-info.yaml does not exist"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"pipeline", "deploy", "--deployment-name", "customer-churn"}, tc.args...)
		code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("churn %v: exit %d, stderr %q; want an error containing %q",
				args, code, errb.String(), tc.want)
		}
		if strings.Contains(errb.String(), "in-cluster") || strings.Contains(errb.String(), "master") {
			t.Errorf("churn %v went on to contact the cluster or master: %s", args, errb.String())
		}
	}
}
