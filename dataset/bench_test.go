package dataset

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Benchmark sizes: one of the original example's training files (31,009
// rows, about 16.5 MB), ten and a hundred times that. The largest is skipped
// under -short. Run with -cpu 1 for figures that another process on the
// machine disturbs least; the cpu-ms/op metric counts the CPU time of every
// thread of the process, so it shows what a parallel stage costs in all.
var benchSizes = []int{31009, 310090, 3100900}

// benchFiles caches the generated files across benchmarks of one run.
var benchFiles = map[int]string{}

// benchFile returns the path of a generated rows-row file in the original
// schema and its size, generating it once per test binary run.
func benchFile(b *testing.B, rows int) (string, int64) {
	b.Helper()
	path, ok := benchFiles[rows]
	if !ok {
		dir, err := os.MkdirTemp("", "dataset-bench")
		if err != nil {
			b.Fatal(err)
		}
		path = filepath.Join(dir, "data.csv")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := Generate(f, rows, 1); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		benchFiles[rows] = path
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// TestMain removes the generated benchmark files.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range benchFiles {
		os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// cpuClock reads the process's user plus system CPU time.
func cpuClock() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sizes runs fn as a sub-benchmark per size, skipping the largest under
// -short, and reports rows/s and the CPU time per operation.
func sizes(b *testing.B, fn func(b *testing.B, rows int)) {
	for _, rows := range benchSizes {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			if testing.Short() && rows > 1e6 {
				b.Skip("3.1 M rows skipped under -short")
			}
			fn(b, rows)
		})
	}
}

// report adds the rows/s and cpu-ms/op metrics for n rows per operation.
func report(b *testing.B, rows int, cpu time.Duration) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkLoad measures Load of a generated file of each size: reading,
// hashing, validating and parsing (MB/s from SetBytes, rows/s).
func BenchmarkLoad(b *testing.B) {
	sizes(b, func(b *testing.B, rows int) {
		path, size := benchFile(b, rows)
		spec := PDKSpec()
		b.SetBytes(size)
		b.ReportAllocs()
		start := cpuClock()
		for b.Loop() {
			if _, _, err := Load(spec, true, path); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rows, cpuClock()-start)
	})
}

// BenchmarkPreprocess measures turning a loaded table of each size into the
// 139-input matrix; MB/s counts the CSV bytes the table came from.
func BenchmarkPreprocess(b *testing.B) {
	benchLoaded(b, func(spec *Spec, tab *Table) error {
		_, err := Preprocess(spec, tab, nil)
		return err
	})
}

// BenchmarkPreprocessSplit measures what a run does after Load: Split (two
// views) and Preprocess of both sides, at the recipe's test size.
func BenchmarkPreprocessSplit(b *testing.B) {
	benchLoaded(b, func(spec *Spec, tab *Table) error {
		tr, va, err := Split(tab, 0.2, 42)
		if err != nil {
			return err
		}
		for _, part := range []*Table{tr, va} {
			if _, err := Preprocess(spec, part, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// benchLoaded runs work on the loaded table of each size, with the CSV
// bytes the table came from as the benchmark's bytes.
func benchLoaded(b *testing.B, work func(*Spec, *Table) error) {
	sizes(b, func(b *testing.B, rows int) {
		path, size := benchFile(b, rows)
		spec := PDKSpec()
		tab, _, err := Load(spec, true, path)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		b.ReportAllocs()
		start := cpuClock()
		for b.Loop() {
			if err := work(spec, tab); err != nil {
				b.Fatal(err)
			}
		}
		report(b, rows, cpuClock()-start)
	})
}

// BenchmarkFromRecords measures a serving-sized request: 10 rows through
// FromRecords and Preprocess.
func BenchmarkFromRecords(b *testing.B) {
	header, rows := requestRows(b)
	spec := PDKSpec()
	b.ReportAllocs()
	start := cpuClock()
	for b.Loop() {
		t, err := FromRecords(spec, "request", header, rows)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Preprocess(spec, t, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64((cpuClock()-start).Microseconds())/float64(b.N), "cpu-us/op")
}

// requestRows returns the header and 10 rows of a generated file.
func requestRows(b *testing.B) ([]string, [][]string) {
	var buf bytes.Buffer
	if err := Generate(&buf, 10, 1); err != nil {
		b.Fatal(err)
	}
	recs := readCSV(b, &buf)
	return recs[0], recs[1:]
}

// BenchmarkGenerate measures writing a 31,009-row synthetic file.
func BenchmarkGenerate(b *testing.B) {
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Generate(&buf, benchSizes[0], 1); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

// readCSV reads all records of r with encoding/csv.
func readCSV(t testing.TB, r io.Reader) [][]string {
	t.Helper()
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// BenchmarkRecordParser measures the serving path a server with one header
// takes: 10 rows through a RecordParser made once, then Preprocess.
func BenchmarkRecordParser(b *testing.B) {
	header, rows := requestRows(b)
	spec := PDKSpec()
	p, err := NewRecordParser(spec, "request", header)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	start := cpuClock()
	for b.Loop() {
		t, err := p.Parse(rows)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Preprocess(spec, t, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64((cpuClock()-start).Microseconds())/float64(b.N), "cpu-us/op")
}
