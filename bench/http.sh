#!/usr/bin/env bash
# http.sh: serving figures over HTTP on loopback. Trains a model on
# generated original-schema rows, starts the predictor build of `churn
# serve` on it and drives it with wrk: the original 10-row V1 request, then
# GET /v2/health/live (a route that does no work: the floor of net/http
# and wrk on this machine). Prints wrk's figures and the server's CPU per
# request and peak RSS.
#
# Usage: bench/http.sh               (needs go and wrk: apt-get install wrk)
# Env:   CONNS        wrk connections, space-separated runs (default "16 4")
#        DURATION     seconds per run (default 10)
#        SERVER_PROCS GOMAXPROCS of the server (default: all cores)
#        BODY         request body (default: the original example's request,
#                     ../shared/data/pdk-churn/request_v1_sample.json)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
body=${BODY:-$root/../shared/data/pdk-churn/request_v1_sample.json}
conns=${CONNS:-16 4}
duration=${DURATION:-10}
port=18941

die() { echo "http.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk not found (Debian: apt-get install wrk)"
[[ -f $body ]] || die "missing request body $body"

work=$(mktemp -d)
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

cd "$root"
go build -o "$work/churn" ./cmd/churn
go build -tags predictor -o "$work/churn-serve" ./cmd/churn
"$work/churn" data generate --rows 31009 --out "$work/data.csv" 2>/dev/null
"$work/churn" train --data "$work/data.csv" --features experiment/features.json \
	--run-dir "$work/run" >/dev/null 2>&1
ckpt=$(sed -n 's/^ *"best_dir": *"\([^"]*\)".*/\1/p' "$work/run/run.json")
[[ -n $ckpt && -d $ckpt ]] || die "no best checkpoint in $work/run/run.json"

GOMAXPROCS=${SERVER_PROCS:-$(nproc)} "$work/churn-serve" serve --model "$ckpt" \
	--model_name churn --http_port "$port" --log-level warn &
pid=$!
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || die "churn serve exited"
	sleep 0.1
done
url=http://127.0.0.1:$port

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # clock ticks
run() { # name, wrk arguments...
	local name=$1 t0 t1 out reqs
	shift
	t0=$(cpu)
	out=$(wrk -t1 -d"${duration}s" --latency "$@")
	t1=$(cpu)
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	printf '%-28s %10s req/s  p50 %8s  p99 %8s  server %5.1f CPU-us/req\n' "$name" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$out")" \
		"$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
			'BEGIN {print d / hz / n * 1e6}')"
}
echo "server GOMAXPROCS=${SERVER_PROCS:-$(nproc)}, wrk -t1, ${duration}s per run"
for c in $conns; do
	WRK_BODY=$body run "V1 predict, $c conns" -c"$c" -s bench/post.lua \
		"$url/v1/models/churn:predict"
	run "health, $c conns" -c"$c" "$url/v2/health/live"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
