package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// benchRows is the size of one of the original example's training files.
const benchRows = 31009

// benchFile generates a benchRows-row file in the original schema.
func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "data.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := Generate(f, benchRows, 1); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// BenchmarkLoad measures loading a 31,009-row file: CSV reading, the gota
// frame and value parsing (MB/s from SetBytes, and rows/s).
func BenchmarkLoad(b *testing.B) {
	path, size := benchFile(b)
	spec := PDKSpec()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(spec, true, path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPreprocess measures turning a loaded 31,009-row table into the
// 139-input matrix.
func BenchmarkPreprocess(b *testing.B) {
	path, _ := benchFile(b)
	spec := PDKSpec()
	tab, _, err := Load(spec, true, path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Preprocess(spec, tab, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFromRecords measures a serving-sized request: 10 rows through
// FromRecords and Preprocess.
func BenchmarkFromRecords(b *testing.B) {
	path, _ := benchFile(b)
	recs := readCSVFile(b, path)
	header, rows := recs[0], recs[1:11]
	spec := PDKSpec()
	b.ReportAllocs()
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
}

// BenchmarkGenerate measures writing a 31,009-row synthetic file.
func BenchmarkGenerate(b *testing.B) {
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Generate(&buf, benchRows, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
