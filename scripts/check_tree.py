#!/usr/bin/env python3
"""Fails if the tree holds a file that nothing uses, or an editor/merge leftover.

    python3 scripts/check_tree.py [SOURCE_DIR]      (ctest: tree:no_orphans)

Checked files: those `git ls-files` lists. Rules, in order:

1. Leftovers are refused, tracked or not (untracked files that .gitignore does not ignore are
   checked too): *.orig, *.rej, *~, *.swp, *.swo, .#*, #*#.
2. Allowed without a reference: .gitignore, .clang-format, the top-level README.md and
   LICENSE/COPYING/NOTICE files.
3. A C/C++ source (.c, .cc, .cpp) must be listed in a CMakeLists.txt or *.cmake file: by its
   path relative to that file's folder, or from ${CMAKE_SOURCE_DIR} /
   ${CMAKE_CURRENT_SOURCE_DIR}. A listed name may contain variables (fuzz_${name}.cc): a
   variable matches one path component, and the name must keep at least 3 letters or digits
   of its own (${x}.cc matches nothing). The same holds for names in rules 5 and 6.
   A CMakeLists.txt other than the top one must be added by an add_subdirectory() of a CMake
   file (a literal folder name).
4. A header (.h, .hpp) must be named by an #include of a tracked file ("core/siphash.hpp"
   names plugin/core/siphash.hpp), or referenced like any other file (rule 5).
5. Any other file must be referenced by name in a reference file, which is a CMake file, a
   script (scripts/, .ci/, *.sh, *.py) or a document (*.md), other than itself. A reference is
   the file's path from the top, its path from the referencing file's folder, or its bare file
   name when no other tracked file has the same name.
6. Data folders: a file under fuzz/corpus/ or tests/vectors/ is also accepted when one of its
   folders (down from that data root) is referenced as in rule 5 (the corpora are globbed, the
   vectors folder is passed to the tests).

Exit status: 0 clean, 1 findings (listed on stderr), 77 not a git checkout (ctest skips).
"""
import fnmatch
import os
import re
import subprocess
import sys
from collections import Counter

LEFTOVERS = ["*.orig", "*.rej", "*~", "*.swp", "*.swo", ".#*", "#*#"]
ALLOWED = {".gitignore", ".clang-format", "README.md"}
ALLOWED_NAMES = re.compile(r"^(LICENSE|LICENCE|COPYING|NOTICE)(\..*)?$")
SOURCES = (".c", ".cc", ".cpp")
HEADERS = (".h", ".hpp")
CPP = SOURCES + HEADERS
DATA_ROOTS = ("fuzz/corpus", "tests/vectors")
VAR = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
TOKEN = re.compile(r"[A-Za-z0-9_.+${}/-]+")
SUBDIR = re.compile(r"add_subdirectory\(\s*([^\s)]+)")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def git_files(root, *args):
    out = subprocess.run(["git", "-C", root, "ls-files", "-z", *args], check=True,
                         capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f]


def is_reference_file(path):
    name = os.path.basename(path)
    return (name == "CMakeLists.txt" or name.endswith((".cmake", ".sh", ".py", ".md"))
            or path.startswith(("scripts/", ".ci/")))


def pattern_of(token, ref_dir):
    """A path-like token of a reference file (possibly with variables) as a regex on paths."""
    for prefix in ("${CMAKE_SOURCE_DIR}/", "${PROJECT_SOURCE_DIR}/"):
        if token.startswith(prefix):
            token, ref_dir = token[len(prefix):], ""
    if token.startswith("${CMAKE_CURRENT_SOURCE_DIR}/"):
        token = token[len("${CMAKE_CURRENT_SOURCE_DIR}/"):]
    parts = VAR.split(token)
    body = "[^/]+".join(re.escape(p) for p in parts)
    base = re.escape(ref_dir + "/") if ref_dir else ""
    return re.compile(base + body)


