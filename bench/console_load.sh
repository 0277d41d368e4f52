#!/usr/bin/env bash
# Load benchmark of sonde-console (issue 9 §4; bench/README.md and docs/delivery.md, "Cost and
# throughput of the console"). Not a test: it prints numbers, it asserts none.
#
#   bench/console_load.sh BUILD_DIR [RUN...]
#
# RUN is one of (default: burst spread):
#   burst        catch-up: every base uploads its whole backlog as fast as the console accepts,
#                the ingestor applying meanwhile (the real catch-up)
#   accept-only  the same with `ingest = off` (acceptance alone), then the console restarted
#                with ingest on, applying the acknowledged backlog alone (ingest alone)
#   spread       each base at its UAI offset inside the 15-minute interval, clock × COMPRESS
#
# Environment: BASES (10000), FILES (10 per base), CONNECTIONS (16 for burst, 64 for spread),
# COMPRESS (10), INTERVALS (spread: 15-minute intervals played, 2), THREADS (the console's
# `threads`, 16), INGEST_BATCH (64), SHARE=1 (burst: bases share connections instead of one
# connection per base), STORE (sqlite; postgresql: a schema per run in the database PG_DSN
# names, by default the test database of scripts/postgres.sh), CACHE (where keys, template and
# sealed pack are kept between runs: BUILD_DIR/console-load), KEEP=1 (keep each run's data
# directory, and its PostgreSQL schema), PERF=DIR (record each console process with
# `perf record -g` into DIR/<run>.<n>.perf.data, for `perf report`).
#
# Needs: BUILD_DIR built with the targets sonde-console sonde-ctl sonde-console-load
# sonde-snapshot-bench (SONDE_BENCH=ON); openssl, python3.
set -euo pipefail
BUILD=$(cd "${1:?usage: bench/console_load.sh BUILD_DIR [burst|accept-only|spread]...}" && pwd)
shift
RUNS=("$@")
[ ${#RUNS[@]} -gt 0 ] || RUNS=(burst spread)
BASES=${BASES:-10000}
FILES=${FILES:-10}
COMPRESS=${COMPRESS:-10}
INTERVALS=${INTERVALS:-2}
THREADS=${THREADS:-16}
INGEST_BATCH=${INGEST_BATCH:-64}
STORE=${STORE:-sqlite}
CACHE=${CACHE:-$BUILD/console-load}
CONSOLE=$BUILD/console/sonde-console
LOAD=$BUILD/bench/sonde-console-load
CTL=$BUILD/tools/sonde-ctl
for b in "$CONSOLE" "$LOAD" "$CTL" "$BUILD/bench/sonde-snapshot-bench"; do
  [ -x "$b" ] || { echo "missing $b: build it first" >&2; exit 2; }
done
mkdir -p "$CACHE"
note() { echo "== $*" >&2; }

# ---- once: TLS certificate, console key, template, simulated bases' keys, sealed files ----
if [ ! -f "$CACHE/cert.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$CACHE/tls.key" -out "$CACHE/cert.pem" -days 30 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
fi
[ -f "$CACHE/console.key" ] || "$CTL" keygen --out "$CACHE/console.key" --public "$CACHE/console.pub" >/dev/null
if [ ! -f "$CACHE/template.pb" ]; then
  note "template: sonde-snapshot-bench (a 1,500-student school's 15-minute snapshot after a week)"
  "$BUILD/bench/sonde-snapshot-bench" "$CACHE/template.pb" >&2
fi
KEYS=$CACHE/keys-$BASES
if [ ! -f "$KEYS/bases.txt" ]; then
  mkdir -p "$KEYS"
  note "$BASES sender public keys"
  "$LOAD" pubkeys --bases "$BASES" --out "$KEYS"
fi
PACK=$CACHE/pack-$BASES-$FILES
if [ ! -f "$PACK" ]; then
  note "sealing $BASES x $FILES files ahead of time (not timed)"
  "$LOAD" seal --bases "$BASES" --files "$FILES" --template "$CACHE/template.pb" \
    --console-public "$CACHE/console.pub" --out "$PACK.tmp"
  mv "$PACK.tmp" "$PACK"
fi

# The storage lines of the console's configuration for the data directory $1. PostgreSQL: a
# schema of its own per run (sonde_load_<data directory>) in PG_DSN's database, default the
# test database of scripts/postgres.sh; dropped after the run unless KEEP=1.
pg() { PGOPTIONS='-c client_min_messages=warning' psql "$@"; }
pg_schema() { echo "sonde_load_$(basename "$1" | tr -c 'a-zA-Z0-9\n' _ | tr 'A-Z' 'a-z')"; }
store_config() {
  case $STORE in
    sqlite) ;;
    postgresql)
      local schema
      schema=$(pg_schema "$1")
      pg "$PG_DSN" -qAt -v ON_ERROR_STOP=1 -c "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null
      echo "store = postgresql"
      echo "postgresql = $PG_DSN options='-c search_path=$schema'" ;;
    *) echo "STORE=$STORE: sqlite or postgresql" >&2; exit 2 ;;
  esac
}
if [ "$STORE" = postgresql ]; then
  PG_DSN=${PG_DSN:-$(bash "$(dirname "$0")/../scripts/postgres.sh")}
fi

PID=
PERF_PID=
PERF_N=0
stop_console() {
  if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=; fi
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi
}
trap stop_console EXIT

