#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png from the browser tests (docs/console.md#browser-tests):
# builds what they need, runs them (headless Chromium over a seeded console), then copies a few
# of the screenshots they saved, reduced to 256 colours by pngquant (each under 150 KB).
#   bash scripts/screenshots.sh            # build dir: build/ (SONDE_BUILD_DIR to change)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${SONDE_BUILD_DIR:-build}"
bash scripts/install-missing.sh chromium chromium-driver python3-selenium pngquant
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSONDE_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j2 --target sonde sonde-shim sonde-ctl sonde-console
shots="$BUILD/tests/browser/screenshots"
rm -rf "$shots"
(cd "$BUILD" && SONDE_REQUIRE_BROWSER=1 ctest -R '^browser:' --output-on-failure)
mkdir -p docs/screenshots
for name in home par-etablissement suivi-horaire utilisateur-limite; do
  [ -f "$shots/$name.png" ] || { echo "screenshots: $shots/$name.png missing" >&2; exit 1; }
  pngquant --force --quality 40-90 --strip --output "docs/screenshots/$name.png" 256 -- "$shots/$name.png"
  size=$(stat -c %s "docs/screenshots/$name.png")
  echo "docs/screenshots/$name.png: $((size / 1024)) KB"
  [ "$size" -lt 153600 ] || { echo "screenshots: $name.png is over 150 KB" >&2; exit 1; }
done
