//go:build cuda

package bench

// This file is compiled only with -tags cuda, which also switches
// Gorgonia to its CUDA backend (gorgonia.org/cu, cgo, the CUDA toolkit's
// headers and libcuda at link time). The default build never sees it.

import (
	"math"
	"testing"

	"gorgonia.org/cu"

	"github.com/churn-pdk/churn/nn"
)

// requireGPU skips unless a CUDA device is visible, and logs which.
func requireGPU(tb testing.TB) {
	tb.Helper()
	n, err := cu.NumDevices()
	if err != nil || n == 0 {
		tb.Skipf("no CUDA device (count %d, error %v)", n, err)
	}
	dev, err := cu.GetDevice(0)
	if err != nil {
		tb.Skipf("CUDA device 0: %v", err)
	}
	name, _ := dev.Name()
	tb.Logf("CUDA driver %d, device 0 of %d: %s", cu.Version(), n, name)
}

// BenchmarkTrainBatchCUDA is BenchmarkTrainBatch in a cuda build: Gorgonia
// runs the graph's ops that have CUDA kernels (matrix-vector and outer
// products, element-wise arithmetic) on device 0, and nn's own ops
// (sigmoid, BCE) on the CPU, moving values between them.
func BenchmarkTrainBatchCUDA(b *testing.B) {
	requireGPU(b)
	benchTrain(b, 1)
}

// BenchmarkTrain1000CUDA is BenchmarkTrain1000 in a cuda build.
func BenchmarkTrain1000CUDA(b *testing.B) {
	requireGPU(b)
	benchTrain(b, 1000)
}

// TestTrainBatchCUDA checks that a step on the CUDA backend hands back a
// loss that matches the CPU forward pass (nn.Predict, pure Go) on the same
// parameters: the values made it back from the device.
func TestTrainBatchCUDA(t *testing.T) {
	requireGPU(t)
	const in, hid, n = 139, 32, 512
	m, err := nn.New(nn.Config{Inputs: in, Hidden: hid, LR: 1e-4, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	x, y := make([]float32, n*in), make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	for i := range y {
		y[i] = float32(i % 2)
	}
	p := make([]float32, n)
	if err := m.Predict(x, p); err != nil {
		t.Fatal(err)
	}
	loss, err := m.TrainBatch(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if want := nn.BCE(p, y); math.Abs(loss-want) > 1e-5 {
		t.Errorf("CUDA step loss %v, CPU forward pass gives %v", loss, want)
	}
}