# start_console DATA INGEST(on|off)
start_console() {
  local data=$1 ingest=$2
  cat > "$data/console.conf" <<EOF
listen = 127.0.0.1:0
port_file = $data/port
tls_certificate = $CACHE/cert.pem
tls_private_key = $CACHE/tls.key
console_key = $CACHE/console.key
data_dir = $data
threads = $THREADS
ingest = $ingest
ingest_batch = $INGEST_BATCH
max_connections = 1024
max_backlog = 10000000
$(store_config "$data")
EOF
  rm -f "$data/port"
  "$CONSOLE" serve --config "$data/console.conf" 2>>"$data/console.log" &
  PID=$!
  for _ in $(seq 100); do [ -s "$data/port" ] && break; sleep 0.1; done
  [ -s "$data/port" ] || { tail "$data/console.log" >&2; exit 1; }
  URL=https://127.0.0.1:$(cat "$data/port")
  if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    PERF_N=$((PERF_N + 1))
    perf record -q -F 499 -g -p "$PID" -o "$PERF/$run.$PERF_N.perf.data" 2>/dev/null &
    PERF_PID=$!
    sleep 1
  fi
}

# CPU seconds (user+system) of a process
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
hwm_of() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

new_data() {
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/sonde-console-load.XXXXXX")
  local t0=$SECONDS
  printf 'data_dir = %s\nconsole_key = %s\n' "$data" "$CACHE/console.key" > "$data/keys.conf"
  "$CONSOLE" keys import "$KEYS/bases.txt" --config "$data/keys.conf" >/dev/null
  note "registered $BASES keys with \`keys import\` in $((SECONDS - t0)) s"
  echo "$data"
}

lag_of() {  # ingest lag from the snapshots table of data directory $1: applied - received, s
  local query="SELECT applied_unix - received_unix FROM snapshots WHERE status = 'applied'"
  if [ "$STORE" = postgresql ]; then
    # No table yet (nothing applied): no rows.
    pg "$PG_DSN options='-c search_path=$(pg_schema "$1")'" -qAt -c "$query" 2>/dev/null || true
  else
    # No table yet (ingest = off: only the pages' reader opened the file): no rows.
    python3 -c 'import sqlite3, sys
try:
    for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print(r[0])
except sqlite3.OperationalError:
    pass' "$1/figures.sqlite" "$query"
  fi | python3 -c '
import sys
rows = sorted(int(l) for l in sys.stdin if l.strip())
pick = lambda p: rows[min(len(rows) - 1, int(p * (len(rows) - 1) + 0.5))] if rows else -1
print(f"{{\"snapshots_applied\": {len(rows)}, \"lag_p50_s\": {pick(0.5)}, \"lag_p99_s\": {pick(0.99)}, \"lag_max_s\": {pick(1.0)}}}")'
}

report() {  # report NAME DATA CPU0 JSON...
  local name=$1 data=$2 cpu0=$3; shift 3
  local cpu1 hwm
  cpu1=$(cpu_of "$PID"); hwm=$(hwm_of "$PID")
  echo "{\"run\": \"$name\", \"console_cpu_seconds\": $(echo "$cpu1 - $cpu0" | bc), \"console_vmhwm_kib\": $hwm, \"threads\": $THREADS, \"ingest_batch\": $INGEST_BATCH, \"store\": \"$STORE\"}"
  for j in "$@"; do echo "$j"; done
  { [ "$STORE" = postgresql ] || [ -f "$data/figures.sqlite" ]; } && lag_of "$data"
  return 0
}

echo "# sonde-console load, $(date -u +%FT%TZ), $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in "${RUNS[@]}"; do
  DATA=$(new_data)
  case $run in
    burst)
      start_console "$DATA" on
      CPU0=$(cpu_of "$PID")
      J=$("$LOAD" burst --pack "$PACK" --url "$URL" --ca "$CACHE/cert.pem" \
            --connections "${CONNECTIONS:-16}" ${SHARE:+--share})
      report burst "$DATA" "$CPU0" "$J" ;;
    spread)
      start_console "$DATA" on
      CPU0=$(cpu_of "$PID")
      J=$("$LOAD" spread --pack "$PACK" --url "$URL" --ca "$CACHE/cert.pem" \
            --connections "${CONNECTIONS:-64}" --compress "$COMPRESS" --intervals "$INTERVALS")
      report spread "$DATA" "$CPU0" "$J" ;;
    accept-only)
      start_console "$DATA" off
      CPU0=$(cpu_of "$PID")
      J=$("$LOAD" burst --pack "$PACK" --url "$URL" --ca "$CACHE/cert.pem" \
            --connections "${CONNECTIONS:-16}" ${SHARE:+--share} --no-wait)
      report accept-only "$DATA" "$CPU0" "$J"
      stop_console
      start_console "$DATA" on
      CPU0=$(cpu_of "$PID")
      J=$("$LOAD" wait --url "$URL" --ca "$CACHE/cert.pem" --applied $((BASES * FILES)))
      report ingest-only "$DATA" "$CPU0" "$J" ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  stop_console
  if [ -n "${KEEP:-}" ]; then
    note "kept $DATA"
  else
    [ "$STORE" = postgresql ] &&
      pg "$PG_DSN" -qAt -c "DROP SCHEMA IF EXISTS $(pg_schema "$DATA") CASCADE" >/dev/null
    rm -rf "$DATA"
  fi
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
