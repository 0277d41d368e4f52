#!/usr/bin/env bash
# Proves the Windows toolchain of issue 10 end to end (docs/windows.md), and times each step:
#   1. installs MinGW-w64 and Wine (scripts/deps-windows.sh) and the Linux packages (deps.sh);
#   2. builds or reuses the static zstd, mbedTLS and protobuf-lite (scripts/mingw-deps.sh);
#   3. cross-compiles scripts/windows-smoke/smoke.cc with cmake/mingw-w64-x86_64.cmake and
#      checks that the .exe imports Windows' own DLLs only (no MinGW runtime DLL);
#   4. starts the private Wine prefix (scripts/wine-run.sh --start) and runs the test with
#      ctest, through the toolchain's CMAKE_CROSSCOMPILING_EMULATOR;
#   5. builds the same program for Linux and checks that both print the same digests of the
#      same zstd frames and protobuf encodings (the same bytes on both platforms).
# Build folders: build-windows and build-windows-linux (SONDE_WINDOWS_BUILD changes the first;
# the second gets "-linux" appended). SONDE_JOBS: parallel jobs (default 2). Everything heavy
# runs under nice -n 19.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SONDE_JOBS:-2}
win=${SONDE_WINDOWS_BUILD:-build-windows}
lin=$win-linux
step=$SECONDS
lap() { echo "== $1: $((SECONDS - step)) s"; step=$SECONDS; }

bash scripts/deps.sh
bash scripts/deps-windows.sh
lap "packages"
eval "$(bash scripts/mingw-deps.sh)"
lap "dependencies (scripts/mingw-deps.sh)"

build() {  # DIR CMAKE_ARGS...
  local dir=$1
  shift
  nice -n 19 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSONDE_BENCH=OFF "$@" \
    > "$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
  nice -n 19 cmake --build "$dir" -j"$jobs" --target sonde_windows_smoke > "$dir.build.log" 2>&1 ||
    { tail -n 60 "$dir.build.log"; exit 1; }
}
build "$win" --toolchain cmake/mingw-w64-x86_64.cmake
exe=$win/scripts/windows-smoke/sonde_windows_smoke.exe
lap "Windows build"

# Windows' own DLLs only: a libstdc++-6, libgcc_s_seh-1 or libwinpthread-1 import would mean
# the static runtime flags of the toolchain file were lost.
imports=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' | tr 'A-Z' 'a-z')
echo "imports: $(echo $imports)"
for dll in $imports; do
  case "$dll" in
    kernel32.dll | msvcrt.dll | advapi32.dll | bcrypt.dll | ws2_32.dll | user32.dll | ntdll.dll) ;;
    *) echo "FAIL: $exe imports $dll" >&2; exit 1 ;;
  esac
done

bash scripts/wine-run.sh --start
trap 'bash scripts/wine-run.sh --stop' EXIT  # the persistent wineserver ends with this script
lap "Wine prefix and wineserver"
(cd "$win" && ctest -R '^windows:' --output-on-failure --timeout 300)
lap "tests under Wine"

build "$lin"
lap "Linux build"
# Wine's msvcrt writes stdout in text mode (\r\n): compare the lines, not the line ends.
bash scripts/wine-run.sh "$exe" --print | tr -d '\r' > "$win/smoke-print.txt"
"$lin/scripts/windows-smoke/sonde_windows_smoke" --print > "$lin/smoke-print.txt"
[ "$(wc -l < "$lin/smoke-print.txt")" -eq 5 ] || { echo "FAIL: --print gave no digests" >&2; exit 1; }
if ! diff "$lin/smoke-print.txt" "$win/smoke-print.txt"; then
  echo "FAIL: Windows and Linux bytes differ" >&2
  exit 1
fi
echo "same bytes on Windows (Wine) and Linux:"
cat "$win/smoke-print.txt"
lap "comparison with Linux"
echo "== windows smoke passed in $SECONDS s"
