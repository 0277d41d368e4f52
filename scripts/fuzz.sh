#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, every library instrumented: -DSONDE_FUZZ=ON) and runs
# each for SONDE_FUZZ_SECONDS (default 1800), from a copy of its seed corpus in fuzz/corpus.
#   bash scripts/fuzz.sh                      every target, 30 minutes each, one after another
#   SONDE_FUZZ_SECONDS=60 bash scripts/fuzz.sh tzif keyfile
#   SONDE_FUZZ_PARALLEL=3 bash scripts/fuzz.sh  three targets at a time (SONDE_FUZZ_NICE: their
#                                               niceness, so that other work keeps the cores)
# A crash stops the script (exit 1) and leaves the input in build-fuzz/findings/. New inputs
# stay in build-fuzz/corpus/<target>; the execs, coverage and corpus size of each run are
# printed (docs/fuzzing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SONDE_FUZZ_SECONDS:-1800}
jobs=${SONDE_JOBS:-2}
all=(config segment abi tzif keyfile snapshot envelope console_config console_http)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
started=$SECONDS
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DSONDE_FUZZ=ON -DSONDE_BENCH=OFF > build-fuzz.cmake.log 2>&1 \
  || { cat build-fuzz.cmake.log; exit 1; }
cmake --build build-fuzz -j"$jobs" "${build_targets[@]}" > build-fuzz.build.log 2>&1 \
  || { tail -n 60 build-fuzz.build.log; exit 1; }
echo "   fuzz targets built in $((SECONDS - started)) s"

mkdir -p build-fuzz/findings
parallel=${SONDE_FUZZ_PARALLEL:-1}
niceness=${SONDE_FUZZ_NICE:-0}

# One target: its run, then one line of figures (execs, coverage, corpus, CPU time). Exit 1 on a
# finding, with the log's end.
fuzz_one() {
  local t=$1 corpus=build-fuzz/corpus/$1 log=build-fuzz/fuzz-$1.log
  mkdir -p "$corpus"
  cp -n fuzz/corpus/$t/* "$corpus"/
  # The console logs every refused request on stderr: closed (-close_fd_mask=2), a crash's
  # report still shows.
  local quiet=()
  [ "$t" = console_http ] && quiet=(-close_fd_mask=2)
  local began=$SECONDS
  # The target's scratch files (a segment, a base, a console's data) go in a folder of its own,
  # removed after the run, whatever the target leaves.
  local scratch
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/sonde-fuzz-$t.XXXXXX")
  if ! TMPDIR=$scratch /usr/bin/time -f '%U %S' -o build-fuzz/fuzz-$t.cpu nice -n "$niceness" \
      build-fuzz/fuzz/fuzz_$t -max_total_time="$seconds" -print_final_stats=1 "${quiet[@]}" \
      -artifact_prefix=build-fuzz/findings/$t- "$corpus" > "$log" 2>&1; then
    rm -rf "$scratch"
    tail -n 40 "$log"
    echo "fuzz $t: a finding, in build-fuzz/findings/" >&2
    return 1
  fi
  rm -rf "$scratch"
  local done_line cpu
  done_line=$(grep -a "DONE" "$log" | tail -n 1)
  cpu=$(awk '{printf "%.0f", $1 + $2}' build-fuzz/fuzz-$t.cpu)
  echo "== fuzz $t: $((SECONDS - began)) s, ${cpu} s of CPU; execs ${done_line%%DONE*} ${done_line#*DONE}; corpus now $(ls "$corpus" | wc -l) inputs"
}

echo "== fuzz ${targets[*]}: $seconds s each, $parallel at a time"
if [ "$parallel" -le 1 ]; then
  for t in "${targets[@]}"; do fuzz_one "$t" || exit 1; done
else
  export -f fuzz_one
  export seconds niceness
  printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'fuzz_one "$1"' _ {} || exit 1
fi