def literal_chars(token):
    """Letters and digits of TOKEN outside its variables: a name like ${x}.cc is too vague."""
    token = re.sub(r"^\$\{(CMAKE|PROJECT)_(CURRENT_)?SOURCE_DIR\}/", "", token)
    return sum(c.isalnum() for c in VAR.sub("", token))


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    try:
        tracked = git_files(root)
        untracked = git_files(root, "--others", "--exclude-standard")
    except (OSError, subprocess.CalledProcessError):
        print("check_tree: not a git checkout, nothing checked", file=sys.stderr)
        return 77
    tracked = [f for f in tracked if os.path.exists(os.path.join(root, f))]  # deleted, not staged

    problems = []
    for f in tracked + untracked:
        name = os.path.basename(f)
        if any(fnmatch.fnmatchcase(name, p) for p in LEFTOVERS):
            problems.append(f"{f}: editor or merge leftover")

    def read(f):
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            return fh.read()

    refs = {f: read(f) for f in tracked if is_reference_file(f)}
    cmake = {f: t for f, t in refs.items()
             if os.path.basename(f) == "CMakeLists.txt" or f.endswith(".cmake")}
    includes = set()
    for f in tracked:
        if f.endswith(CPP):
            includes.update(INCLUDE.findall(read(f)))
    name_count = Counter(os.path.basename(f) for f in tracked)

    # Variable-bearing tokens of every reference file, as regexes over paths from the top.
    patterns = {}
    for ref, text in refs.items():
        ref_dir = os.path.dirname(ref)
        patterns[ref] = [pattern_of(t.rstrip("/*."), ref_dir) for t in TOKEN.findall(text)
                         if "$" in t and literal_chars(t.rstrip("/*.")) >= 3]

    def literal_names(path, ref):
        ref_dir = os.path.dirname(ref)
        names = [path]
        if ref_dir and path.startswith(ref_dir + "/"):
            names.append(path[len(ref_dir) + 1:])
        elif not ref_dir:
            names.append(path)
        return names

    def referenced(path, among, bare_name_ok=True):
        """Is PATH (a file or folder) referenced by one of the files AMONG?"""
        name = os.path.basename(path)
        for ref, text in among.items():
            if ref == path:
                continue
            if any(n in text for n in literal_names(path, ref)):
                return True
            if bare_name_ok and name_count[name] == 1 and name in text:
                return True
            if any(p.fullmatch(path) for p in patterns[ref]):
                return True
        return False

    def in_cmake(path):
        for ref, text in cmake.items():
            ref_dir = os.path.dirname(ref)
            if ref_dir and not path.startswith(ref_dir + "/"):
                if ("${CMAKE_SOURCE_DIR}/" + path) not in text and not any(
                        p.fullmatch(path) for p in patterns[ref]):
                    continue
            rel = path[len(ref_dir) + 1:] if ref_dir else path
            tokens = TOKEN.findall(text)
            if rel in tokens or "${CMAKE_CURRENT_SOURCE_DIR}/" + rel in tokens \
                    or "${CMAKE_SOURCE_DIR}/" + path in tokens:
                return True
            if any(p.fullmatch(path) for p in patterns[ref]):
                return True
        return False

    subdirs = set()  # folders added with add_subdirectory(), from the top
    for ref, text in cmake.items():
        for arg in SUBDIR.findall(text):
            arg = arg.replace("${CMAKE_CURRENT_SOURCE_DIR}/", "")
            subdirs.add(os.path.normpath(os.path.join(os.path.dirname(ref), arg)))

    for f in tracked:
        name = os.path.basename(f)
        if f in ALLOWED or ALLOWED_NAMES.match(name):
            continue
        if name == "CMakeLists.txt":
            if f != "CMakeLists.txt" and os.path.dirname(f) not in subdirs:
                problems.append(f"{f}: folder added by no add_subdirectory()")
            continue
        if f.endswith(SOURCES):
            if not in_cmake(f):
                problems.append(f"{f}: source listed in no CMakeLists.txt")
            continue
        if f.endswith(HEADERS):
            if not any(f == i or f.endswith("/" + i) for i in includes) and not referenced(f, refs):
                problems.append(f"{f}: header included by no file")
            continue
        if referenced(f, refs):
            continue
        data_root = next((r for r in DATA_ROOTS if f.startswith(r + "/")), None)
        if data_root:
            folder = os.path.dirname(f)
            ok = False
            while not ok and len(folder) >= len(data_root):
                ok = referenced(folder, refs, bare_name_ok=False)
                folder = os.path.dirname(folder)
            if ok:
                continue
        problems.append(f"{f}: referenced by no build file, script or document")

    for p in problems:
        print("check_tree: " + p, file=sys.stderr)
    if problems:
        print(f"check_tree: {len(problems)} problem(s) in {len(tracked)} tracked files",
              file=sys.stderr)
        return 1
    print(f"check_tree: {len(tracked)} tracked files, each used; no leftovers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
