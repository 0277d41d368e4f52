#!/usr/bin/env bash
# The test command (README, CI): installs what it needs, then builds and runs every test in
# a Release build and under AddressSanitizer+UndefinedBehaviorSanitizer, the concurrent ones
# under ThreadSanitizer, replays and briefly runs the fuzzers, and checks formatting.
#   SONDE_QUICK=1 bash scripts/test.sh   # the Release build and its tests only
#   SONDE_SKIP_WINDOWS=1 bash scripts/test.sh   # without the Windows stage (MinGW, Wine)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
echo "== dependencies ready after $SECONDS s"
# The console's tests run against SQLite and again against PostgreSQL (console-pg:*): Debian's
# cluster, started if needed, a role and a database for the tests (scripts/postgres.sh). Here a
# missing server fails those tests instead of skipping them.
SONDE_TEST_POSTGRES=$(bash scripts/postgres.sh)
export SONDE_TEST_POSTGRES SONDE_REQUIRE_POSTGRES=1
echo "== PostgreSQL ready after $SECONDS s: $SONDE_TEST_POSTGRES"
jobs=$(nproc)

# Every build (Release, the sanitizers', the fuzzers', the Windows tree) goes through ccache, its
# cache kept between runs beside the MinGW dependencies' (~/.cache/sonde): a machine's second
# run recompiles only what changed. A fresh machine pays a few percent for filling it.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/sonde/ccache} CCACHE_BASEDIR=$PWD CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
ccache --zero-stats > /dev/null

# Each stage's tests write their scratch (segments, bases, spools, the shim's oracle arena) in a
# temporary folder of the stage's own (TMPDIR), removed after the stage, so that a test killed
# by its timeout cannot leave files for the next stage or the next run. What was left there, and
# the disk space free, are printed: a full disk fails tests in ways that look like their own.
scratch=
scratch_begin() {
  scratch=$(mktemp -d "${SONDE_CI_TMP:-/tmp}/sonde-ci-$1.XXXXXX")
  export TMPDIR=$scratch
}
scratch_end() {
  local left
  left=$(find "$scratch" -mindepth 1 -maxdepth 1 | wc -l)
  echo "   left in its temporary folder: $left entries, $(du -sh "$scratch" | cut -f1); disk free: $(df -h --output=avail "$scratch" | tail -n 1 | tr -d ' ')"
  rm -rf "$scratch"
  scratch=
  unset TMPDIR
}
trap '[ -z "$scratch" ] || rm -rf "$scratch"' EXIT
echo "== disk free: $(df -h --output=avail . | tail -n 1 | tr -d ' ') here, $(df -h --output=avail "${SONDE_CI_TMP:-/tmp}" | tail -n 1 | tr -d ' ') in ${SONDE_CI_TMP:-/tmp}"

# configure_and_build DIR "TARGETS (empty: all)" CMAKE_ARGS...
configure_and_build() {
  local dir=$1 targets=$2; shift 2
  echo "== build $dir ${targets:-all} $*"
  local started=$SECONDS
  # A -DCMAKE_BUILD_TYPE in "$@" comes later on the command line, so it wins.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$dir.cmake.log" 2>&1 || { cat "$dir.cmake.log"; exit 1; }
  local target_args=()
  for t in $targets; do target_args+=(--target "$t"); done
  cmake --build "$dir" -j"$jobs" "${target_args[@]}" > "$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log"; exit 1; }
  echo "   built in $((SECONDS - started)) s"
}

# The whole suite runs on a Release build (-O3), the build type bench/README.md uses and the
# one GCC 12 warns most about (-Werror holds there too). Developers' default build type,
# RelWithDebInfo (-O2 -g), differs only in optimisation level and debug information; building
# both here would cost CI six minutes for no test that could fail differently.
configure_and_build build-release "" -DCMAKE_BUILD_TYPE=Release
# Tests run two at a time: each one has its own directories (the shim's too). The browser
# tests (headless Chromium on the console's pages, tests/browser) must run here, not be skipped.
# Among them, on this complete Release tree (docs/packaging.md): packaging:install (cmake
# --install into a scratch prefix, the example built against it with CMake and pkg-config),
# packaging:packages (cpack's Debian packages unpacked with dpkg -x, the example built against
# them, lintian), man:pages, and abidiff:baseline (the library against abi/baseline/, and the
# proof that the check passes appends and fails breaks).
scratch_begin release
(cd build-release && SONDE_REQUIRE_BROWSER=1 ctest -j"$jobs" --output-on-failure --timeout 300)
scratch_end

