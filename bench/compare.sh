#!/usr/bin/env bash
# compare.sh: Go benchmarks and the Python reference on the same generated
# file, in the same run, one core each; prints the Go/Python ratios.
#
# Usage: bench/compare.sh            (from anywhere; needs go, bash, awk)
# Env:   BENCHTIME  go test -benchtime for the Go side (default 3x)
#        HANDLER_N  requests timed by handler_ref.py (default 200; one costs
#                   tens of ms) and 10x that by the Go handler benchmark
#        KEEP=1     keep the work directory
#
# The Python reference lives outside the module, at ../shared/anchors/pyref
# relative to the repository root (train_ref.py, handler_ref.py), with the
# original numscale.json and 10-row sample at ../shared/data/pdk-churn. It
# runs on the Debian interpreter with python3-torch, python3-pandas and
# python3-sklearn.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$root/.." && pwd)/shared
pyref=$shared/anchors/pyref
pydata=$shared/data/pdk-churn
benchtime=${BENCHTIME:-3x}
handler_n=${HANDLER_N:-200}

die() { echo "compare.sh: $*" >&2; exit 1; }

for f in "$pyref/train_ref.py" "$pyref/handler_ref.py" "$pydata/numscale.json" \
	"$pydata/customer_churn_sample.csv"; do
	[[ -f $f ]] || die "missing $f: the Python reference is expected at" \
		"../shared/anchors/pyref and its data at ../shared/data/pdk-churn," \
		"relative to the repository root ($root)"
done

py=
for cand in /usr/bin/python3 python3; do
	if command -v "$cand" >/dev/null &&
		"$cand" -c 'import torch, pandas, sklearn' 2>/dev/null; then
		py=$cand
		break
	fi
done
[[ -n $py ]] || die "no python3 with torch, pandas and sklearn; install" \
	"python3-torch python3-pandas python3-sklearn (Debian) and use /usr/bin/python3"

work=$(mktemp -d)
if [[ ${KEEP:-} != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi
cd "$root"

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(go version)"
echo "== python: $py, torch $("$py" -c 'import torch; print(torch.__version__)')"

go build -o "$work/churn" ./cmd/churn
"$work/churn" data generate --rows 31009 --seed 42 --out "$work/churn.csv" 2>/dev/null
echo "== data: $work/churn.csv, $(wc -c <"$work/churn.csv") bytes, 31009 rows"

echo "== Go benchmarks (GOMAXPROCS=1, -benchtime $benchtime)"
# Two runs: a -bench pattern with a sub-benchmark level does not report
# benchmarks that have none.
for pat in '^(BenchmarkTrain1000|BenchmarkEndToEnd)$' '^BenchmarkLoadPreprocess$/^rows=31009$'; do
	CHURN_BENCH_DATA=$work/churn.csv GOMAXPROCS=1 go test ./bench -run '^$' \
		-bench "$pat" -benchtime "$benchtime"
done | tee "$work/go.txt"
echo "== Go serving benchmark (serve package, GOMAXPROCS=1)"
if ! GOMAXPROCS=1 go test ./serve -run '^$' -bench '^BenchmarkV1PredictInProcess$' \
	-benchtime "$((10 * handler_n))x" | tee "$work/serve.txt"; then
	echo "(serve benchmark failed; the handler ratio is n/a)" | tee "$work/serve.txt"
fi

echo "== Python reference (OMP_NUM_THREADS=1)"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
"$py" "$pyref/train_ref.py" "$pydata/numscale.json" 1000 "$work/churn.csv" \
	| tee "$work/train_ref.json"
"$py" "$pyref/handler_ref.py" "$pydata/numscale.json" "$pydata/customer_churn_sample.csv" \
	"$handler_n" | tee "$work/handler_ref.json"

# metric FILE BENCH UNIT: the value before UNIT on BENCH's line.
metric() {
	awk -v b="$2" -v u="$3" '$1 ~ "^"b"(-[0-9]+)?$" {
		for (i = 2; i <= NF; i++) if ($i == u) { print $(i-1); exit } }' "$1"
}
# pyfield FILE EXPR: a field of a JSON object (EXPR indexes d).
pyfield() { "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

go_train=$(metric "$work/go.txt" BenchmarkTrain1000 ns/op)
go_train_cpu=$(metric "$work/go.txt" BenchmarkTrain1000 cpu-s/op)
go_load=$(metric "$work/go.txt" BenchmarkLoadPreprocess/rows=31009 ns/op)
go_e2e=$(metric "$work/go.txt" BenchmarkEndToEnd s/run)
go_acc=$(metric "$work/go.txt" BenchmarkEndToEnd val_acc)
go_p50=$(metric "$work/serve.txt" BenchmarkV1PredictInProcess p50-us)
py_train=$(pyfield "$work/train_ref.json" 'd["train_s"]')
py_load=$(pyfield "$work/train_ref.json" 'd["load_preprocess_s"]')
py_e2e=$(pyfield "$work/train_ref.json" 'd["total_s"]')
py_acc=$(pyfield "$work/train_ref.json" 'd["final"]["val_acc"]')
py_p50=$(pyfield "$work/handler_ref.json" 'd["p50_ms"]*1000')

# row NAME GO PY NOTE: both figures and their ratio (n/a where missing).
row() {
	awk -v n="$1" -v g="$2" -v p="$3" -v note="$4" 'BEGIN {
		gs = (g == "") ? "n/a" : sprintf("%.4g", g)
		ps = (p == "") ? "n/a" : sprintf("%.4g", p)
		r = (g == "" || p == "") ? "n/a" : sprintf("%.3f", g / p)
		printf "%-26s %12s %12s %8s  %s\n", n, gs, ps, r, note }'
}
echo
echo "== Go/Python, wall time, same machine, same run (lower is better for Go)"
printf "%-26s %12s %12s %8s\n" "measure" "Go" "Python" "Go/Py"
row "train 1000 batches (s)" "$(awk -v v="$go_train" 'BEGIN{ if (v != "") print v/1e9 }')" \
	"$py_train" "Go CPU ${go_train_cpu:-n/a} s; Python train_s excludes validation"
row "load+preprocess (s)" "$(awk -v v="$go_load" 'BEGIN{ if (v != "") print v/1e9 }')" \
	"$py_load" "read, 80/20 split, preprocess both sides"
row "end to end (s)" "$go_e2e" "$py_e2e" \
	"Go adds checkpoints, plots, run.json; Python total_s"
row "10-row handler p50 (us)" "$go_p50" "$py_p50" \
	"Go: V1 handler in-process; Python: handler logic in-process"
echo "val_acc after 1000 batches: Go ${go_acc:-n/a}, Python $py_acc"
