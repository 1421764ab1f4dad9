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
// # Association order
//
// There is no activation between the two linear layers (as in the original
// recipe), so the logit (x·W1 + b1)·w2 + b2 equals x·(W1·w2) + (b1·w2 + b2).
// The training graph is built in that second order: v = W1·w2 and
// c = b1·w2 + b2 first, then z = x·v + c. The parameters, their
// initialisation, the loss and Adam are unchanged, and Gorgonia's autodiff
// gives the exact gradients of the same function (dv = xᵀ·dz,
// dW1 = outer(dv, w2), dw2 = W1ᵀ·dv + b1·sum(dz)); only float32 rounding
// differs (measured: ~1e-6 relative on a step's gradients, ~1e-8 on losses
// over 200 steps). A step then costs matrix-vector products, about 30
// times fewer flops than the n x inputs x hidden matrix products of the
// other order. If an activation were ever put between the layers, the
// hidden layer would have to be formed again and a step would cost those
// matrix products again (see wireCollapsed in graph.go; Predict and Linear
// rely on the same linearity).
//
// TrainBatch differentiates only with respect to the four parameters; the
// input matrix gets no gradient (its node is pruned from the program) and
// is not copied (the graph reads a view of the caller's batch).
//
// Predict is the one forward pass used by validation and by serving. It
// uses the same linearity: the collapsed weights W1·w2 and intercept
// b1·w2 + b2 are computed in float64 by the first Predict after each
// parameter update (TrainBatch, Read) and rounded to float32; each row is
// then one dot product in a fixed, documented order, so a row's
// probability is bit-identical whatever other rows share the call. It
// allocates nothing and is safe for concurrent use while no TrainBatch
// runs. It agrees with the graph's forward pass within float32 rounding,
// not bit for bit.
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
