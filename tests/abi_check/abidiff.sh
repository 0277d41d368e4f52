#!/usr/bin/env bash
# ctest abidiff:baseline (docs/packaging.md#the-abi-check): the fresh libsonde.so against the
# committed baseline of the published ABI, then a proof that the check tells the two kinds of
# change apart: a stand-in library (probe.c) built against edited copies of sonde.h passes
# abidiff when a member is appended and fails it when the ABI breaks.
#   abidiff.sh SOURCE_DIR GENERATED_DIR LIBSONDE WORK_DIR PROBE_C
set -euo pipefail
src=$1 generated=$2 lib=$3 work=$4 probe=$5
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
command -v abidiff > /dev/null || fail "abidiff missing (Debian abigail-tools; scripts/deps.sh)"
check() { python3 "$src/scripts/abi_check.py" "$@"; }

echo "== libsonde against abi/baseline/libsonde.so.1.abi"
status=0
check "$src/abi/baseline/libsonde.so.1.abi" "$lib" > "$work/libsonde.report" || status=$?
cat "$work/libsonde.report"
[ "$status" = 0 ] || fail "abi_check exit $status: libsonde's ABI changed incompatibly (docs/packaging.md#the-abi-check)"

# variant NAME SED_SCRIPT: sonde.h edited by SED_SCRIPT, the probe built against it, its ABI.
variant() {
  local name=$1 edit=$2
  mkdir -p "$work/$name"
  sed "$edit" "$src/abi/sonde.h" > "$work/$name/sonde.h"
  if [ "$name" != base ] && cmp -s "$src/abi/sonde.h" "$work/$name/sonde.h"; then
    fail "variant $name: the edit changed nothing (sonde.h changed?)"
  fi
  cc -std=c99 -shared -fPIC -g -O2 -fvisibility=hidden -I"$work/$name" -I"$generated" \
    "$probe" -o "$work/$name/libprobe.so"
}
# expect NAME pass|fail: abidiff of the base probe against the variant, as CI runs it.
expect() {
  local name=$1 want=$2 status=0
  check "$work/base/libprobe.so" "$work/$name/libprobe.so" > "$work/$name.report" || status=$?
  echo "-- $name: abi_check exit $status (want $want)"
  if [ "$want" = pass ]; then
    [ "$status" = 0 ] || { cat "$work/$name.report"; fail "$name: an append-only change was refused"; }
  else
    [ "$status" = 1 ] || { cat "$work/$name.report"; fail "$name: an incompatible change passed"; }
  fi
}
variant base ''
# What sonde.h's changelog does for each minor: a function at the end of the table, a field at
# the end of a parameter struct.
variant append_function 's/^} sonde_api;/    int (*probe_appended)(sonde_base *base, uint64_t value);\n} sonde_api;/'
variant append_field 's/^} sonde_diagnostics;/    uint64_t probe_appended;\n} sonde_diagnostics;/'
# What breaks hosts built against the header: a function inserted in the middle of the table,
# a parameter's type changed, a field's type changed (also in sonde_counter, which the inline
# sonde_counter_add reads in the host), the table's last function removed.
variant insert_function 's/^\(    const char \*(\*version)(void);\)$/\1\n    int (*probe_inserted)(void);/'
variant change_signature 's/int (\*count)(sonde_writer \*writer, uint32_t event, uint32_t level, int64_t delta);/int (*count)(sonde_writer *writer, uint32_t event, uint32_t level, int32_t delta);/'
variant change_field 's/^    uint64_t null_argument; /    uint32_t null_argument; /'
variant remove_function '/^    int (\*counter_add)(sonde_counter \*counter, int64_t delta);$/d'
variant change_counter 's/^    uint64_t expect_; /    uint32_t expect_; /'
# Both at once: the append must not hide the break.
variant append_and_change 's/^} sonde_api;/    int (*probe_appended)(void);\n} sonde_api;/; s/int (\*count)(sonde_writer \*writer, uint32_t event, uint32_t level, int64_t delta);/int (*count)(sonde_writer *writer, uint32_t event, uint32_t level, int32_t delta);/'
# History: the ABI 1.0 header (tests/abi/v1_0, vendored from git) to today's grew by appends.
mkdir -p "$work/v1_0"
cc -std=c99 -shared -fPIC -g -O2 -fvisibility=hidden -I"$src/tests/abi/v1_0" "$probe" \
  -o "$work/v1_0/libprobe.so"
status=0
check "$work/v1_0/libprobe.so" "$work/base/libprobe.so" > "$work/v1_0.report" || status=$?
echo "-- the 1.0 header to today's: abi_check exit $status (want pass)"
[ "$status" = 0 ] || { cat "$work/v1_0.report"; fail "1.0 to today's header is not append-only"; }
expect append_function pass
expect append_field pass
expect insert_function fail
expect change_signature fail
expect change_field fail
expect change_counter fail
expect remove_function fail
expect append_and_change fail
echo "PASS"
