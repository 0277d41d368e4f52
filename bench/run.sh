#!/bin/sh
# Runs sonde-bench side by side (5 repetitions, aggregates only, JSON) and prints the Markdown
# table for the issue note. Usage: bench/run.sh [BUILD_DIR]   (default: build-bench)
# Environment: MIN_TIME (seconds per run, default 0.4), BENCH_FILTER (default: all).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build-bench}
bin=$build/bench/sonde-bench
[ -x "$bin" ] || { echo "no $bin: make -C $build sonde-bench" >&2; exit 1; }
out=$build/bench/sonde-bench.json
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$bin" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_min_time="${MIN_TIME:-0.4}" --benchmark_filter="${BENCH_FILTER:-.}" \
    --benchmark_format=json --benchmark_out="$out" --benchmark_out_format=json >/dev/null
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$out" "$model" "$load" "$load_after" <<'PY'
import json, sys
path, model, load, load_after = sys.argv[1:5]
doc = json.load(open(path))
order = ["BM_SondeCounterInline", "BM_SondeCounterInlineDisabled", "BM_SondeCount",
         "BM_SondeConnection", "BM_SondeConnectionToken", "BM_SondeDisabled", "BM_PlainIncrement",
         "BM_PrometheusCounterPreresolved", "BM_PrometheusFamilyAddPerEvent", "BM_StatsdUdp"]
rows = {}
for b in doc["benchmarks"]:
    if b.get("run_type") != "aggregate":
        continue
    # BM_X/real_time/threads:2 -> BM_X; an argument stays: BM_SipHash/16.
    name = "/".join(p for p in b["run_name"].split("/")
                    if p != "real_time" and not p.startswith("threads:"))
    threads = int(b["threads"])
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    r = rows.setdefault((name, threads), {})
    agg = b["aggregate_name"]
    if agg in ("median", "cv"):
        r[agg] = (b["real_time"] * (scale if agg == "median" else 1), b["cpu_time"] * (scale if agg == "median" else 1))
def per_thread(name, t):  # wall ns per event as one thread sees it
    r = rows.get((name, t), {})
    return r["median"][0] * t if "median" in r else None
fmt = lambda v: "n/a" if v is None else (f"{v:.3g}" if v < 100 else f"{v:,.0f}")
ctx = doc["context"]
print(f"sonde-bench, {ctx['date'][:10]}, {model} ({ctx['num_cpus']} CPUs), "
      f"load average {load} before / {load_after} after; median of 5 runs.\n")
print("| Benchmark | Threads | Median ns/op (GB, wall/total ops) | ns/event per thread (wall) "
      "| CPU ns/event per thread | CV (wall) | × PlainIncrement (wall) | × PlainIncrement (CPU) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
threads = sorted({t for _, t in rows})
for name in order + sorted({n for n, _ in rows} - set(order)):
    for t in threads:
        r = rows.get((name, t))
        if not r or "median" not in r:
            continue
        plain = per_thread("BM_PlainIncrement", t)
        ratio = per_thread(name, t) / plain if plain else None
        plain_cpu = rows.get(("BM_PlainIncrement", t), {}).get("median", (None, None))[1]
        ratio_cpu = r["median"][1] / plain_cpu if plain_cpu else None
        cv = r.get("cv", (None, None))[0]
        print(f"| {name} | {t} | {fmt(r['median'][0])} | {fmt(per_thread(name, t))} | "
              f"{fmt(r['median'][1])} | {'n/a' if cv is None else f'{cv:.1%}'} | "
              f"{'n/a' if ratio is None else f'{ratio:,.1f}×'} | "
              f"{'n/a' if ratio_cpu is None else f'{ratio_cpu:,.1f}×'} |")
print()
for t in threads:
    p, s = per_thread("BM_PrometheusCounterPreresolved", t), per_thread("BM_SondeCount", t)
    if p and s:
        print(f"- {t} thread{'s' if t > 1 else ''}: prometheus-cpp pre-resolved / sonde count = {p / s:.1f}×")
print("\nGB's real time at T threads is wall time / (total events of all threads); "
      "per thread = that × T. The CPU ratio is the steadier one when other jobs share the "
      "machine. Targets (issue 6): inline counter ≤ 1.5×, count ≤ 4× PlainIncrement; disabled ≤ "
      "count; connection with a raw key ≤ 30 ns.")
PY
