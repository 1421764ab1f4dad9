//go:build cuda

package nn

// defaultRunner is the runner training graphs get in a cuda build:
// Gorgonia's tape machine, which puts the graph's values and kernels on
// the device; program runs every op on the CPU.
var defaultRunner newRunnerFunc = newTapeRunner
