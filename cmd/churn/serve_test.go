package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/checkpoint"
	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/nn"
)

// servedCheckpoint trains a small model on generated rows into a
// checkpoint directory named customer-churn and writes 20 more generated
// rows, with labels, to a CSV file.
func servedCheckpoint(t *testing.T) (dir, csvPath string) {
	t.Helper()
	spec := dataset.PDKSpec()
	var buf bytes.Buffer
	if err := dataset.Generate(&buf, 600, 11); err != nil {
		t.Fatal(err)
	}
	tab, _, err := dataset.LoadReaders(spec, true, dataset.Source{Name: "gen.csv", R: &buf})
	if err != nil {
		t.Fatal(err)
	}
	x, err := dataset.Preprocess(spec, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.New(nn.Config{Inputs: x.Cols, Hidden: 8, LR: 1e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := net.TrainBatch(x.X, x.Y); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(t.TempDir(), "customer-churn")
	if err := checkpoint.Write(dir, checkpoint.Metadata{StepsCompleted: 50}, net, spec); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := dataset.Generate(&buf, 20, 12); err != nil {
		t.Fatal(err)
	}
	csvPath = filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csvPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, csvPath
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ensures `churn serve` serves a checkpoint under its directory's name,
// `churn predict` prints ground truth, predictions and accuracy over V1
// and V2 and explains rows, and cancelling the context stops serve cleanly.
func TestServeAndPredict(t *testing.T) {
	dir, rows := servedCheckpoint(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--model", dir, "--host", "127.0.0.1",
			"--http_port", fmt.Sprint(port)}, nil, &bytes.Buffer{}, &serveErr)
	}()
	waitReady(t, url+"/v1/models/customer-churn")

	for _, proto := range []string{"v1", "v2"} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"predict", "--url", url, "--protocol", proto, rows},
			nil, &out, &errOut)
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != 0 || len(lines) != 21 {
			t.Fatalf("predict %s: exit %d, %d lines:\n%s\n%s", proto, code, len(lines), out.String(), errOut.String())
		}
		for _, l := range lines[:20] {
			if !strings.HasPrefix(l, "Ground truth/Predicted: ") {
				t.Errorf("predict %s: line %q", proto, l)
			}
		}
		if !strings.HasPrefix(lines[20], "Accuracy: ") || !strings.Contains(lines[20], "of 20)") {
			t.Errorf("predict %s: last line %q", proto, lines[20])
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"predict", "--url", url, "--explain", "--top", "3", rows},
		nil, &out, &bytes.Buffer{}); code != 0 || strings.Count(out.String(), "logit") != 20 {
		t.Errorf("predict --explain: exit %d:\n%s", code, out.String())
	}

	var errOut bytes.Buffer
	code := run(context.Background(), []string{"predict", "--url", url, "--model_name", "other", rows},
		nil, &bytes.Buffer{}, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "answered 404") {
		t.Errorf("predict unknown model: exit %d: %s", code, errOut.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, serveErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	errOut.Reset()
	code = run(context.Background(), []string{"predict", "--url", url, rows}, nil, &bytes.Buffer{}, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "no answer from") {
		t.Errorf("predict with no server: exit %d: %s", code, errOut.String())
	}
}

// waitReady polls url until it answers 200.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

// ensures serve's options take $PORT when --http_port is absent, default the
// model name to the directory's base name and refuse bad values.
func TestServeOptions(t *testing.T) {
	t.Setenv("PORT", "9123")
	o := serveOptions{modelDir: "/mnt/models/", maxBodyBytes: 1}
	if err := o.Validate(); err != nil || o.port != 9123 || o.modelName != "models" {
		t.Errorf("Validate: %v, port %d, name %q", err, o.port, o.modelName)
	}
	t.Setenv("PORT", "http")
	o = serveOptions{modelDir: "/m", maxBodyBytes: 1}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `$PORT "http"`) {
		t.Errorf("Validate with a bad $PORT: %v", err)
	}
	o = serveOptions{modelDir: "/m", port: 70000, maxBodyBytes: 1}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--http_port 70000") {
		t.Errorf("Validate with port 70000: %v", err)
	}
}
