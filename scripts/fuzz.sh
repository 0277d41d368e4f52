#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, every library instrumented: -DSONDE_FUZZ=ON) and runs
# each for SONDE_FUZZ_SECONDS (default 1800), from a copy of its seed corpus in fuzz/corpus.
#   bash scripts/fuzz.sh                      every target, 30 minutes each, one after another
#   SONDE_FUZZ_SECONDS=60 bash scripts/fuzz.sh tzif keyfile
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
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  cp -n fuzz/corpus/$t/* "$corpus"/
  echo "== fuzz $t ($seconds s)"
  # The console logs every refused request on stderr: closed (-close_fd_mask=2), a crash's
  # report still shows.
  quiet=()
  [ "$t" = console_http ] && quiet=(-close_fd_mask=2)
  if ! build-fuzz/fuzz/fuzz_$t -max_total_time="$seconds" -print_final_stats=1 "${quiet[@]}" \
      -artifact_prefix=build-fuzz/findings/$t- "$corpus" > build-fuzz/fuzz-$t.log 2>&1; then
    tail -n 40 build-fuzz/fuzz-$t.log
    echo "fuzz $t: a finding, in build-fuzz/findings/" >&2
    exit 1
  fi
  done_line=$(grep -a "DONE" build-fuzz/fuzz-$t.log | tail -n 1)
  echo "   execs ${done_line%%DONE*} ${done_line#*DONE}; corpus now $(ls "$corpus" | wc -l) inputs"
done
