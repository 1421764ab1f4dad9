package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churn-pdk/churn/dataset"
	"github.com/churn-pdk/churn/serve"
	"github.com/churn-pdk/churn/trial"
)

// startServe runs `churn serve` with args on a free loopback port until the
// test ends and returns its URL and model name.
func startServe(t *testing.T, name string, args ...string) string {
	t.Helper()
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errOut bytes.Buffer
	args = append([]string{"serve", "--host", "127.0.0.1", "--http_port", fmt.Sprint(port)},
		args...)
	go func() { done <- run(ctx, args, nil, &bytes.Buffer{}, &errOut) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, errOut.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	waitReady(t, url+"/v2/models/"+name)
	return url
}

// genCSV writes rows generated rows (seed 21) to a file, prefix first.
func genCSV(t *testing.T, rows int, prefix string) (path string, lines []string) {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(prefix)
	if err := dataset.Generate(&buf, rows, 21); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

// predictOut runs `churn predict` and returns its exit code, stdout, stderr.
func predictOut(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"predict"}, args...), nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// ensures predict splits rows into batches by count and by bytes, prints
// the same lines whatever the batching, and names the file lines of a
// batch the server refuses.
func TestPredictBatches(t *testing.T) {
	dir, _ := servedCheckpoint(t)
	const limit = 60000 // bytes the server takes; about 35 V1 rows
	url := startServe(t, "customer-churn", "--model", dir, "--max_body_bytes", fmt.Sprint(limit))
	rows, _ := genCSV(t, 300, "")

	code, whole, stderr := predictOut("--url", url, "--batch-bytes", fmt.Sprint(limit), rows)
	lines := strings.Split(strings.TrimSpace(whole), "\n")
	if code != 0 || len(lines) != 301 || !strings.Contains(lines[300], "of 300)") {
		t.Fatalf("predict split by bytes: exit %d, %d lines, last %q: %s",
			code, len(lines), lines[len(lines)-1], stderr)
	}
	for _, proto := range []string{"v1", "v2"} {
		code, out, stderr := predictOut("--url", url, "--protocol", proto, "--batch-size", "7",
			rows)
		if code != 0 || out != whole {
			t.Errorf("predict %s --batch-size 7: exit %d, output differs: %s", proto, code, stderr)
		}
	}
	code, _, stderr = predictOut("--url", url, "--batch-size", "100", rows)
	if code == 0 || !strings.Contains(stderr, "batch of lines 2-101") ||
		!strings.Contains(stderr, "answered 413") ||
		!strings.Contains(stderr, "3 of 3 batches failed, 300 rows not predicted") {
		t.Errorf("predict over the server's limit: exit %d: %s", code, stderr)
	}
	code, _, stderr = predictOut("--url", url, "--batch-bytes", "1000", rows)
	if code == 0 || !strings.Contains(stderr, "line 2: one row makes a") {
		t.Errorf("predict with a row over --batch-bytes: exit %d: %s", code, stderr)
	}
}

// ensures predict reads a CSV with a byte order mark as train does, goes on
// past a refused batch, counts only the predicted rows, and names a bad
// row by its file line.
func TestPredictBOMAndBadRow(t *testing.T) {
	dir, _ := servedCheckpoint(t)
	url := startServe(t, "customer-churn", "--model", dir)
	rows, lines := genCSV(t, 20, "\uFEFF")
	if _, _, err := dataset.Load(dataset.PDKSpec(), true, rows); err != nil {
		t.Fatalf("dataset reads the file: %v", err)
	}
	code, out, stderr := predictOut("--url", url, rows)
	if code != 0 || !strings.Contains(out, "of 20)") {
		t.Fatalf("predict with a BOM: exit %d: %s%s", code, out, stderr)
	}
	// Line 11 (data row 9) gets a value no numeric column takes.
	header := strings.Split(strings.TrimPrefix(lines[0], "\uFEFF"), ",")
	num := dataset.PDKSpec().Numeric[0].Name
	rec := strings.Split(lines[10], ",")
	for j, h := range header {
		if h == num {
			rec[j] = "lots"
		}
	}
	lines[10] = strings.Join(rec, ",")
	if err := os.WriteFile(rows, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"v1", "v2"} {
		code, out, stderr = predictOut("--url", url, "--protocol", proto, "--batch-size", "5",
			rows)
		if code == 0 || !strings.Contains(out, "of 15)") ||
			!strings.Contains(stderr, "line 11 (batch of lines 7-11)") ||
			!strings.Contains(stderr, num) ||
			!strings.Contains(stderr, "1 of 4 batches failed, 5 rows not predicted") {
			t.Errorf("predict %s with a bad row: exit %d:\n%s%s", proto, code, out, stderr)
		}
	}
}

// ensures serve takes a run directory's best checkpoint (found under the
// run even when best_dir points elsewhere), reports --threshold in V2
// metadata and labels rows by it.
func TestServeRunDirAndThreshold(t *testing.T) {
	ck, rows := servedCheckpoint(t)
	runDir := filepath.Join(t.TempDir(), "run-7")
	id := "0b6f6a52-3c63-4a53-9b43-0d4c2f1a9e10"
	if err := os.MkdirAll(filepath.Join(runDir, trial.CheckpointsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ck, filepath.Join(runDir, trial.CheckpointsDir, id)); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(runDir, "nosuch")
	if _, err := checkpointDir(missing); err == nil ||
		!strings.Contains(err.Error(), "--model: stat "+missing+": no such file or directory") {
		t.Errorf("a --model that does not exist: %v", err)
	}
	_, err := checkpointDir(runDir)
	if err == nil || !strings.Contains(err.Error(), "without run.json") {
		t.Errorf("run without run.json: %v", err)
	}
	writeSummary(t, runDir, trial.Summary{Status: "SUCCESS",
		Best: trial.CheckpointRef{ID: "not-there"}, BestDir: "/moved/away"})
	_, err = checkpointDir(runDir)
	if err == nil || !strings.Contains(err.Error(), `best_dir "/moved/away"`) {
		t.Errorf("run whose best checkpoint is gone: %v", err)
	}
	writeSummary(t, runDir, trial.Summary{Status: "SUCCESS",
		Best: trial.CheckpointRef{ID: id}, BestDir: "/moved/away/" + id})

	url := startServe(t, "run-7", "--model", runDir, "--threshold", "0.25")
	c := &serve.Client{BaseURL: url, Model: "run-7"}
	md, err := c.Metadata(context.Background())
	if err != nil || md.Parameters["threshold"] != 0.25 {
		t.Fatalf("metadata: %v, threshold %v", err, md.Parameters["threshold"])
	}
	in, err := readPredictInput(rows)
	if err != nil {
		t.Fatal(err)
	}
	body, err := serve.V2Body(md, "t", in.header, in.records)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Infer(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	probs, _ := resp.Output(serve.OutputProbability)
	labels, _ := resp.Output(serve.OutputLabel)
	if len(probs.Data) != 20 || len(labels.Data) != 20 {
		t.Fatalf("infer: %d probabilities, %d labels", len(probs.Data), len(labels.Data))
	}
	for i := range probs.Data {
		p, _ := probs.Data[i].Float64()
		if want := map[bool]string{true: "1", false: "0"}[p >= 0.25]; labels.Data[i].String() != want {
			t.Errorf("row %d: probability %v, label %s at threshold 0.25", i, p, labels.Data[i])
		}
	}
}

func writeSummary(t *testing.T, dir string, s trial.Summary) {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, trial.SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ensures serve refuses a threshold outside (0, 1).
func TestServeThresholdOption(t *testing.T) {
	for _, v := range []float64{0, 1, -0.2, 1.5} {
		o := serveOptions{modelDir: "/m", maxBodyBytes: 1, threshold: v, thresholdSet: true}
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--threshold") {
			t.Errorf("--threshold %v: %v", v, err)
		}
	}
	o := serveOptions{modelDir: "/m", maxBodyBytes: 1, threshold: 0.3, thresholdSet: true}
	if err := o.Validate(); err != nil {
		t.Errorf("--threshold 0.3: %v", err)
	}
}

// ensures a server's --max_rows refuses a batch of more rows with 413.
func TestServeMaxRows(t *testing.T) {
	dir, _ := servedCheckpoint(t)
	url := startServe(t, "customer-churn", "--model", dir, "--max_rows", "10")
	rows, _ := genCSV(t, 25, "")
	if code, out, stderr := predictOut("--url", url, "--batch-size", "10", rows); code != 0 ||
		strings.Count(out, "\n") != 26 {
		t.Errorf("predict in batches of 10: exit %d, %d lines: %s", code,
			strings.Count(out, "\n"), stderr)
	}
	code, _, stderr := predictOut("--url", url, "--batch-size", "11", rows)
	if code == 0 || !strings.Contains(stderr, "answered 413") ||
		!strings.Contains(stderr, "more than 10 rows") {
		t.Errorf("predict in batches of 11: exit %d: %s", code, stderr)
	}
}
