#!/usr/bin/env bash
# compare.sh: Go benchmarks and the Python reference on the same generated
# file, in the same run, one core each; prints the Go/Python ratios.
#
# Usage: bench/compare.sh            (from anywhere; needs go, bash, awk)
# Env:   BENCHTIME  go test -benchtime for the Go side (default 3x)
#        HANDLER_N  requests timed by handler_ref.py (default 100; one costs
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
handler_n=${HANDLER_N:-100}

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

echo "== Python reference (OMP_NUM_THREADS=1), wall times"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
"$py" "$pyref/train_ref.py" "$pydata/numscale.json" 1000 "$work/churn.csv" \
	| tee "$work/train_ref.json"
"$py" "$pyref/handler_ref.py" "$pydata/numscale.json" "$pydata/customer_churn_sample.csv" \
	"$handler_n" | tee "$work/handler_ref.json"
# The same scripts again with time.perf_counter replaced by
# time.process_time: the same fields, in CPU seconds of the process, which
# a loaded machine disturbs less than wall time.
cpurun() {
	"$py" -c 'import runpy, sys, time
time.perf_counter = time.process_time
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$@"
}
echo "== Python reference, CPU times (process_time)"
cpurun "$pyref/train_ref.py" "$pydata/numscale.json" 1000 "$work/churn.csv" \
	| tee "$work/train_ref_cpu.json"
cpurun "$pyref/handler_ref.py" "$pydata/numscale.json" "$pydata/customer_churn_sample.csv" \
	"$handler_n" | tee "$work/handler_ref_cpu.json"

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
go_load_cpu=$(metric "$work/go.txt" BenchmarkLoadPreprocess/rows=31009 cpu-s/op)
go_e2e=$(metric "$work/go.txt" BenchmarkEndToEnd s/run)
go_e2e_cpu=$(metric "$work/go.txt" BenchmarkEndToEnd cpu-s/op)
go_acc=$(metric "$work/go.txt" BenchmarkEndToEnd val_acc)
go_p50=$(metric "$work/serve.txt" BenchmarkV1PredictInProcess p50-us)
go_req_cpu=$(metric "$work/serve.txt" BenchmarkV1PredictInProcess cpu-us/op)
py_acc=$(pyfield "$work/train_ref.json" 'd["final"]["val_acc"]')

# row NAME GO PY NOTE: both figures and their ratio (n/a where missing).
row() {
	awk -v n="$1" -v g="$2" -v p="$3" -v note="$4" 'BEGIN {
		gs = (g == "") ? "n/a" : sprintf("%.4g", g)
		ps = (p == "") ? "n/a" : sprintf("%.4g", p)
		r = (g == "" || p == "") ? "n/a" : sprintf("%.3f", g / p)
		printf "%-28s %10s %10s %7s  %s\n", n, gs, ps, r, note }'
}
sec() { awk -v v="$1" 'BEGIN { if (v != "") print v / 1e9 }'; }
header() {
	echo
	echo "== Go/Python, $1, same machine, same run (below 1: Go is faster)"
	printf "%-28s %10s %10s %7s\n" "measure" "Go" "Python" "Go/Py"
}
tr=$work/train_ref.json trc=$work/train_ref_cpu.json
hr=$work/handler_ref.json hrc=$work/handler_ref_cpu.json
header "wall time"
row "train 1000 batches (s)" "$(sec "$go_train")" "$(pyfield "$tr" 'd["train_s"]')" \
	"Python train_s excludes validation"
row "load+preprocess (s)" "$(sec "$go_load")" "$(pyfield "$tr" 'd["load_preprocess_s"]')" \
	"read, 80/20 split, preprocess both sides"
row "end to end (s)" "$go_e2e" "$(pyfield "$tr" 'd["total_s"]')" \
	"Go adds checkpoints, plots, run.json"
row "10-row request p50 (us)" "$go_p50" "$(pyfield "$hr" 'd["p50_ms"]*1000')" \
	"Go: V1 handler; Python: handler logic"
header "CPU time"
row "train 1000 batches (s)" "$go_train_cpu" "$(pyfield "$trc" 'd["train_s"]')" ""
row "load+preprocess (s)" "$go_load_cpu" "$(pyfield "$trc" 'd["load_preprocess_s"]')" ""
row "end to end (s)" "$go_e2e_cpu" "$(pyfield "$trc" 'd["total_s"]')" \
	"Python: without interpreter start"
row "10-row request mean (us)" "$go_req_cpu" \
	"$(pyfield "$hrc" '1e6/d["requests_per_s_one_core"]')" ""
echo
echo "val_acc after 1000 batches: Go ${go_acc:-n/a}, Python $py_acc"
