#!/usr/bin/env bash
# Installs the Debian 12 packages Sonde needs to build, test, benchmark and run the demo
# (chromium, chromium-driver and python3-selenium: the browser tests, tests/browser).
# Only what is missing is installed; run as root or with sudo available. weasyprint is the
# console's PDF export (docs/console.md#pdf-export); poppler-utils (pdftotext, pdfimages) reads
# the PDFs in its tests; time (/usr/bin/time) gives scripts/fuzz.sh each run's CPU time;
# ccache lets scripts/test.sh reuse the objects of a machine's earlier runs.
set -euo pipefail
packages=(
  build-essential cmake python3 tzdata zstd binutils
  libboost-dev libprotobuf-dev protobuf-compiler libzstd-dev libmbedtls-dev
  catch2 nlohmann-json3-dev
  libssl-dev libsqlite3-dev libcurl4-openssl-dev openssl
  postgresql libpq-dev libsodium-dev
  libbenchmark-dev prometheus-cpp-dev valgrind
  clang libclang-rt-14-dev clang-format
  chromium chromium-driver python3-selenium
  abigail-tools help2man man-db lintian pkg-config dpkg-dev
  weasyprint poppler-utils time ccache
)
bash "$(dirname "$0")/install-missing.sh" "${packages[@]}"
