#!/usr/bin/env bash
# rspd benchmark: builds the release binaries, starts `rspd serve` on this machine (SQLite, or PostgreSQL with
# --postgres URL), seeds stock through the bulk path (a TS.48 template from ../shared and one personalization batch),
# runs `rsp-conformance load` against it with the server's PID, and prints the report. Only 127.0.0.1 is used; the
# server is stopped at the end. Repeat a run (--repeat N) to give min/median: this machine is shared and noisy.
#
#   conformance/bench/run.sh [--postgres URL] [--downloads N] [--polls N] [--poll-devices N] [--concurrency C]
#                            [--curve nist|brainpool] [--binding asn1|json] [--repeat N] [--out DIR]
#                            [--rspd BINARY]   (another server build, e.g. an earlier commit's, to compare)
#                            [--no-build]      (use target/release as it is)
#
# Figures and the commands that produced them are in docs/BENCHMARKS.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=1 server_bin="" postgres="" downloads=200 polls=20000 poll_devices=1000 concurrency=16 curve=nist binding=asn1 repeat=1 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) postgres=$2; shift 2 ;;
    --downloads) downloads=$2; shift 2 ;;
    --polls) polls=$2; shift 2 ;;
    --poll-devices) poll_devices=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --curve) curve=$2; shift 2 ;;
    --binding) binding=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rspd) server_bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
template="$repo/../shared/interop/ts48/TS48v5_SAIP2.3_NoBERTLV.der"
[ -f "$template" ] || { echo "run.sh: $template not found (../shared/interop)" >&2; exit 2; }

[ "$build" = 1 ] && (cd "$repo" && cargo build --release --locked -q -p rspd -p rsp-conformance)
rspd=${server_bin:-"$repo/target/release/rspd"}
load="$repo/target/release/rsp-conformance"
work=$(mktemp -d)
out=${out:-$work}
mkdir -p "$out"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for run in $(seq 1 "$repeat"); do
  data="$work/run$run"
  mkdir -p "$data"
  device_port=$(free_port) operator_port=$(free_port)
  schema=""
  if [ -n "$postgres" ]; then
    schema="bench_$$_$run"
    psql -q "$postgres" -c "CREATE SCHEMA $schema" >/dev/null
    db_url="${postgres}$( [[ $postgres == *\?* ]] && echo '&' || echo '?' )options=-c%20search_path%3D$schema"
    database="[database]
url = \"$db_url\"
pool_size = 16"
  else
    database=""
  fi
  cat > "$data/rspd.toml" <<TOML
data_dir = "$data/data"
$database
[smdp]
addresses = ["localhost:$device_port"]
[device]
listen = "127.0.0.1:$device_port"
[operator]
listen = "127.0.0.1:$operator_port"
[limits]
source_requests_per_sec = 1000000
source_burst = 1000000
eid_requests_per_min = 1000000
eid_burst = 1000000
TOML
  "$rspd" --config "$data/rspd.toml" serve > "$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do grep -q "operator listener" "$data/server.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "operator listener" "$data/server.log" || { cat "$data/server.log" >&2; exit 1; }
  "$rspd" --config "$data/rspd.toml" template upload "$template" --type load --name load >/dev/null 2>&1
  python3 - "$data/batch.csv" "$downloads" "$run" <<'PY'
import sys
path, n, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def luhn(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)
with open(path, "w") as f:
    f.write("iccid\n")
    for k in range(n):
        body = "8988%03d%012d" % (run, k)
        f.write(body + luhn(body) + "\n")
PY
  "$rspd" --config "$data/rspd.toml" template batch load "$data/batch.csv" >/dev/null 2>&1
  "$load" load --pki "$data/data/pki" --curve "$curve" --smdp "localhost:$device_port" \
    --operator "localhost:$operator_port" --profile-type load --downloads "$downloads" \
    --eim "https://localhost:$device_port" --binding "$binding" --polls "$polls" --poll-devices "$poll_devices" \
    --concurrency "$concurrency" --server-pid "$server_pid" --json > "$out/run$run.json" || true
  python3 - "$out/run$run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["phases"]:
    cpu = p.get("server_cpu_ms_per_operation")
    print(f'{p["phase"]:10} {p["completed"]:7} ok {p["failed"]:5} failed {p["wall_seconds"]:8.2f} s wall'
          + (f'  {cpu:8.3f} ms server CPU/op  {p["operations_per_server_cpu_second"]:9.0f} op per CPU-s' if cpu else ''))
    for f in p["functions"]:
        print(f'    {f["function"]:30} p50 {f["p50_ms"]:7.2f}  p99 {f["p99_ms"]:7.2f}  max {f["max_ms"]:7.2f} ms  errors {f["errors"]}')
PY
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  [ -n "$schema" ] && psql -q "$postgres" -c "DROP SCHEMA $schema CASCADE" >/dev/null
done
echo "reports: $out/run*.json"
