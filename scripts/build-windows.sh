#!/usr/bin/env bash
# Builds the Windows deliverables with MinGW-w64 on Debian 12 (issue 10, docs/windows.md):
# sonde.dll and the headers a host compiles against, sonde-ctl.exe and sonde-uplink.exe, in
# <build dir>/dist; with --test, also runs the Windows tests under Wine through ctest (and the
# persistent wineserver they need).
#   bash scripts/build-windows.sh [--test]
# Environment: SONDE_WINDOWS_BUILD (default build-windows), SONDE_JOBS (default 2),
# SONDE_LINUX_CONSOLE (the Linux sonde-console the uplink tests upload to; default
# build/console/sonde-console, those tests are skipped without it), and those of
# scripts/mingw-deps.sh and scripts/wine-run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SONDE_WINDOWS_BUILD:-build-windows}
jobs=${SONDE_JOBS:-2}
run_tests=0
[ "${1:-}" = --test ] && run_tests=1

t0=$SECONDS
bash scripts/deps-windows.sh
echo "== windows: packages ready after $((SECONDS - t0)) s"
eval "$(bash scripts/mingw-deps.sh)"
echo "== windows: dependencies ready after $((SECONDS - t0)) s ($SONDE_WINDOWS_DEPS_PREFIX)"

console_args=()
[ -n "${SONDE_LINUX_CONSOLE:-}" ] && console_args=(-DSONDE_LINUX_CONSOLE="$(realpath "$SONDE_LINUX_CONSOLE")")
cmake -S . -B "$dir" --toolchain cmake/mingw-w64-x86_64.cmake -DCMAKE_BUILD_TYPE=Release \
  "${console_args[@]}" \
  > "$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
nice -n 19 cmake --build "$dir" -j"$jobs" > "$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; exit 1; }
mkdir -p "$dir/dist"
cp "$dir/plugin/sonde.dll" abi/sonde.h "$dir/generated/sonde_catalog.h" "$dir/tools/sonde-ctl.exe" \
  "$dir/tools/uplink/sonde-uplink.exe" "$dir/dist/"
bash scripts/check-dll-exports.sh "$dir/dist/sonde.dll"
echo "== windows: built in $((SECONDS - t0)) s: $(cd "$dir/dist" && echo *)"

if [ "$run_tests" = 1 ]; then
  # A persistent wineserver first (issue 10: without it each test pays ~3 s and one may hang),
  # stopped whatever the outcome.
  # (wineserver -p fails when the prefix's server already runs: that one is used.)
  bash scripts/wine-run.sh --start > /dev/null 2>&1 < /dev/null || true
  trap 'bash scripts/wine-run.sh --stop > /dev/null 2>&1 || true' EXIT
  # One test at a time, and a failed test run once more: Wine 8.0 loses a thread's wake-up
  # now and then under load (a host stuck in CreateFileW, docs/windows.md, "The intermittent
  # hang"); a test that fails twice fails the stage.
  (cd "$dir" && ctest -j1 --repeat until-pass:2 --output-on-failure --timeout 300)
  echo "== windows: tested under Wine in $((SECONDS - t0)) s"
fi
