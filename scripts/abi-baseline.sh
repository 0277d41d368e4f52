#!/usr/bin/env bash
# Writes abi/baseline/libsonde.so.1.abi, the ABI the check compares every build against
# (docs/packaging.md#the-abi-check). Run it on a release that changes sonde.h (a new minor),
# after its changelog entry, and commit the result with the release:
#   bash scripts/abi-baseline.sh [BUILD_DIR]     (default build/; built with the release's sources)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
lib=$build/plugin/libsonde.so
[ -f "$lib" ] || { echo "no $lib: build the sonde target first" >&2; exit 1; }
# The exported interfaces only (the two entry points and the types they reach), without paths
# of the machine that built it.
abidw --no-corpus-path --no-comp-dir-path --short-locs --no-elf-needed --drop-undefined-syms \
  --exported-interfaces-only \
  --out-file abi/baseline/libsonde.so.1.abi "$lib"
python3 scripts/abi_check.py abi/baseline/libsonde.so.1.abi "$lib"
echo "wrote abi/baseline/libsonde.so.1.abi"
