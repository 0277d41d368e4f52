#!/usr/bin/env bash
# ctest packaging:install: `cmake --install` into a scratch prefix puts every file where
# docs/packaging.md says, and the example host builds (CMake package, pkg-config) and runs
# against the installed library alone.
#   install.sh BUILD_DIR SOURCE_DIR WORK_DIR VERSION
set -euo pipefail
build=$1 src=$2 work=$3 version=$4
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
fail() { echo "FAIL: $*"; exit 1; }
major=${version%%.*}
libdir=$(dirname "$(find "$prefix" -name "libsonde.so.$version" | head -n 1)")
[ -f "$libdir/libsonde.so.$version" ] || fail "no libsonde.so.$version"
[ "$(readlink "$libdir/libsonde.so.$major")" = "libsonde.so.$version" ] || fail "libsonde.so.$major is not a link to libsonde.so.$version"
[ "$(readlink "$libdir/libsonde.so")" = "libsonde.so.$major" ] || fail "libsonde.so is not a link to libsonde.so.$major"
readelf -d "$libdir/libsonde.so.$version" | grep -q "SONAME.*\[libsonde.so.$major\]" || fail "soname is not libsonde.so.$major"
for f in include/sonde/sonde.h include/sonde/sonde_catalog.h bin/sonde-ctl bin/sonde-uplink \
         bin/sonde-console lib/systemd/system/sonde-uplink.service \
         lib/systemd/system/sonde-console.service share/man/man1/sonde-ctl.1.gz \
         share/man/man1/sonde-uplink.1.gz share/man/man1/sonde-console.1.gz \
         share/doc/sonde/packaging.md share/doc/sonde/abi.md \
         share/doc/libsonde1/copyright share/doc/libsonde1/changelog.gz; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
for f in SondeConfig.cmake SondeConfigVersion.cmake SondeTargets.cmake; do
  [ -f "$libdir/cmake/Sonde/$f" ] || fail "$libdir/cmake/Sonde/$f not installed"
done
[ -f "$libdir/pkgconfig/sonde.pc" ] || fail "no sonde.pc"
# The units start the installed binaries (the packages' /usr/bin by default).
grep -q "^ExecStart=/usr/bin/sonde-uplink " "$prefix/lib/systemd/system/sonde-uplink.service" || fail "sonde-uplink.service ExecStart"
grep -q "^ExecStart=/usr/bin/sonde-console " "$prefix/lib/systemd/system/sonde-console.service" || fail "sonde-console.service ExecStart"
# The installed tool runs and knows its version.
"$prefix/bin/sonde-ctl" --version | grep -q "^sonde-ctl $version$" || fail "sonde-ctl --version"
echo "installed into $prefix"

# shellcheck source=example.sh
. "$(dirname "$0")/example.sh"
build_and_run_example "$src" "$prefix" "$work" "$version"
echo "PASS"
