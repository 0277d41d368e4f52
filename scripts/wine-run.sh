#!/usr/bin/env bash
# Runs a Windows console program under Wine, headless, in Sonde's private Wine prefix
# (docs/windows.md). It is the CMAKE_CROSSCOMPILING_EMULATOR of cmake/mingw-w64-x86_64.cmake,
# so ctest runs the .exe tests through it.
#   scripts/wine-run.sh PROGRAM.exe [ARGS...]   # the program's exit status is returned
#   scripts/wine-run.sh --start                 # create the prefix if needed, start a persistent
#                                               # wineserver and run one trivial process
#   scripts/wine-run.sh --stop                  # stop this prefix's wineserver
# Environment: SONDE_WINEPREFIX (default ~/.cache/sonde/wine), SONDE_WINE (the wine64 loader).
set -euo pipefail
export WINEPREFIX=${SONDE_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/sonde/wine}
export WINEDEBUG=${SONDE_WINEDEBUG:--all}
# Headless: with no display, Wine never opens a window (no Mono/Gecko installer dialog);
# console programs do not need one.
unset DISPLAY WAYLAND_DISPLAY
# Wine reads a program's arguments and writes file names in the Unix locale's encoding: UTF-8,
# whatever the caller's locale (CI may run with none), so a name outside ASCII arrives whole.
export LC_ALL=C.UTF-8
# No Mono or Gecko download prompt while the prefix is created (they are not needed).
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
wine=${SONDE_WINE:-$(command -v wine64 || echo /usr/lib/wine/wine64)}
wineserver=${SONDE_WINESERVER:-$(command -v wineserver || echo /usr/lib/wine/wineserver)}
[ -x "$wine" ] || { echo "wine-run: no wine64 ($wine): run scripts/deps-windows.sh" >&2; exit 127; }

# The prefix is created once (about 10 s), under a lock so that parallel tests wait for it.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$(dirname "$WINEPREFIX")"
  (
    flock 9
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
      "$wine" wineboot --init > "$WINEPREFIX.init.log" 2>&1 || { cat "$WINEPREFIX.init.log" >&2; exit 1; }
      "$wineserver" -w
    fi
  ) 9> "$WINEPREFIX.lock"
fi

case "${1:-}" in
  --start)
    "$wineserver" -p
    "$wine" cmd /c exit 0
    ;;
  --stop)
    "$wineserver" -k || true
    ;;
  "")
    echo "usage: wine-run.sh PROGRAM.exe [ARGS...] | --start | --stop" >&2
    exit 2
    ;;
  *)
    exec "$wine" "$@"
    ;;
esac
