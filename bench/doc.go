// Package bench holds the churn product's benchmarks: training speed
// through nn, CSV loading and preprocessing through dataset, the whole
// training trial through trial (seconds, samples per second and the peak
// memory of a `churn train` child process), measured on generated data in
// the original example's schema (dataset.Generate; nothing is downloaded).
// The package has no non-test code; compare.sh runs these benchmarks and
// the Python reference on the same file and prints the ratios, and
// README.md records the latest figures.
//
// Run from the repository root, on one core (the reference runs torch on
// one thread):
//
//	GOMAXPROCS=1 go test ./bench -run '^$' -bench . -benchtime 3x
//	GOMAXPROCS=1 go test ./bench -run '^$' -bench . -benchtime 1x -short  # skips 3.1M rows
//	bench/compare.sh                                                       # Go vs Python
//
// The data are generated with seed 42; CHURN_BENCH_DATA=FILE makes the
// 31,009-row benchmarks read FILE instead (compare.sh points it at the
// file it gives the Python reference).
//
// Every benchmark reports, besides ns/op, the metrics that answer its
// question: samples/s (training rows per second), rows/s and MB/s (CSV
// input), s/run, peak-RSS-MB, and cpu-s/op or cpu-us/op (user+system CPU
// time of the process, steadier than wall time on a shared machine).
//
// Serving latency (the 10-row V1 request, p50/p99) is measured by the serve
// package's own benchmarks (BenchmarkV1PredictInProcess and others), which
// compare.sh runs, and over HTTP by http.sh with wrk.
//
// A CUDA variant of the training benchmarks is in cuda_test.go (build tag
// cuda, which also gives nn's training graphs Gorgonia's tape machine, the
// runner that drives the device): see README.md.
package bench
