// Package nn is the churn classifier: Linear(inputs, hidden) ->
// Linear(hidden, 1) -> Sigmoid, trained on binary cross-entropy with Adam,
// in float32, with the graph and its gradients built by Gorgonia. Gorgonia
// types never leave this package: callers see row-major float32 slices.
//
// # Semantics
//
// The recipe follows PyTorch's defaults so that a Go run and the reference
// Python run are the same experiment:
//   - initialisation: every weight and bias is drawn from
//     U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what nn.Linear's kaiming_uniform
//     with a=sqrt(5) reduces to), from a local source seeded by Config.Seed;
//   - loss: mean binary cross-entropy with each log clamped at -100, and the
//     gradient of torch's BCELoss, (p-y)/max(p(1-p), 1e-12)/n;
//   - optimiser: torch.optim.Adam (see adam.go for the operation order).
//
// TrainBatch differentiates only with respect to the four parameters; the
// input matrix gets no gradient (its node is pruned from the program).
//
// Predict is the one forward pass used by validation and by serving. It is
// pure Go over the float32 parameters, allocation-free and safe for
// concurrent use while no TrainBatch runs. It agrees with the graph's forward
// pass within float32 rounding (summation order differs from the BLAS
// kernel), not bit for bit.
//
// # File format
//
// WriteTo writes, all integers and floats little-endian:
//
//	offset size  field
//	0      8     magic "CHURNNN\x00"
//	8      4     format version (uint32), currently 1
//	12     4     inputs (uint32)
//	16     4     hidden (uint32)
//	20     8     learning rate (float64)
//	28     8     beta1 (float64)
//	36     8     beta2 (float64)
//	44     8     eps (float64)
//	52     8     seed (int64)
//	60     8     Adam step count (uint64)
//	68     4*P   parameters (float32): W1 [hidden][inputs], B1 [hidden],
//	             W2 [hidden], B2, with P = hidden*inputs + 2*hidden + 1
//	..     4*P   Adam first moments, same layout
//	..     4*P   Adam second moments, same layout
//	..     4     CRC-32 (Castagnoli) of every preceding byte
//
// Read checks the magic, the version, the shapes (1 <= inputs, hidden and
// P <= 1<<26), the optimiser settings, the checksum, that parameters and
// moments are finite (and second moments non-negative), and that nothing
// follows the checksum.
package nn