if [ "${SONDE_QUICK:-0}" != 1 ]; then
  configure_and_build build-asan "" -DSONDE_SANITIZE=address,undefined -DSONDE_BENCH=OFF
  # handle_sigbus=0: the plugin's own SIGBUS guard (a truncated segment file) is under test;
  # the sanitizers' handler would otherwise report the fault first.
  # The school-year replay (two minutes in Release, ten under ASan) runs in the Release build
  # only: the week replays exercise the same code under the sanitizers. So do the browser
  # tests: the console's pages under ASan are driven by tests/console (console:pages_*,
  # accounts).
  scratch_begin asan
  # intercept_tls_get_addr=0: GCC 12's sanitizer runtime guesses a dynamic TLS block's bounds
  # from a glibc < 2.25 header whenever the block's address is 16 modulo 4096; on glibc 2.36
  # the two words before a malloc'd block are not that header, LeakSanitizer scans a garbage
  # range at exit and its tracer crashes ("Tracer caught signal 11"). Which process meets it
  # depends on heap layout, so a test that passes becomes a fatal error under another TMPDIR
  # (ctl:open and audit bound... failed that way in CI, twice in a row, and reproduced here
  # every time with the CI stage's TMPDIR). Without the interception, dynamic TLS is not a
  # root of the leak scan: that can only add leak reports, never hide one.
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:handle_sigbus=0:intercept_tls_get_addr=0 ctest -j"$jobs" --output-on-failure --timeout 900 -E '^shim_school_year|^browser:')
  scratch_end

  # ThreadSanitizer: the concurrent parts (recording across threads and processes, the
  # watcher and shipper threads, the shim's hosts, the console's journal and its group commit).
  configure_and_build build-tsan "sonde sonde_abi_tests sonde_abi_child sonde_unit_tests sonde-shim sonde_console_tests" \
    -DSONDE_SANITIZE=thread -DSONDE_BENCH=OFF
  scratch_begin tsan
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1:handle_sigbus=0 ctest -j"$jobs" --output-on-failure --timeout 600 -R '^abi:|^unit:|^shim_(week|crash)$|^console:journal: concurrent')
  scratch_end

  # libFuzzer, every library instrumented (SONDE_FUZZ): each target briefly; scripts/fuzz.sh
  # runs them for longer.
  # 10 s each: nine targets, and CI stays under 45 minutes (docs/fuzzing.md has 30-minute runs).
  scratch_begin fuzz
  SONDE_FUZZ_SECONDS=10 bash scripts/fuzz.sh
  scratch_end

  # Windows (docs/windows.md): sonde.dll built with MinGW-w64, its tests run under Wine.
  # SONDE_SKIP_WINDOWS=1 skips the stage (3 to 5 minutes more on a new machine, for the
  # MinGW dependencies; docs/windows.md has the measured times).
  if [ "${SONDE_SKIP_WINDOWS:-0}" != 1 ]; then
    started=$SECONDS
    # The uplink tests under Wine upload to the Release build's sonde-console (Linux).
    scratch_begin windows
    SONDE_LINUX_CONSOLE=build-release/console/sonde-console SONDE_JOBS=$jobs \
      bash scripts/build-windows.sh --test
    scratch_end
    echo "   windows stage in $((SECONDS - started)) s"
  fi

  echo "== clang-format"
  git ls-files '*.cc' '*.hpp' '*.h' '*.c' | grep -v '^build' | xargs clang-format --dry-run --Werror
fi
echo "== ccache this run:"; ccache --show-stats | grep -E "^(Cacheable calls|  Hits|  Misses)" || true
echo "== all tests passed in $SECONDS s"
