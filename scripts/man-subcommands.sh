#!/usr/bin/env bash
# Writes a help2man include file with a COMMANDS section: each command that `PROGRAM --help`
# lists (the indented words under "commands:"), with its own `PROGRAM COMMAND --help`
# (cmake/SondePackage.cmake: the man page of sonde-ctl; docs/packaging.md).
#   man-subcommands.sh PROGRAM OUT_FILE
set -euo pipefail
program=$1 out=$2
name=$(basename "$program")
commands=$("$program" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "man-subcommands: $name --help lists no command" >&2; exit 1; }
{
  echo "[COMMANDS]"
  for c in $commands; do
    echo ".SS $c"
    echo ".nf"
    # Roff: a leading dot or quote would start a request; backslashes escape.
    "$program" "$c" --help 2>&1 | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
    echo ".fi"
  done
} > "$out.tmp"
mv "$out.tmp" "$out"
