package dataset

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestTmpCPU(t *testing.T) {
	path := "/tmp/gen/g.csv"
	st, _ := os.Stat(path)
	spec := PDKSpec()
	var tab *Table
	runtime.GC()
	c0 := cpuNow()
	const n = 5
	for range n {
		tab, _, _ = Load(spec, true, path)
	}
	c1 := cpuNow()
	runtime.GC()
	c2 := cpuNow()
	for range 20 {
		Preprocess(spec, tab, nil)
	}
	c3 := cpuNow()
	lt := (c1 - c0).Seconds() / n
	pt := (c3 - c2).Seconds() / 20
	t.Logf("load: %.3f cpu-s/op, %.1f MB/cpu-s, %.0f rows/cpu-s", lt, float64(st.Size())/1e6/lt, 31009/lt)
	t.Logf("preprocess: %.4f cpu-s/op, %.0f rows/cpu-s", pt, 31009/pt)
}

func TestTmpPhases(t *testing.T) {
	path := "/tmp/gen/g.csv"
	st, _ := os.Stat(path)
	mb := float64(st.Size()) / 1e6
	measure := func(name string, f func()) {
		runtime.GC()
		c0 := cpuNow()
		for range 4 {
			f()
		}
		d := (cpuNow() - c0).Seconds() / 4
		t.Logf("%-28s %.3f cpu-s/op  %6.1f MB/cpu-s", name, d, mb/d)
	}
	measure("read bytes+sha", func() {
		f, _ := os.Open(path)
		readOnly(f)
		f.Close()
	})
	measure("csv to columns", func() {
		f, _ := os.Open(path)
		csvColumns(f)
		f.Close()
	})
	measure("csv+gota frame", func() {
		f, _ := os.Open(path)
		readSource(Source{Name: path, R: f})
		f.Close()
	})
	spec := PDKSpec()
	measure("full Load", func() { Load(spec, true, path) })
}
