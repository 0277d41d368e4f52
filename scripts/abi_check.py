#!/usr/bin/env python3
"""The ABI check (docs/packaging.md#the-abi-check): abidiff (abigail-tools) of a library
against a baseline, and sonde.h's versioning rule applied to what it reports.

    abi_check.py BASELINE NEW      (each an abidw .abi file or a shared library)

Passes when abidiff finds no change, or only the changes sonde.h allows within a major: a
struct of the ABI grows by members appended at its end (a function at the end of sonde_api, a
field at the end of a parameter struct; every struct starts with struct_size and is handed
over through a pointer). Fails on anything else abidiff reports: a member inserted before
the end, removed or retyped, a function's signature changed, an exported symbol removed.
New exported symbols are ignored here (the linking test allows only sonde_*).

libabigail's own suppressions cannot say this: with abigail-tools 2.2 a [suppress_type] with
has_data_member_inserted_at = end also hid a retyped member of the same struct.
"""
import re
import subprocess
import sys

SIZE = re.compile(r"^  type size changed from (\d+) to (\d+) \(in bits\)$")
INSERTIONS = re.compile(r"^  \d+ data member insertions?:$")
INSERTED = re.compile(r"^    '.*', at offset (\d+) \(in bits\)( at .*)?$")
TYPE = re.compile(r"^'(struct|union|class) (sonde_\w+)( at [^']*)?' changed:$")
SUMMARY = re.compile(r"^(Leaf changes summary|Changed leaf types summary|Removed/Changed/Added "
                     r"(functions|variables) summary): ")
NOTHING_REMOVED = re.compile(r"0 Removed(?: \(\d+ filtered out\))?, 0 Changed")


def check(report: str) -> list[str]:
    """The lines of a --leaf-changes-only report that break the rule (empty: compatible)."""
    errors = []
    old_size = None
    for line in report.splitlines():
        if not line.strip():
            continue
        if SUMMARY.match(line):
            if "functions summary" in line or "variables summary" in line:
                if not NOTHING_REMOVED.search(line):
                    errors.append(line)
            continue
        m = TYPE.match(line)
        if m:
            old_size = None
            continue
        m = SIZE.match(line)
        if m:
            old_size = int(m.group(1))
            if int(m.group(2)) < old_size:
                errors.append(line)
            continue
        if INSERTIONS.match(line):
            continue
        m = INSERTED.match(line)
        if m and old_size is not None and int(m.group(1)) >= old_size:
            continue
        errors.append(line)
    return errors


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run = subprocess.run(["abidiff", "--exported-interfaces-only", "--leaf-changes-only",
                          "--no-added-syms", "--no-show-locs",
                          sys.argv[1], sys.argv[2]], capture_output=True, text=True)
    print(run.stdout, end="")
    # abidiff(1): bit 1 error, bit 2 usage error, bit 4 ABI change, bit 8 incompatible change.
    if run.returncode & 3:
        print(run.stderr, end="", file=sys.stderr)
        print(f"abi_check: abidiff failed (exit {run.returncode})")
        return 2
    if run.returncode & 8:
        print("abi_check: INCOMPATIBLE: abidiff reports an incompatible change")
        return 1
    errors = check(run.stdout) if run.returncode & 4 else []
    if errors:
        print("abi_check: INCOMPATIBLE: not an append at the end of a struct:")
        for e in errors:
            print("  " + e)
        return 1
    print("abi_check: compatible" + (" (members appended)" if run.returncode else " (no change)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
