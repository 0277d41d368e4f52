#!/usr/bin/env bash
# Builds the static libraries of the Windows target (x86_64-w64-mingw32, posix thread model)
# from Debian 12's own source packages, and caches them (docs/windows.md, issue 10 §2):
#   zstd (libzstd.a), mbedTLS (libmbedcrypto.a, libmbedx509.a, libmbedtls.a), protobuf-lite
#   (libprotobuf-lite.a; the build machine's protoc generates the code), libcurl (libcurl.a,
#   HTTP(S) over Schannel, for the uplink).
# The source versions are those of the Linux packages the project builds with (libzstd-dev,
# libmbedtls-dev, libprotobuf-dev, libcurl4-openssl-dev), so both platforms run the same code. They are fetched
# with `apt-get source` through a private deb-src list and private index folders: the
# system's apt configuration and indexes are not touched. The deb-src entries are those of
# the Debian archives the system already uses (apt-get indextargets).
#
#   eval "$(bash scripts/mingw-deps.sh)"    # prints export SONDE_WINDOWS_DEPS_PREFIX=...
#
# The prefix is ${SONDE_WINDOWS_DEPS:-~/.cache/sonde/mingw-deps}/<key>, where <key> hashes the
# source versions, the cross compiler's version, the header-only packages' versions and this
# script and the toolchain file. A complete prefix has sonde-deps.stamp (the versions) and is
# reused as it is. It also holds host/include: links to the header-only Boost, Catch2 and
# nlohmann-json of the Linux packages, and CMake package files for the last two.
# Messages go to stderr; only the export line goes to stdout.
# Environment: SONDE_WINDOWS_DEPS (cache folder), SONDE_JOBS (default 2),
# SONDE_WINDOWS_DEPS_STRICT=1 (fail, rather than fall back, when the archive no longer serves
# the exact source version; see below).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SONDE_WINDOWS_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/sonde/mingw-deps}
jobs=${SONDE_JOBS:-2}
toolchain=$root/cmake/mingw-w64-x86_64.cmake
log() { echo "mingw-deps: $*" >&2; }

bash "$root/scripts/deps.sh" >&2
bash "$root/scripts/deps-windows.sh" >&2

# Which sources: the Linux -dev packages' source package and version.
dev_packages=(libzstd-dev libmbedtls-dev libprotobuf-dev libcurl4-openssl-dev)
declare -A want
for p in "${dev_packages[@]}"; do
  read -r src ver < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' "$p")
  want[$p]="$src=$ver"
done
header_versions=$(dpkg-query -W -f='${Package} ${Version}\n' libboost-dev catch2 nlohmann-json3-dev)
compiler_version=$(dpkg-query -W -f='${Package} ${Version}\n' g++-mingw-w64-x86-64-posix)
key_text=$(
  for p in "${dev_packages[@]}"; do echo "$p ${want[$p]}"; done
  echo "$header_versions"
  echo "$compiler_version"
  sha256sum < "$0" | cut -d' ' -f1
  sha256sum < "$toolchain" | cut -d' ' -f1
)
key=$(sha256sum <<< "$key_text" | cut -c1-16)
prefix=$cache/$key
stamp=$prefix/sonde-deps.stamp

mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9  # one build at a time per cache folder

if [ -f "$stamp" ]; then
  log "cached: $prefix"
  grep '^WARNING' "$stamp" >&2 || true
  echo "export SONDE_WINDOWS_DEPS_PREFIX=$prefix"
  exit 0
fi

started=$SECONDS
rm -rf "$prefix"
work=$cache/work-$key
rm -rf "$work"
mkdir -p "$work/src" "$prefix"

# --- sources: a private deb-src list over the archives the system uses ---------------------
apt_dir=$cache/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$apt_dir/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Origin: Debian' \
  'Created-By: Packages' | sort -u |
  while read -r uri release component; do
    echo "deb-src [signed-by=$keyring] $uri $release $component"
  done > "$apt_dir/sources.list"
[ -s "$apt_dir/sources.list" ] || { log "no Debian archive in the system's apt sources"; exit 1; }
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
  -o APT::Sandbox::User=root -qq
)
log "source indexes (private list $apt_dir/sources.list)"
apt-get "${apt_opts[@]}" update >&2

