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
#                            [--profiles N]    (stock: one personalization batch of N rows; default: --downloads)
#                            [--all-or-nothing] (that batch all-or-nothing)
#                            [--euiccs N]      (N more eUICC rows, inserted by SQL, beside the polling devices)
#                            [--orders-only]   (ES2+ orders without downloads: ordering cost at scale)
#                            [--hold-sessions] (downloads stop after AuthenticateClient: their sessions stay open)
#                            [--packages N]    (N more devices associated by AddInitialEim; one campaign queues an
#                                               enable for each; each polls once, runs it and reports the result)
#                            [--nodes N]       (with --postgres: N rspd processes on one database, devices spread
#                                               over them, server CPU summed over all N)
#
# Figures and the commands that produced them are in docs/BENCHMARKS.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=1 nodes=1 hold_sessions="" profiles="" all_or_nothing="" euiccs=0 orders_only="" server_bin="" postgres="" downloads=200 polls=20000 poll_devices=1000 concurrency=16 curve=nist binding=asn1 repeat=1 out="" packages=0
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) postgres=$2; shift 2 ;;
    --downloads) downloads=$2; shift 2 ;;
    --polls) polls=$2; shift 2 ;;
    --poll-devices) poll_devices=$2; shift 2 ;;
    --packages) packages=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --curve) curve=$2; shift 2 ;;
    --binding) binding=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rspd) server_bin=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --profiles) profiles=$2; shift 2 ;;
    --all-or-nothing) all_or_nothing=--all-or-nothing; shift ;;
    --euiccs) euiccs=$2; shift 2 ;;
    --orders-only) orders_only=--orders-only; shift ;;
    --nodes) nodes=$2; shift 2 ;;
    --hold-sessions) hold_sessions=--hold-sessions; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$nodes" = 1 ] || [ -n "$postgres" ] || { echo "run.sh: --nodes needs --postgres (one shared database)" >&2; exit 2; }
template="$repo/../shared/interop/ts48/TS48v5_SAIP2.3_NoBERTLV.der"
[ -f "$template" ] || { echo "run.sh: $template not found (../shared/interop)" >&2; exit 2; }

