#!/usr/bin/env python3
"""Prints one day of one base hour by hour: connections as the console has them beside the
oracle's, for the demo. Exits 1 if any hour disagrees.

usage: hours_table.py REPORT.json BASE DATE [STORE.json | figures.sqlite]
REPORT.json is sonde-shim's --json report (its oracle counted connections between the replay's
hour barriers). The console column comes from STORE.json (`sonde-ctl open` of the base's
spool) or from the database of a running sonde-console (figures.sqlite, read with python's
sqlite3 module: table figures, docs/delivery.md#the-ingestor) when given, otherwise from the
shim's own ingestion of the same files."""
import collections
import json
import sqlite3
import sys

# plugin/snapshot/ingest.cc: family 2 is Value, keyed {measure_kind, measure_id, level, profile,
# medium, access}; plugin/proto/sonde_snapshot.proto: WINDOW_KIND_HOUR 1, MEASURE_KIND_CONNECTION 3.
FAMILY_VALUE, WINDOW_KIND_HOUR, MEASURE_KIND_CONNECTION = 2, 1, 3

report = json.load(open(sys.argv[1]))
base, date = sys.argv[2], sys.argv[3]
section = next(s for s in report["snapshots"] if s["base"] == base)
rows = [r for r in section["hour_connections"] if r["date"] == date]
if not rows:
    sys.exit(f"hours_table: no hour of {date} for {base}")
source = "shim's ingestion of the spool"
if len(sys.argv) > 4 and sys.argv[4].endswith(".sqlite"):
    db = sqlite3.connect(f"file:{sys.argv[4]}?mode=ro", uri=True)
    console = collections.Counter()
    # Summed over segment generations: connections are additive (docs/delivery.md).
    for start, value in db.execute(
            "SELECT window_start, SUM(value) FROM figures WHERE base = ? AND family = ? AND "
            "window_kind = ? AND d0 = ? GROUP BY window_start",
            (base, FAMILY_VALUE, WINDOW_KIND_HOUR, MEASURE_KIND_CONNECTION)):
        console[start] = value
    for r in rows:
        r["console"] = console[r["start_unix"]]
    source = "sonde-console's database, after HTTPS upload"
elif len(sys.argv) > 4:
    store = json.load(open(sys.argv[4]))
    console = collections.Counter()
    for v in store["bases"][base]["values"]:
        if v["window"]["kind"] == "hour" and v["measure"]["kind"] == "connection":
            console[v["window"]["start_unix"]] += v["value"]
    for r in rows:
        r["console"] = console[r["start_unix"]]
    source = "sonde-ctl open of the spool"
print(f"    {base}, {date}, connections hour by hour (console: {source})")
print("    local hour        console   oracle")
bad = 0
for r in rows:
    same = r["console"] == r["oracle"]
    bad += not same
    print(f"    {r['local']:<14} {r['console']:>10,} {r['oracle']:>8,}  {'ok' if same else 'DIFFERS'}")
total_c = sum(r["console"] for r in rows)
total_o = sum(r["oracle"] for r in rows)
print(f"    {'day':<14} {total_c:>10,} {total_o:>8,}  "
      + (f"all {len(rows)} hours agree" if not bad else f"{bad} of {len(rows)} hours differ"))
sys.exit(1 if bad else 0)
