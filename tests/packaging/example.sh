# Sourced by install.sh and packages.sh: builds examples/minimal_host.c against an installed
# Sonde under PREFIX, both with its CMake package and with pkg-config, and runs both builds.
#   build_and_run_example SOURCE_DIR PREFIX WORK_DIR VERSION
build_and_run_example() {
  local src=$1 prefix=$2 work=$3 version=$4
  local lib
  lib=$(find "$prefix" -name libsonde.so.1 | head -n 1)
  [ -n "$lib" ] || { echo "FAIL: no libsonde.so.1 under $prefix"; return 1; }
  local pcdir
  pcdir=$(dirname "$(find "$prefix" -name sonde.pc | head -n 1)")
  local expect="^sonde ${version//./\\.} \\(abi ${version%.*}.*\\): message recorded: base not enabled"
  mkdir -p "$work/conf"

  echo "== the example with find_package(Sonde 1.1 CONFIG)"
  cmake -S "$src/examples" -B "$work/cmake-example" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release > "$work/cmake-example.log" 2>&1 || { cat "$work/cmake-example.log"; return 1; }
  cmake --build "$work/cmake-example" > "$work/cmake-example-build.log" 2>&1 ||
    { cat "$work/cmake-example-build.log"; return 1; }
  # The includes come from the prefix, nothing from the source tree.
  local flags
  flags=$(find "$work/cmake-example" -name flags.make -path "*minimal_host*" -exec cat {} +)
  grep -q -- "$prefix/include/sonde" <<< "$flags" || { echo "FAIL: no $prefix/include/sonde in: $flags"; return 1; }
  if grep -Eq -- "$src/abi( |\$)|/generated( |\$)" <<< "$flags"; then
    echo "FAIL: the example includes from the source or build tree: $flags"; return 1
  fi
  local out
  out=$("$work/cmake-example/minimal_host" "$lib" "$work/conf")
  echo "$out"
  echo "$out" | grep -Eq "$expect" || { echo "FAIL: expected /$expect/"; return 1; }

  echo "== the example with pkg-config ($pcdir)"
  [ "$(PKG_CONFIG_PATH=$pcdir pkg-config --modversion sonde)" = "$version" ] ||
    { echo "FAIL: pkg-config --modversion sonde is not $version"; return 1; }
  PKG_CONFIG_PATH=$pcdir pkg-config --atleast-version 1.1 sonde ||
    { echo "FAIL: pkg-config: not at least 1.1"; return 1; }
  # shellcheck disable=SC2046
  cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags sonde) "$src/examples/minimal_host.c" \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --libs sonde) -ldl -o "$work/pc-example"
  out=$(LD_LIBRARY_PATH=$(dirname "$lib") "$work/pc-example" "$lib" "$work/conf")
  echo "$out"
  echo "$out" | grep -Eq "$expect" || { echo "FAIL: expected /$expect/"; return 1; }

  echo "== find_package(Sonde 2.0) is refused (SameMajorVersion)"
  mkdir -p "$work/v2"
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(v2 LANGUAGES C)\nfind_package(Sonde 2.0 CONFIG REQUIRED)\n' > "$work/v2/CMakeLists.txt"
  if cmake -S "$work/v2" -B "$work/v2/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/v2.log" 2>&1; then
    echo "FAIL: find_package(Sonde 2.0) accepted $version"; return 1
  fi
  grep -q "$version" "$work/v2.log" || { cat "$work/v2.log"; return 1; }
}