[ "$build" = 1 ] && (cd "$repo" && cargo build --release --locked -q -p rspd -p rsp-conformance)
rspd=${server_bin:-"$repo/target/release/rspd"}
load="$repo/target/release/rsp-conformance"
work=$(mktemp -d)
out=${out:-$work}
mkdir -p "$out"
server_pids=()
schema=""
cleanup() {
  [ ${#server_pids[@]} -gt 0 ] && kill "${server_pids[@]}" 2>/dev/null
  wait 2>/dev/null || true
  [ -n "$schema" ] && psql -q "$postgres" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for run in $(seq 1 "$repeat"); do
  data="$work/run$run"
  mkdir -p "$data"
  device_ports=() operator_ports=()
  for k in $(seq 1 "$nodes"); do device_ports+=("$(free_port)") operator_ports+=("$(free_port)"); done
  addresses=$(printf '"localhost:%s", ' "${device_ports[@]}")
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
  server_pids=() load_targets=()
  for k in $(seq 0 $((nodes - 1))); do
    # Node 0's config is rspd.toml (the CLI uses it); the others differ only in their ports.
    config="$data/rspd.toml"; [ "$k" = 0 ] || config="$data/rspd-$k.toml"
    cat > "$config" <<TOML
data_dir = "$data/data"
$database
[smdp]
addresses = [${addresses%, }]
[eim]
fqdn = "localhost:${device_ports[0]}"
[device]
listen = "127.0.0.1:${device_ports[$k]}"
[operator]
listen = "127.0.0.1:${operator_ports[$k]}"
[limits]
source_requests_per_sec = 1000000
source_burst = 1000000
eid_requests_per_min = 1000000
eid_burst = 1000000
TOML
    "$rspd" --config "$config" serve > "$data/server-$k.log" 2>&1 &
    server_pids+=($!)
    for _ in $(seq 1 600); do grep -q "operator listener" "$data/server-$k.log" 2>/dev/null && break; sleep 0.1; done
    grep -q "operator listener" "$data/server-$k.log" || { cat "$data/server-$k.log" >&2; exit 1; }
    load_targets+=(--smdp "localhost:${device_ports[$k]}" --eim "https://localhost:${device_ports[$k]}" --server-pid "${server_pids[$k]}")
  done
  "$rspd" --config "$data/rspd.toml" template upload "$template" --type load --name load >/dev/null 2>&1
  python3 - "$data/batch.csv" "${profiles:-$downloads}" "$run" <<'PY'
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
    f.write("iccid,imsi,ki,opc\n")
    for k in range(n):
        body = "8988%03d%012d" % (run, k)
        f.write("%s,00101%010d,%032x,%032x\n" % (body + luhn(body), k, k, k + 1))
PY
  /usr/bin/time -f "%e %U %S" -o "$data/batch.time" \
    "$rspd" --config "$data/rspd.toml" template batch load "$data/batch.csv" $all_or_nothing >/dev/null 2>"$data/batch.err" \
    || { tail -3 "$data/batch.err" >&2; exit 1; }
  /usr/bin/time -f "%e %U %S" -o "$data/seal.time" "$rspd" --config "$data/rspd.toml" audit verify >/dev/null
  read -r wall user sys < "$data/batch.time"
  echo "batch     ${profiles:-$downloads} rows ${all_or_nothing:-(row by row)}: $wall s wall, $(echo "$user + $sys" | bc) s CPU (rspd CLI); audit sealed and verified in $(cut -d' ' -f1 "$data/seal.time") s"
  if [ "$euiccs" -gt 0 ]; then
    columns="eid, euicc_certificate, eim_id, eim_key_curve, counter_value, created_at, updated_at, operator_id"
    if [ -n "$postgres" ]; then
      psql -q "$db_url" -c "INSERT INTO eim_euiccs ($columns)
        SELECT '8904' || lpad(n::text, 28, '0'), '\\x00'::bytea, 'filler', 'nist', 0, 0, 0, 'filler'
        FROM generate_series(1, $euiccs) n; ANALYZE" >/dev/null
    else
      sqlite3 "$data/data/rspd.db" "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $euiccs)
        INSERT INTO eim_euiccs ($columns)
        SELECT '8904' || substr('0000000000000000000000000000' || n, -28, 28), x'00', 'filler', 'nist', 0, 0, 0, 'filler'
        FROM s; ANALYZE;" >/dev/null
    fi
    echo "euiccs    $euiccs filler rows inserted"
  fi
  "$load" load --pki "$data/data/pki" --curve "$curve" "${load_targets[@]}" \
    --operator "localhost:${operator_ports[0]}" --profile-type load --downloads "$downloads" \
    --binding "$binding" --polls "$polls" --poll-devices "$poll_devices" --packages "$packages" \
    --concurrency "$concurrency" $orders_only $hold_sessions ${postgres:+--database-cpu} --json > "$out/run$run.json" || true
  for pid in "${server_pids[@]}"; do
    echo "memory    rspd $pid after the load: $(awk '/^VmRSS|^VmHWM/ {printf "%s %d MB  ", $1, $2 / 1024}' /proc/$pid/status)"
  done
  python3 - "$out/run$run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for p in r["phases"]:
    cpu = p.get("server_cpu_ms_per_operation")
    print(f'{p["phase"]:10} {p["completed"]:7} ok {p["failed"]:5} failed {p["wall_seconds"]:8.2f} s wall'
          + (f'  {cpu:8.3f} ms server CPU/op  {p["operations_per_server_cpu_second"]:9.0f} op per CPU-s' if cpu else '')
          + (f'  {p["database_cpu_ms_per_operation"]:8.3f} ms database CPU/op' if p.get("database_cpu_ms_per_operation") else ''))
    for f in p["functions"]:
        print(f'    {f["function"]:30} p50 {f["p50_ms"]:7.2f}  p99 {f["p99_ms"]:7.2f}  max {f["max_ms"]:7.2f} ms  errors {f["errors"]}')
PY
  kill "${server_pids[@]}"; wait "${server_pids[@]}" 2>/dev/null || true; server_pids=()
  [ -n "$schema" ] && psql -q "$postgres" -c "DROP SCHEMA $schema CASCADE" >/dev/null
  schema=""
done
echo "reports: $out/run*.json"
