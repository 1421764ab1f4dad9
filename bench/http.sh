#!/usr/bin/env bash
# http.sh: serving figures over HTTP on loopback. Trains a model on
# generated original-schema rows, starts the predictor build of `churn
# serve` on it and drives it with wrk: the original 10-row V1 request, then
# GET /v2/health/live (a route that does no work: the floor of the HTTP
# stack and wrk on this machine). Prints wrk's figures and the server's CPU
# per request and peak RSS. A run whose answers are not all 2xx is an
# error, not a figure.
#
# The load generator runs on the same machine, so by default the two are
# kept apart: the server on the last CPU with GOMAXPROCS=1, wrk on CPU 0.
# Unpinned, the kernel now and then runs both busy threads on one CPU for
# a few milliseconds, which shows as a tail of the load generator's making.
#
# Usage: bench/http.sh   (needs go, curl, taskset and wrk: apt-get install wrk)
# Env:   CONNS        wrk connections, space-separated runs (default "4 8 16")
#        DURATION     seconds per run (default 10)
#        PIN          1: pin as above (default with 2 or more CPUs); 0: don't
#        SERVER_PROCS GOMAXPROCS of the server (default: 1 pinned, else all)
#        PORT         the server's port (default 18941; must be free)
#        BODY         request body (default: the original example's request,
#                     ../shared/data/pdk-churn/request_v1_sample.json)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
body=${BODY:-$root/../shared/data/pdk-churn/request_v1_sample.json}
conns=${CONNS:-4 8 16}
duration=${DURATION:-10}
port=${PORT:-18941}
cpus=$(nproc)
pin=${PIN:-$((cpus > 1))}
procs=${SERVER_PROCS:-$(((pin == 1) ? 1 : cpus))}

die() { echo "http.sh: $*" >&2; exit 1; }
for tool in wrk curl go taskset; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install $tool)"
done
[[ -f $body ]] || die "missing request body $body (set BODY to a V1 request for a" \
	"model of the original schema)"
body=$(cd "$(dirname "$body")" && pwd)/$(basename "$body")
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
	die "something already answers on port $port; set PORT"
fi

work=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# step runs a preparation command, showing its output only when it fails.
step() {
	"$@" >"$work/step.log" 2>&1 || { cat "$work/step.log" >&2; die "failed: $*"; }
}

cd "$root"
step go build -o "$work/churn" ./cmd/churn
step go build -tags predictor -o "$work/churn-serve" ./cmd/churn
step "$work/churn" data generate --rows 31009 --out "$work/data.csv"
step "$work/churn" train --data "$work/data.csv" --features experiment/features.json \
	--run-dir "$work/run"
ckpt=$(sed -n 's/^ *"best_dir": *"\([^"]*\)".*/\1/p' "$work/run/run.json")
[[ -n $ckpt && -d $ckpt ]] || die "no best checkpoint in $work/run/run.json"

server_cpu=() wrk_cpu=()
if [[ $pin == 1 ]]; then
	server_cpu=(taskset -c "$((cpus - 1))") wrk_cpu=(taskset -c 0)
fi
GOMAXPROCS=$procs "${server_cpu[@]}" "$work/churn-serve" serve --model "$ckpt" \
	--model_name churn --http_port "$port" --log-level warn &
pid=$!
url=http://127.0.0.1:$port
for _ in $(seq 100); do
	curl -sf "$url/v2/health/ready" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || die "churn serve exited"
	sleep 0.1
done
curl -sf "$url/v2/health/ready" >/dev/null || die "churn serve not ready after 10 s"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "@$body" "$url/v1/models/churn:predict")
[[ $code == 200 ]] || die "the body gets HTTP $code, not 200: $body"

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # clock ticks
run() { # name, wrk arguments...
	local name=$1 t0 t1 out reqs
	shift
	t0=$(cpu)
	out=$("${wrk_cpu[@]}" wrk -t1 -d"${duration}s" --latency -s bench/wrk.lua "$@")
	t1=$(cpu)
	if grep -q 'Non-2xx' <<<"$out"; then
		die "$name: some answers were not 2xx:"$'\n'"$out"
	fi
	reqs=$(awk '/requests in/ {print $1}' <<<"$out")
	[[ ${reqs:-0} -gt 0 ]] || die "$name: no requests completed:"$'\n'"$out"
	printf '%-22s %9s req/s  p50 %8s  p99 %8s  p99.9 %7s  max %7s  server %5.1f CPU-us/req\n' \
		"$name" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
		"$(awk '$1 == "50%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$out")" \
		"$(awk '$1 == "tail" {print $3}' <<<"$out")" \
		"$(awk '$1 == "tail" {print $5}' <<<"$out")" \
		"$(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" \
			'BEGIN {print d / hz / n * 1e6}')"
}
where="server and wrk share all $cpus CPUs"
if [[ $pin == 1 ]]; then
	where="server on CPU $((cpus - 1)), wrk on CPU 0"
fi
echo "server GOMAXPROCS=$procs, $where; wrk -t1, ${duration}s per run"
for c in $conns; do
	WRK_BODY=$body run "V1 predict, $c conns" -c"$c" "$url/v1/models/churn:predict"
	WRK_BODY= run "health, $c conns" -c"$c" "$url/v2/health/live"
done
echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$pid/status")"
