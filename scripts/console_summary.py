#!/usr/bin/env python3
"""Summarises `sonde-ctl open` JSON (the console's ingested store) for the demo.

usage: console_summary.py STORE.json FILES BYTES
Per base: snapshots, bytes, and per day connections, distinct users and messages sent, then
the absences distribution of the school year (all levels), then what the privacy policy held
back (docs/privacy.md): Social figures rounded down to a multiple of k, figures below k
suppressed, exact figures, and the indicators withheld whole (school only)."""
import collections
import datetime
import json
import sys

store = json.load(open(sys.argv[1]))
files, size = int(sys.argv[2]), int(sys.argv[3])
for base, b in store["bases"].items():
    snap = b["snapshot"]
    print(f"  {base}: {files} snapshots, {size:,} bytes, last sequence {snap['sequence']}, "
          f"policy k={snap['policy']['k_anonymity']}, school-only "
          f"{'included' if snap['policy']['include_school_only'] else 'withheld'}")
    per_day = collections.defaultdict(lambda: [0, 0, 0])  # connections, users, messages
    for v in b["values"]:
        if v["window"]["kind"] != "day":
            continue
        day = v["window"]["start_unix"]
        if v["measure"]["kind"] == "connection" and v["connection"]["profile"] == "all":
            per_day[day][0] += v["value"]  # Suivi journalier: the day's total (daily:total)
        elif v["measure"]["key"] == "message_sent":
            per_day[day][2] += v["value"]
    for d in b["distinct"]:
        # Suivi journalier: people connected via PRONOTE.net (several profiles, web and mobile)
        if d["window"]["kind"] == "day" and len(d["profiles"]) > 1 and d["media"] == ["web", "mobile"] \
                and len(d["accesses"]) > 1:
            per_day[d["window"]["start_unix"]][1] = d["users"]
    print("    day         connections  users .Net  messages")
    for day in sorted(per_day):
        c, u, m = per_day[day]
        label = datetime.datetime.fromtimestamp(day + 43200, datetime.timezone.utc).strftime("%a %Y-%m-%d")
        print(f"    {label} {c:11,} {u:11,} {m:9,}")
    bins, hidden, rounded_levels = collections.Counter(), 0, 0
    for d in b["distributions"]:
        if d["tally"]["key"] != "absence_half_day":
            continue
        hidden += d["suppressed"]
        rounded_levels += d.get("rounded", False)
        for low, n in zip(d["bin_low"], d["students"]):
            bins[low] += n
    print("    absences (half-days, school year): "
          + ", ".join(f"{low}+: {n:,}" for low, n in sorted(bins.items()))
          + f" students ({hidden} levels suppressed, {rounded_levels} levels rounded to a multiple of k:"
          + " each bin is a lower bound)")
    # What the console holds, figure by figure, after the privacy policy (rule 2).
    k = snap["policy"]["k_anonymity"]
    held = collections.Counter()
    for family in ("values", "gauges", "distributions"):
        for f in b[family]:
            if f.get("suppressed"):
                held[(family, "suppressed")] += 1
            elif f.get("rounded"):
                held[(family, "rounded")] += 1
    total_rounded = sum(n for (fam, why), n in held.items() if why == "rounded")
    total_suppressed = sum(n for (fam, why), n in held.items() if why == "suppressed")
    print(f"    privacy rule {snap['policy'].get('privacy_rule', 0)} (docs/privacy.md): "
          f"{total_rounded:,} Social figures rounded down to a multiple of k={k} (incomplete: "
          f"the true count is up to {k - 1} more), {total_suppressed:,} shown as \"< {k}\" "
          f"(suppressed, value 0)")
    for (family, why), n in sorted(held.items()):
        print(f"      {family:13} {why:10} {n:6,}")
    withheld = [s["indicator_id"] for s in snap.get("suppressed", []) if s["reason"] == "school_only"]
    if withheld:
        print(f"    indicators withheld whole (Établissements seuls): {sorted(withheld)}; "
              "listed in every snapshot, so their absence tells nothing about activity")
    print("    Social figures are released once per closed local day; hour figures and the open "
          "day of absences, punishments or messages are not sent (no console view shows them)")
