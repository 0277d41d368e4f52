#!/usr/bin/env bash
# ctest packaging:packages: CPack builds the Debian packages, they unpack (dpkg -x) into a
# scratch root, the example host builds against that root (CMake package, pkg-config) and
# runs; lintian finds nothing but what docs/packaging.md#lintian explains.
#   packages.sh BUILD_DIR SOURCE_DIR WORK_DIR VERSION
set -euo pipefail
build=$1 src=$2 work=$3 version=$4
rm -rf "$work"
mkdir -p "$work/debs" "$work/root"
fail() { echo "FAIL: $*"; exit 1; }
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/debs" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack"; }
declare -A deb
for p in libsonde1 libsonde-dev sonde-tools sonde-console; do
  deb[$p]=$(find "$work/debs" -maxdepth 1 -name "${p}_${version}*_*.deb" | head -n 1)
  [ -n "${deb[$p]}" ] || fail "no package $p"
  [ "$(dpkg-deb -f "${deb[$p]}" Version)" = "$version" ] || fail "$p: version is not $version"
  echo "== $p: $(dpkg-deb -f "${deb[$p]}" Depends)"
  dpkg -x "${deb[$p]}" "$work/root"
done
# What each package holds and needs (listings kept in variables: grep -q on a pipe would kill
# dpkg-deb early, and pipefail would see it).
declare -A files
for p in "${!deb[@]}"; do files[$p]=$(dpkg-deb -c "${deb[$p]}" | awk '{print $6}'); done
has() { grep -Eq "$2" <<< "${files[$1]}" || fail "$1 lacks $2"; }
has libsonde1 "^\./usr/lib/(.*/)?libsonde\.so\.$version$"
has libsonde1 "^\./usr/lib/(.*/)?libsonde\.so\.${version%%.*}$"
grep -q "include/" <<< "${files[libsonde1]}" && fail "libsonde1 holds headers"
has libsonde-dev "^\./usr/include/sonde/sonde\.h$"
has libsonde-dev "^\./usr/include/sonde/sonde_catalog\.h$"
has libsonde-dev "^\./usr/lib/(.*/)?libsonde\.so$"
has libsonde-dev "/cmake/Sonde/SondeConfigVersion\.cmake$"
has libsonde-dev "/pkgconfig/sonde\.pc$"
has sonde-tools "^\./usr/bin/sonde-ctl$"
has sonde-tools "^\./usr/bin/sonde-uplink$"
has sonde-tools "/systemd/system/sonde-uplink\.service$"
has sonde-tools "^\./usr/share/man/man1/sonde-ctl\.1\.gz$"
has sonde-console "^\./usr/bin/sonde-console$"
has sonde-console "/systemd/system/sonde-console\.service$"
has sonde-console "^\./usr/share/man/man1/sonde-console\.1\.gz$"
for p in "${!deb[@]}"; do has "$p" "^\./usr/share/doc/$p/copyright$"; done
# The binaries are stripped.
file -L "$work/root/usr/bin/sonde-ctl" | grep -q ", stripped" || fail "sonde-ctl is not stripped"
# libsonde1 is self-contained (its dependencies are static and hidden): the C library only.
[[ "$(dpkg-deb -f "${deb[libsonde1]}" Depends)" =~ ^libc6\ \([^\)]*\)$ ]] || fail "libsonde1 needs more than libc6"
dpkg-deb -f "${deb[libsonde-dev]}" Depends | grep -q "libsonde1 (= $version)" || fail "libsonde-dev does not depend on libsonde1 (= $version)"
# dpkg-shlibdeps found the console's shared libraries.
for need in libpq5 libsodium23 libsqlite3-0 libssl3; do
  dpkg-deb -f "${deb[sonde-console]}" Depends | grep -q "$need" || fail "sonde-console does not depend on $need"
done
dpkg-deb -f "${deb[sonde-tools]}" Depends | grep -q "libcurl4" || fail "sonde-tools does not depend on libcurl4"
"$work/root/usr/bin/sonde-ctl" --version | grep -q "^sonde-ctl $version$" || fail "sonde-ctl --version"

# shellcheck source=example.sh
. "$(dirname "$0")/example.sh"
build_and_run_example "$src" "$work/root/usr" "$work" "$version"

if command -v lintian > /dev/null; then
  echo "== lintian"
  # Every tag left is explained, one reason a line, in packaging/lintian-suppressed-tags.
  lintian --suppress-tags-from-file "$src/packaging/lintian-suppressed-tags" --fail-on error,warning \
    "${deb[@]}" || fail "lintian (docs/packaging.md#lintian)"
else
  fail "lintian is not installed (scripts/deps.sh installs it)"
fi
echo "PASS"
