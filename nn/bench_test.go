package nn

import (
	"math"
	"math/rand"
	"syscall"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// The reference workload: 139 inputs, 32 hidden, batches of 512.
const benchIn, benchHid, benchBatch = 139, 32, 512

func benchModel(b *testing.B) (*Model, []float32, []float32) {
	m := mustNew(b, Config{Inputs: benchIn, Hidden: benchHid, LR: 1e-4, Seed: 42})
	x, y := churnLike(1, 8*benchBatch+100)
	return m, x, y
}

// churnLike draws n rows shaped like the churn features (139 inputs): 19
// standardised numbers, then 14 one-hot groups with one 1 among about 8.6
// columns each, so about 76% of the inputs are zero. The label is random.
func churnLike(seed int64, n int) (x, y []float32) {
	rng := rand.New(rand.NewSource(seed))
	x, y = make([]float32, n*benchIn), make([]float32, n)
	for r := 0; r < n; r++ {
		row := x[r*benchIn : (r+1)*benchIn]
		for i := 0; i < 19; i++ {
			row[i] = float32(rng.NormFloat64())
		}
		for g := 0; g < 14; g++ {
			lo, hi := 19+g*120/14, 19+(g+1)*120/14
			row[lo+rng.Intn(hi-lo)] = 1
		}
		y[r] = float32(rng.Intn(2))
	}
	return x, y
}

// BenchmarkTrainBatchDense is BenchmarkTrainBatch with no zero inputs, the
// worst case for the BLAS kernels (which skip zero multipliers).
func BenchmarkTrainBatchDense(b *testing.B) {
	m := mustNew(b, Config{Inputs: benchIn, Hidden: benchHid, LR: 1e-4, Seed: 42})
	x, y := toyData(1, benchBatch, benchIn)
	for i := range x {
		if x[i] == 0 {
			x[i] = 0.5
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.TrainBatch(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkTrainBatch measures one 512 x 139 training step.
func BenchmarkTrainBatch(b *testing.B) {
	m, x, y := benchModel(b)
	xb, yb := x[:benchBatch*benchIn], y[:benchBatch]
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if _, err := m.TrainBatch(xb, yb); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(cpu.stop()/float64(b.N)*1e6, "cpu-us/op")
}

// BenchmarkTrain1000 measures the reference run: 1000 batches of 512 walked
// in order over 4196 rows, so every ninth batch is a 100-row remainder.
func BenchmarkTrain1000(b *testing.B) {
	m, x, y := benchModel(b)
	b.ReportAllocs()
	var samples int
	cpu := startCPU()
	for b.Loop() {
		batches(x, y, benchIn, benchBatch, 1000, func(xb, yb []float32) {
			samples += len(yb)
			if _, err := m.TrainBatch(xb, yb); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(cpu.stop()/float64(b.N), "cpu-s/op")
}

// cpuClock measures the process's user+system CPU time, a steadier figure
// than wall time on a machine shared with other work.
type cpuClock struct{ start float64 }

func startCPU() cpuClock { return cpuClock{start: cpuSeconds()} }

func (c cpuClock) stop() float64 { return cpuSeconds() - c.start }

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkPredict10 measures Predict on a 10-row request shaped like the
// churn features: 19 standardised numbers, then 14 one-hot groups (one 1
// among about 8.6 columns each).
func BenchmarkPredict10(b *testing.B) {
	m, _, _ := benchModel(b)
	x, _ := churnLike(3, 10)
	out := make([]float32, 10)
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if err := m.Predict(x, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(cpu.stop()/float64(b.N)*1e9, "cpu-ns/op")
}

// BenchmarkGemmFloor times the two matrix products a step would need in
// the hidden-first association order (x·W1 forward, xᵀ·dH backward), with
// gonum's Sgemm on churn-like rows: what a step would cost again if an
// activation were put between the layers (see wireCollapsed).
func BenchmarkGemmFloor(b *testing.B) {
	x, _ := churnLike(1, benchBatch)
	w := make([]float32, benchIn*benchHid)
	h := make([]float32, benchBatch*benchHid)
	dw := make([]float32, benchIn*benchHid)
	for i := range w {
		w[i] = 0.01 * float32(i%7)
	}
	impl := gonum.Implementation{}
	for b.Loop() {
		impl.Sgemm(blas.NoTrans, blas.NoTrans, benchBatch, benchHid, benchIn,
			1, x, benchIn, w, benchHid, 0, h, benchHid)
		impl.Sgemm(blas.Trans, blas.NoTrans, benchIn, benchHid, benchBatch,
			1, x, benchIn, h, benchHid, 0, dw, benchHid)
	}
}
