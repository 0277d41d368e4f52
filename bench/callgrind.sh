#!/bin/sh
# Instructions per event under callgrind: sonde-bench-driver runs N1 then N2 events; only
# sonde_bench_driver_loop is collected (--toggle-collect) and Ir/event = (Ir(N2)-Ir(N1))/(N2-N1),
# which cancels the loop's start-up. Usage: bench/callgrind.sh [BUILD_DIR]
# Environment: N1, N2 (default 100000, 400000); ANNOTATE=1 also prints callgrind_annotate
# --auto=yes of the N2 runs (source lines need -g: configure with -DCMAKE_CXX_FLAGS=-g).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
driver=$build/bench/sonde-bench-driver
[ -x "$driver" ] || { echo "no $driver: make -C $build sonde-bench-driver" >&2; exit 1; }
n1=${N1:-100000}
n2=${N2:-400000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sonde-callgrind.XXXXXX")
trap 'rm -rf "$work"' EXIT

ir() {  # mode n -> total Ir collected inside the loop
    valgrind --tool=callgrind --toggle-collect=sonde_bench_driver_loop --dump-instr=yes \
        --callgrind-out-file="$work/$1.$2.out" "$driver" "$1" "$2" >"$work/$1.$2.log" 2>&1 ||
        { cat "$work/$1.$2.log" >&2; exit 1; }
    sed -n 's/^summary: *//p' "$work/$1.$2.out" | cut -d' ' -f1
}

echo "sonde-bench-driver under callgrind ($(valgrind --version)), N1=$n1, N2=$n2"
echo
echo "| Mode | Ir(N1) | Ir(N2) | Instructions per event |"
echo "|---|---:|---:|---:|"
for mode in counter count disabled connection plain; do
    a=$(ir "$mode" "$n1")
    b=$(ir "$mode" "$n2")
    echo "| $mode | $a | $b | $(python3 -c "print(f'{($b - $a) / ($n2 - $n1):.2f}')") |"
done
if [ "${ANNOTATE:-0}" = 1 ]; then
    for mode in counter count disabled connection plain; do
        echo
        echo "## callgrind_annotate --auto=yes: $mode, N=$n2"
        callgrind_annotate --auto=yes --inclusive=yes "$work/$mode.$n2.out" | head -120
    done
fi
