#!/usr/bin/env bash
# Installs the Debian 12 packages the Windows build needs (docs/windows.md): the MinGW-w64
# cross compiler (posix thread model), Wine to run the .exe tests headless, and dpkg-dev for
# `apt-get source` (scripts/mingw-deps.sh builds zstd, mbedTLS and protobuf-lite from
# Debian's source packages). The header-only libraries and the host protoc come from
# scripts/deps.sh. Only what is missing is installed; run as root or with sudo available.
set -euo pipefail
packages=(
  g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix mingw-w64-tools
  wine wine64
  dpkg-dev cmake make xz-utils
)
# Without recommends: Wine's (fonts, GStreamer, 32-bit Wine, X libraries' extras) are not
# needed to run console programs.
bash "$(dirname "$0")/install-missing.sh" "${packages[@]}"
