#!/usr/bin/env bash
# Checks sonde.dll's tables (issue 10, trap 5; ctest windows:exports): it exports exactly
# sonde_abi_magic and sonde_get_api (PE has no version script: plugin/sonde.def), and imports
# Windows' own DLLs only (libgcc, libstdc++ and winpthread are linked statically).
#   scripts/check-dll-exports.sh build-windows/plugin/sonde.dll
set -euo pipefail
dll=${1:?usage: check-dll-exports.sh sonde.dll}
objdump=${SONDE_OBJDUMP:-x86_64-w64-mingw32-objdump}
table=$("$objdump" -p "$dll")
exports=$(printf '%s\n' "$table" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
  sed -n 's/^[[:space:]]*\[[[:space:]]*[0-9]*\][[:space:]]*//p' | sort | tr '\n' ' ')
imports=$(printf '%s\n' "$table" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ')
echo "exports: $exports"
echo "imports: $imports"
status=0
if [ "$exports" != "sonde_abi_magic sonde_get_api " ]; then
  echo "FAIL: sonde.dll must export exactly sonde_abi_magic and sonde_get_api" >&2
  status=1
fi
for dll_name in $imports; do
  case "$dll_name" in
    kernel32.dll | msvcrt.dll | bcrypt.dll | advapi32.dll | ntdll.dll | ws2_32.dll) ;;
    *) echo "FAIL: imports $dll_name, not a Windows DLL" >&2; status=1 ;;
  esac
done
exit $status
