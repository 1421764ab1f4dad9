package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/experiment"
	"github.com/churn-pdk/churn/experiment/detfake"
)

// Distinctive secret values: none may appear in any output or file.
const (
	secretPass     = "Pw-SECRET-7f3kZq9"
	secretWrongPw  = "WrongPw-SECRET-55x"
	secretUserTok  = "v2.public.usertok-SECRET-91ab"
	secretSalt     = "-SALT-SECRET-4c2e" // ends every token the fake master hands out
	secretS3Key    = "S3-SECRET-KEY-x8Qm2"
	secretDataPass = "DATA-SECRET-p0Lz"
)

// leakWatch collects everything the flows print and the files they write.
type leakWatch struct {
	out     bytes.Buffer
	secrets []string
}

func (w *leakWatch) churn(t *testing.T, wantCode int, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	args = append(args, "--log-level", "debug")
	code := run(context.Background(), args, nil, &out, &out)
	w.out.Write(out.Bytes())
	if code != wantCode {
		t.Fatalf("churn %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode,
			out.String())
	}
	return out.String()
}

// check fails for every secret found in what was printed.
func (w *leakWatch) check(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range w.secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("secret %q leaked into %s", s, what)
		}
	}
}

// checkTree checks every file under dir, except those skipped (inputs
// the test wrote itself).
func (w *leakWatch) checkTree(t *testing.T, dir string, skip map[string]bool) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || skip[p] {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		w.check(t, p, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// secretFixture writes data, spec, secret files and two configs: one with
// S3 checkpoint storage (its secret key) and one with directory storage;
// both carry data.secrets.
type secretFixture struct {
	dir, csv, spec, passFile, tokFile, s3Config, dirConfig, def string
	inputs                                                      map[string]bool
}

func newSecretFixture(t *testing.T, s3URL string) *secretFixture {
	t.Helper()
	dir := t.TempDir()
	f := &secretFixture{dir: dir, csv: filepath.Join(dir, "data.csv"),
		spec: filepath.Join(dir, "features.json"), passFile: filepath.Join(dir, "pass"),
		tokFile: filepath.Join(dir, "token"), s3Config: filepath.Join(dir, "s3.yaml"),
		dirConfig: filepath.Join(dir, "dir.yaml"), def: filepath.Join(dir, "def")}
	var data bytes.Buffer
	if err := dataset.Generate(&data, 300, 3); err != nil {
		t.Fatal(err)
	}
	head := `hyperparameters: {global_batch_size: 32, random_seed: 1, test_size: 0.2, lr: 0.001, dense1: 4}
searcher: {name: single, metric: val_loss, max_length: {batches: 100}}
min_validation_period: {batches: 50}
entrypoint: ./churn trial
`
	dataLine := fmt.Sprintf("data: {files: [%s], features: %s, secrets: {pachyderm_token: %s}}\n",
		f.csv, f.spec, secretDataPass)
	s3 := fmt.Sprintf("name: churn-s3\n%scheckpoint_storage: {type: s3, bucket: ckpts, "+
		"endpoint_url: %s, access_key: AKIATEST, secret_key: %s}\n%s", head, s3URL,
		secretS3Key, dataLine)
	local := fmt.Sprintf("name: churn-dir\n%scheckpoint_storage: {type: directory, "+
		"container_path: %s}\n%s", head, filepath.Join(dir, "store"), dataLine)
	files := map[string][]byte{f.csv: data.Bytes(), f.passFile: []byte(secretPass + "\n"),
		f.tokFile: []byte(secretUserTok + "\n"), f.s3Config: []byte(s3),
		f.dirConfig: []byte(local), filepath.Join(f.def, "churn"): []byte("#!/bin/sh\n")}
	if err := os.Mkdir(f.def, 0o755); err != nil {
		t.Fatal(err)
	}
	f.inputs = map[string]bool{}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		f.inputs[p] = true
	}
	if err := dataset.PDKSpec().WriteFile(f.spec); err != nil {
		t.Fatal(err)
	}
	return f
}

// runTrialVerbTo runs `churn trial` in process with env at debug level,
// appending its output to out.
func runTrialVerbTo(env map[string]string, out *lockedBuffer) int {
	var b bytes.Buffer
	code := withEnv(env, func() int {
		return run(context.Background(), []string{"trial", "--log-level", "debug"}, nil, &b, &b)
	})
	out.Write(b.Bytes())
	return code
}

// lockedBuffer is a buffer written from the fake master's trial goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// echoMaster answers every request with a 500 whose body echoes the
// request's credentials and body, as a broken master or proxy might.
func echoMaster(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg := fmt.Sprintf("cannot handle %s with %s / %s and body %s", r.URL.Path,
			r.Header.Get("Authorization"), r.Header.Get("Grpc-Metadata-x-allocation-token"), body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":{"code":13,"reason":"Internal","error":%q}}`, msg)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ensures no password or token (DET_PASS, a password file, DET_USER_TOKEN,
// a token file, the session and allocation tokens the master hands out),
// no S3 secret key and no data.secrets value reaches a log line (debug
// level), the output, an error message or a file written: unmanaged
// training on the master, a managed trial, experiment create, model
// register and download, a failed login and a master that echoes the
// credentials into a 500.
func TestSecretsNeverLeak(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("ckpts"); err != nil {
		t.Fatal(err)
	}
	s3 := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3.Close)
	f := newSecretFixture(t, s3.URL)
	trialOut := &lockedBuffer{}
	fake := detfake.New(t, detfake.Options{Password: secretPass, TokenSalt: secretSalt,
		Launch: func(_ context.Context, env map[string]string) int {
			return runTrialVerbTo(env, trialOut)
		}})
	fake.AddUserToken("admin", secretUserTok)
	w := &leakWatch{secrets: []string{secretPass, secretWrongPw, secretUserTok, secretSalt,
		secretS3Key, secretDataPass,
		experiment.HashPassword(experiment.NewSecret(secretPass)).Reveal(),
		experiment.HashPassword(experiment.NewSecret(secretWrongPw)).Reveal()}}
	t.Setenv("DET_MASTER", fake.URL())
	t.Setenv("DET_USER", "admin")
	for _, k := range []string{"DET_PASS", "DET_USER_TOKEN", "DET_PASS_FILE",
		"DET_USER_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Chdir(f.dir) // a stray runs/ directory would land here and be checked

	// Unmanaged training with S3 checkpoint storage, password from a file;
	// a 503 makes the client log its retry (with the error) at debug level.
	fake.Fail("POST", "/api/v1/trials/1/metrics", 503, 1)
	t.Setenv("DET_PASS_FILE", f.passFile)
	w.churn(t, 0, "train", "--master", fake.URL(), "--config", f.s3Config,
		"--external-id", "secret-run")
	t.Setenv("DET_PASS_FILE", "")

	// A managed experiment whose trial runs `churn trial`, token from env.
	t.Setenv("DET_USER_TOKEN", secretUserTok)
	w.churn(t, 0, "experiment", "create", "--config", f.dirConfig, "--follow",
		"--interval", "10ms", f.def)
	t.Setenv("DET_USER_TOKEN", "")

	// Model registry: token from a file, then the password from DET_PASS.
	w.churn(t, 0, "model", "register", "--model", "churn", "--experiment", "2",
		"--token-file", f.tokFile)
	t.Setenv("DET_PASS", secretPass)
	target := filepath.Join(f.dir, "downloaded")
	w.churn(t, 0, "model", "download", "churn@1", target)

	// A failed login, and a master echoing credentials into its errors.
	t.Setenv("DET_PASS", secretWrongPw)
	out := w.churn(t, 1, "model", "register", "--model", "churn", "--experiment", "2")
	if !strings.Contains(out, "invalid credentials") {
		t.Errorf("failed login says %q", out)
	}
	echo := echoMaster(t)
	t.Setenv("DET_PASS", secretPass)
	w.churn(t, 1, "model", "register", "--master", echo.URL, "--model", "m", "--experiment", "1")
	t.Setenv("DET_USER_TOKEN", secretUserTok)
	out = w.churn(t, 1, "model", "download", "--master", echo.URL, "churn@1",
		filepath.Join(f.dir, "never"))
	if !strings.Contains(out, "[REDACTED]") {
		t.Errorf("the echoing master's error reads %q; want the token cut out", out)
	}

	w.check(t, "the verbs' output", w.out.Bytes())
	w.check(t, "the trial's output", trialOut.Bytes())
	if n := w.checkTree(t, f.dir, f.inputs); n < 10 {
		t.Errorf("only %d files written were checked", n)
	}
	checkS3(t, w, backend)
	checkReported(t, w, fake)
	if !bytes.Contains(trialOut.Bytes(), []byte("checkpoint stored")) ||
		!strings.Contains(w.out.String(), "level=DEBUG msg=\"retrying master call\"") {
		t.Error("the flows logged too little: the check would be empty")
	}
}

// checkS3 checks every object the unmanaged run uploaded.
func checkS3(t *testing.T, w *leakWatch, backend *s3mem.Backend) {
	t.Helper()
	objs, err := backend.ListBucket("ckpts", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) < 3 {
		t.Fatalf("S3 holds %d objects, want a checkpoint's files", len(objs.Contents))
	}
	for _, o := range objs.Contents {
		obj, err := backend.GetObject("ckpts", o.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Contents)
		obj.Contents.Close()
		w.check(t, "s3://ckpts/"+o.Key, b)
	}
}

// checkReported checks the checkpoint metadata reported to the master.
func checkReported(t *testing.T, w *leakWatch, fake *detfake.Master) {
	t.Helper()
	for _, exp := range []int{1, 2} {
		for _, tid := range fake.TrialIDs(exp) {
			for _, id := range fake.Trial(tid).Checkpoints {
				b := fmt.Sprint(fake.Checkpoint(id))
				w.check(t, "checkpoint "+id+" as reported to the master", []byte(b))
			}
		}
	}
}
