package experiment_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/churn-pdk/churn/experiment"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPackModelDefinition ensures the File entries carry modes, types,
// order and content as the SDK sends them, and .detignore is honoured.
func TestPackModelDefinition(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"const.yaml": "name: churn\n", "data/a.csv": "x", "data/keep.csv": "k",
		"sub/deep/f.txt": "f", "logs/run.log": "l", ".git/HEAD": "ref",
		"__pycache__/m.pyc": "c", "x.pyc": "c",
		".detignore": "# comment\n*.csv\n!keep.csv\nlogs/\n/sub/deep/*.txt\n",
	})
	if err := os.WriteFile(filepath.Join(root, "churn"), []byte("ELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := experiment.PackModelDefinition(root, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	byPath := map[string]experiment.File{}
	for _, f := range files {
		got = append(got, f.Path)
		byPath[f.Path] = f
	}
	want := "churn const.yaml data data/keep.csv sub sub/deep"
	if strings.Join(got, " ") != want {
		t.Errorf("paths = %v, want %s", got, want)
	}
	if f := byPath["churn"]; f.Mode != 0o100755 || f.Type != experiment.FileTypeRegular ||
		string(f.Content) != "ELF" || f.Mtime <= 0 || f.UID != 0 {
		t.Errorf("churn entry = %+v, want mode 33261 type 48", f)
	}
	if f := byPath["sub"]; f.Mode&0o170000 != 0o040000 || f.Type != experiment.FileTypeDir ||
		len(f.Content) != 0 {
		t.Errorf("sub entry = %+v, want a directory (type 53)", f)
	}
}

// TestPackModelDefinitionTooBig ensures the size limit names the biggest
// files.
func TestPackModelDefinitionTooBig(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"small": "12", "big.bin": strings.Repeat("x", 100),
		"mid.bin": strings.Repeat("y", 50)})
	_, err := experiment.PackModelDefinition(root, 120)
	var se *experiment.SizeError
	if !errors.As(err, &se) || se.Total != 152 || se.Biggest[0].Path != "big.bin" ||
		!strings.Contains(err.Error(), "big.bin (100)") || !strings.Contains(err.Error(), ".detignore") {
		t.Fatalf("PackModelDefinition over the limit: %v", err)
	}
}

// TestIgnorePatterns ensures the gitignore subset matches as documented.
func TestIgnorePatterns(t *testing.T) {
	ig, err := experiment.ParseIgnore(strings.NewReader(
		"*.log\n!important.log\nbuild/\n/top.txt\ndocs/**/*.md\nfoo?.go\n[ab].dat\n"), ".detignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		dir  bool
		want bool
	}{
		{"a.log", false, true}, {"x/y/a.log", false, true}, {"important.log", false, false},
		{"build", true, true}, {"build", false, false}, {"x/build", true, true},
		{"top.txt", false, true}, {"x/top.txt", false, false},
		{"docs/a.md", false, true}, {"docs/x/y/a.md", false, true}, {"a.md", false, false},
		{"foo1.go", false, true}, {"foo12.go", false, false}, {"a.dat", false, true},
		{"c.dat", false, false}, {".git", true, true}, {"m.pyc", false, true},
		{"shared_fs", true, true}, {"x/shared_fs", true, false},
	} {
		if got := ig.Match(tc.path, tc.dir); got != tc.want {
			t.Errorf("Match(%q, dir %v) = %v, want %v", tc.path, tc.dir, got, tc.want)
		}
	}
	if _, err := experiment.ParseIgnore(strings.NewReader("ok\n[bad\n"), "f"); err == nil ||
		!strings.Contains(err.Error(), "f:2") {
		t.Errorf("ParseIgnore(bad pattern) = %v, want an error at f:2", err)
	}
}

// TestCheckEntrypoint ensures a missing or non-executable ./churn is caught.
func TestCheckEntrypoint(t *testing.T) {
	script := []byte("#!/bin/sh\n")
	exe := []experiment.File{{Path: "churn", Type: experiment.FileTypeRegular, Mode: 0o100755,
		Content: script}}
	plain := []experiment.File{{Path: "churn", Type: experiment.FileTypeRegular, Mode: 0o100644,
		Content: script}}
	cfg := []byte("entrypoint: ./churn trial\n")
	if err := experiment.CheckEntrypoint(cfg, exe); err != nil {
		t.Errorf("CheckEntrypoint(executable) = %v", err)
	}
	if err := experiment.CheckEntrypoint(cfg, plain); err == nil || !strings.Contains(err.Error(), "executable") {
		t.Errorf("CheckEntrypoint(0644) = %v", err)
	}
	self, err := os.ReadFile("/proc/self/exe") // this test binary: linux/amd64 here
	if err != nil {
		t.Skipf("no /proc/self/exe to check a real binary with (not Linux?): %v", err)
	}
	elfExe := []experiment.File{{Path: "churn", Type: experiment.FileTypeRegular, Mode: 0o100755,
		Content: self}}
	if err := experiment.CheckEntrypoint(cfg, elfExe); (err == nil) != (runtime.GOARCH == "amd64") {
		t.Errorf("CheckEntrypoint(%s ELF) = %v", runtime.GOARCH, err)
	}
	macho := []experiment.File{{Path: "churn", Type: experiment.FileTypeRegular, Mode: 0o100755,
		Content: []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}}}
	if err := experiment.CheckEntrypoint(cfg, macho); err == nil ||
		!strings.Contains(err.Error(), "GOOS=linux") {
		t.Errorf("CheckEntrypoint(Mach-O) = %v", err)
	}
	if err := experiment.CheckEntrypoint([]byte("entrypoint: [./churn, trial]\n"), nil); err == nil {
		t.Error("CheckEntrypoint(missing binary) succeeded")
	}
	if err := experiment.CheckEntrypoint([]byte("entrypoint: python3 x.py\n"), nil); err != nil {
		t.Errorf("CheckEntrypoint(python3) = %v", err)
	}
}

// TestReadTrialEnv ensures every missing or malformed variable is named
// and secrets never appear in the error.
func TestReadTrialEnv(t *testing.T) {
	env := map[string]string{"DET_MASTER": "http://m:8080", "DET_TRIAL_ID": "x7",
		"DET_SESSION_TOKEN": "secret-token-value", "DET_HPARAMS": "[1]",
		"DET_STEPS_COMPLETED": "-1"}
	_, err := experiment.ReadTrialEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	msg := fmt.Sprint(err)
	for _, want := range []string{"DET_EXPERIMENT_ID is not set", `DET_TRIAL_ID="x7"`,
		"DET_HPARAMS: not a JSON object", "DET_EXPERIMENT_CONFIG is not set",
		"DET_STEPS_COMPLETED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "secret-token-value") {
		t.Errorf("error shows the token: %s", msg)
	}
}
