#!/usr/bin/env bash
# Installs the Debian 12 packages the Windows build needs (docs/windows.md): the MinGW-w64
# cross compiler (posix thread model), Wine to run the .exe tests headless, and dpkg-dev for
# `apt-get source` (scripts/windows-deps.sh builds zstd, mbedTLS and protobuf-lite from
# Debian's source packages). The header-only libraries and the host protoc come from
# scripts/deps.sh. Only what is missing is installed; run as root or with sudo available.
set -euo pipefail
packages=(
  g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix mingw-w64-tools
  wine wine64
  dpkg-dev cmake make xz-utils
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing: ${missing[*]}"
  $sudo apt-get update -qq
  # --no-install-recommends: Wine's recommends (fonts, GStreamer, 32-bit Wine, X libraries'
  # extras) are not needed to run console programs.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
