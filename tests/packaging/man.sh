#!/usr/bin/env bash
# ctest man:pages: the generated man pages render with man(1) and document every command the
# docs list for each program (README.md, docs/operator.md, docs/delivery.md); sonde-ctl's
# page has each command's own help.
#   man.sh MAN_DIR
set -euo pipefail
dir=$1
fail() { echo "FAIL: $*"; exit 1; }
check() {
  local page=$dir/$1.1.gz; shift
  [ -f "$page" ] || fail "$page was not generated (help2man missing? scripts/deps.sh installs it)"
  local text
  text=$(MANWIDTH=100 man -P cat -l "$page" 2> /dev/null) || fail "man -l $page"
  grep -q "^NAME" <<< "$text" || fail "$page has no NAME section"
  for word in "$@"; do
    grep -qw -- "$word" <<< "$text" || fail "$page does not mention '$word'"
  done
  echo "$page: renders, mentions $*"
}
check sonde-ctl enable disable status dump keygen open audit upload --version
# sonde-ctl's page holds each command's own help (its usage line).
ctl_text=$(MANWIDTH=100 man -P cat -l "$dir/sonde-ctl.1.gz" 2> /dev/null)
grep -q "^COMMANDS" <<< "$ctl_text" || fail "sonde-ctl.1 has no COMMANDS section"
for c in enable disable status dump keygen open audit upload; do
  grep -q "usage: sonde-ctl $c" <<< "$ctl_text" || fail "sonde-ctl.1 lacks the help of '$c'"
done
check sonde-uplink --config --once
check sonde-console serve keys reingest collectivites establishments users audit