# The exact version first. An archive may no longer serve it (a security update whose source
# the mirror lacks): then the newest version of the same upstream release that it serves,
# with a WARNING in the stamp, unless SONDE_WINDOWS_DEPS_STRICT=1.
declare -A got
warnings=()
for p in "${dev_packages[@]}"; do
  src=${want[$p]%%=*} ver=${want[$p]#*=}
  if (cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only "$src=$ver") \
    > "$work/fetch-$src.log" 2>&1; then
    got[$p]=$ver
    continue
  fi
  grep '^E:' "$work/fetch-$src.log" >&2 || true
  if [ "${SONDE_WINDOWS_DEPS_STRICT:-0}" = 1 ]; then
    log "$src $ver cannot be fetched (SONDE_WINDOWS_DEPS_STRICT=1)"
    exit 1
  fi
  upstream=${ver%-*}
  upstream=${upstream#*:}
  fallback=""
  for v in $(apt-cache "${apt_opts[@]}" showsrc "$src" | sed -n 's/^Version: //p' | sort -u); do
    [ "$v" = "$ver" ] && continue
    u=${v%-*}
    [ "${u#*:}" = "$upstream" ] || continue
    if [ -z "$fallback" ] || dpkg --compare-versions "$v" gt "$fallback"; then fallback=$v; fi
  done
  [ -n "$fallback" ] || { log "no source of $src $upstream can be fetched"; exit 1; }
  (cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only "$src=$fallback" >&2)
  got[$p]=$fallback
  warnings+=("WARNING: $src $ver (the Linux package's) could not be fetched; built $fallback")
  log "${warnings[-1]}"
done
for dsc in "$work"/src/*.dsc; do
  # The files' checksums come from the signed archive index; dpkg-source checks them again.
  (cd "$work/src" && dpkg-source -x "$dsc" > /dev/null 2>&1) || { log "dpkg-source -x $dsc failed"; exit 1; }
done
srcdir() { find "$work/src" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -n1; }

# --- builds ---------------------------------------------------------------------------------
cmake_common=(
  --toolchain "$toolchain" -DSONDE_WINDOWS_DEPS_PREFIX="$prefix"
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_SHARED_LIBS=OFF
)
times=()
build() {  # NAME SOURCE_DIR BUILD_TARGETS INSTALL_COMPONENTS (empty: all) -- CMAKE_ARGS...
  local name=$1 dir=$2 targets=$3 components=$4
  shift 5
  local t0=$SECONDS b=$work/build-$name
  log "build $name ($dir)"
  nice -n 19 cmake -S "$dir" -B "$b" "${cmake_common[@]}" "$@" > "$b.log" 2>&1 ||
    { tail -n 40 "$b.log" >&2; exit 1; }
  local target_args=()
  for t in $targets; do target_args+=(--target "$t"); done
  nice -n 19 cmake --build "$b" -j"$jobs" "${target_args[@]}" >> "$b.log" 2>&1 ||
    { tail -n 40 "$b.log" >&2; exit 1; }
  if [ -z "$components" ]; then
    cmake --install "$b" >> "$b.log" 2>&1 || { tail -n 40 "$b.log" >&2; exit 1; }
  else
    for c in $components; do
      cmake --install "$b" --component "$c" >> "$b.log" 2>&1 || { tail -n 40 "$b.log" >&2; exit 1; }
    done
  fi
  times+=("$name $((SECONDS - t0)) s")
  log "built $name in $((SECONDS - t0)) s"
}

# zstd: the library only, static, with the legacy formats as Debian builds it.
build zstd "$(srcdir libzstd)/build/cmake" libzstd_static "" -- \
  -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_SHARED=OFF -DZSTD_BUILD_PROGRAMS=OFF \
  -DZSTD_BUILD_TESTS=OFF -DZSTD_BUILD_CONTRIB=OFF -DZSTD_LEGACY_SUPPORT=ON

# mbedTLS: Debian's configuration (debian/rules sets these options), static, no programs or
# tests. MBEDTLS_THREADING_PTHREAD works with the posix thread model (winpthreads).
mbedtls=$(srcdir mbedtls)
for option in MBEDTLS_DEPRECATED_WARNING MBEDTLS_HAVEGE_C MBEDTLS_MD2_C MBEDTLS_MD4_C \
  MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD MBEDTLS_CMAC_C MBEDTLS_SSL_DTLS_SRTP; do
  (cd "$mbedtls" && python3 scripts/config.py set "$option")
done
build mbedtls "$mbedtls" "" "" -- \
  -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DENABLE_PROGRAMS=OFF \
  -DENABLE_TESTING=OFF -DMBEDTLS_FATAL_WARNINGS=OFF

# protobuf: libprotobuf-lite and the headers only (no libprotobuf, no protoc, no tests).
build protobuf "$(srcdir protobuf)" libprotobuf-lite "libprotobuf-lite protobuf-headers" -- \
  -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_BUILD_LIBPROTOC=OFF \
  -Dprotobuf_BUILD_SHARED_LIBS=OFF -Dprotobuf_WITH_ZLIB=OFF -Dprotobuf_BUILD_EXAMPLES=OFF

# libcurl (the uplink's transport, sonde-ctl upload and sonde-uplink.exe): static, HTTP(S)
# only, over Schannel, the Windows TLS stack (its certificate store and updates; pinning
# and CA files are supported by curl's Schannel backend). No other dependency: no OpenSSL,
# zlib, nghttp2, IDN, SSH, PSL or LDAP. Windows' threaded resolver (DNS with a timeout).
build curl "$(srcdir curl)" "" "" -- \
  -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF -DHTTP_ONLY=ON \
  -DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF -DCURL_USE_MBEDTLS=OFF -DCURL_USE_WOLFSSL=OFF \
  -DCURL_USE_BEARSSL=OFF -DCURL_USE_NSS=OFF -DCURL_USE_GNUTLS=OFF -DCURL_USE_LIBSSH2=OFF \
  -DCURL_USE_LIBSSH=OFF -DCURL_USE_GSSAPI=OFF -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF \
  -DUSE_NGHTTP2=OFF -DUSE_LIBIDN2=OFF -DUSE_WIN32_IDN=OFF -DCURL_DISABLE_LDAP=ON \
  -DENABLE_UNIX_SOCKETS=OFF -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DCURL_LTO=OFF

# --- host/include: the header-only packages, one link per library ---------------------------
host=$prefix/host
mkdir -p "$host/include" "$host/lib/cmake/Catch2" "$host/lib/cmake/nlohmann_json"
ln -s /usr/include/boost "$host/include/boost"
ln -s /usr/include/catch2 "$host/include/catch2"
ln -s /usr/include/nlohmann "$host/include/nlohmann"
catch2_version=$(dpkg-query -W -f='${Version}' catch2 | sed 's/-[^-]*$//')
json_version=$(dpkg-query -W -f='${Version}' nlohmann-json3-dev | sed 's/-[^-]*$//')
package_files() {  # DIR PACKAGE TARGET VERSION
  cat > "$1/$2Config.cmake" <<CONFIG
# Generated by scripts/mingw-deps.sh: the header-only $2 of the Linux package, for MinGW.
if(NOT TARGET $3)
  add_library($3 INTERFACE IMPORTED)
  set_target_properties($3 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "$host/include")
endif()
CONFIG
  cat > "$1/$2ConfigVersion.cmake" <<VERSION
set(PACKAGE_VERSION "$4")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
VERSION
}
package_files "$host/lib/cmake/Catch2" Catch2 Catch2::Catch2 "$catch2_version"
package_files "$host/lib/cmake/nlohmann_json" nlohmann_json nlohmann_json::nlohmann_json "$json_version"

for lib in libzstd.a libmbedcrypto.a libprotobuf-lite.a libcurl.a; do
  [ -f "$prefix/lib/$lib" ] || { log "$lib missing from $prefix/lib"; exit 1; }
done
rm -rf "$work"
{
  echo "# scripts/mingw-deps.sh, key $key, built in $((SECONDS - started)) s"
  for p in "${dev_packages[@]}"; do echo "source $p ${want[$p]%%=*} ${got[$p]} (Linux: ${want[$p]#*=})"; done
  echo "$compiler_version"
  echo "$header_versions"
  for t in "${times[@]}"; do echo "time $t"; done
  for w in "${warnings[@]}"; do echo "$w"; done
} > "$stamp.tmp"
mv "$stamp.tmp" "$stamp"
log "done in $((SECONDS - started)) s: $prefix"
echo "export SONDE_WINDOWS_DEPS_PREFIX=$prefix"
