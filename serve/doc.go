// Package serve is the churn model's KServe predictor: the V1 and V2 (Open
// Inference Protocol) REST handlers, their metrics and the HTTP server's
// lifecycle, plus a small client for both protocols.
//
// A [Model] is loaded from a checkpoint directory (weights, resolved feature
// spec and metadata), so serving preprocesses requests with the very spec
// and the very code training used: values are parsed as the CSV loader
// parses cells, the preprocessing plan of dataset.Preprocess encodes them
// into pooled storage, then the network's one forward pass,
// nn.Model.Predict. The V1 bodies clients send (a pandas columns table, row
// objects) are read in one pass into dataset.Columns; every other body
// goes through a parse tree into rows of strings and
// dataset.RecordParser.Matrix, with the same result.
//
// Routes (name is the served model's name):
//
//	GET  /                          liveness: {"status": "alive"}
//	GET  /metrics                   Prometheus exposition
//	GET  /v1/models                 {"models": [name]}
//	GET  /v1/models/name            readiness: {"name": name, "ready": true}
//	POST /v1/models/name:predict    {"predictions": [[1.0], [0.0], ...]}
//	POST /v1/models/name:explain    predictions plus per-column contributions
//	GET  /v2                        server metadata
//	GET  /v2/health/live            {"live": true}
//	GET  /v2/health/ready           {"ready": true} once the model is loaded
//	GET  /v2/models/name            model metadata: raw columns as inputs
//	GET  /v2/models/name/ready      {"name": name, "ready": true}
//	POST /v2/models/name/infer      outputs "probability" (FP32), "label" (INT64)
//
// Every error answer is {"error": "..."} with the status KServe uses: 400
// for a malformed body or a bad value (naming the field, column and row),
// 404 for an unknown model or route, 405 for a wrong method, 413 for a body
// or a number of rows over the limit, 415 for a Content-Type that cannot be JSON (none, JSON
// types, text/plain and curl's default form type are read as JSON), 501
// for model versions, 503 while the model is not loaded or when more
// requests are in flight than the server admits. No input a client sends
// gets a 5xx otherwise: serve/testdata/hostile holds the corpus that
// checks it.
package serve
