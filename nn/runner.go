//go:build !cuda

package nn

// defaultRunner is the runner training graphs get: program.
var defaultRunner newRunnerFunc = newProgram
