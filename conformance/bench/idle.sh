#!/usr/bin/env bash
# rspd idle cost: starts `rspd serve` with default settings on 127.0.0.1 (SQLite, or a throw-away schema of the
# PostgreSQL database given with --postgres), lets it settle, then reads the CPU time it uses over a quiet window
# (utime + stime from /proc/<pid>/stat; with PostgreSQL also that of this machine's `postgres` processes, so
# PostgreSQL must serve nothing else meanwhile). Prints one line per run: CPU milliseconds and per cent of a core.
#
#   conformance/bench/idle.sh [--postgres URL] [--rspd BINARY] [--settle SECONDS] [--seconds SECONDS] [--repeat N]
#
# Figures and the commands that produced them are in docs/BENCHMARKS.md.
set -euo pipefail
export PGOPTIONS="--client-min-messages=warning"

repo=$(cd "$(dirname "$0")/../.." && pwd)
rspd="$repo/target/release/rspd" postgres="" settle=8 seconds=60 repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) postgres=$2; shift 2 ;;
    --rspd) rspd=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "idle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$rspd" ] || { echo "idle.sh: $rspd not found (cargo build --release -p rspd)" >&2; exit 2; }

work=$(mktemp -d)
pid="" schema=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$schema" ] && psql -q "$postgres" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
postgres_ticks() {
  local total=0 p
  for p in $(pgrep -x postgres || true); do total=$((total + $(ticks "$p" 2>/dev/null || echo 0))); done
  echo "$total"
}
hz=$(getconf CLK_TCK)

for run in $(seq 1 "$repeat"); do
  data="$work/run$run"
  mkdir -p "$data"
  database=""
  if [ -n "$postgres" ]; then
    schema="idle_$$_$run"
    psql -q "$postgres" -c "CREATE SCHEMA $schema" >/dev/null
    url="${postgres}$( [[ $postgres == *\?* ]] && echo '&' || echo '?' )options=-c%20search_path%3D$schema"
    database="[database]
url = \"$url\""
  fi
  device=$(free_port) operator=$(free_port)
  cat > "$data/rspd.toml" <<TOML
data_dir = "$data/data"
$database
[smdp]
addresses = ["localhost:$device"]
[device]
listen = "127.0.0.1:$device"
[operator]
listen = "127.0.0.1:$operator"
TOML
  "$rspd" --config "$data/rspd.toml" serve > "$data/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q "operator listener" "$data/server.log" 2>/dev/null && break; sleep 0.1; done
  grep -q "operator listener" "$data/server.log" || { cat "$data/server.log" >&2; exit 1; }
  sleep "$settle"
  a=$(ticks "$pid") pa=$(postgres_ticks)
  sleep "$seconds"
  b=$(ticks "$pid") pb=$(postgres_ticks)
  python3 - "$a" "$b" "$pa" "$pb" "$hz" "$seconds" "${postgres:+1}" <<'PY'
import sys
a, b, pa, pb, hz, secs = (int(x) for x in sys.argv[1:7])
ms = (b - a) * 1000 / hz
line = f"idle      rspd {ms:6.0f} ms CPU in {secs} s = {ms / 10 / secs:.3f} % of a core"
if sys.argv[7:] and sys.argv[7] == "1":
    pms = (pb - pa) * 1000 / hz
    line += f"; PostgreSQL {pms:6.0f} ms = {pms / 10 / secs:.3f} %"
print(line)
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  [ -n "$schema" ] && psql -q "$postgres" -c "DROP SCHEMA $schema CASCADE" >/dev/null
  schema=""
done
