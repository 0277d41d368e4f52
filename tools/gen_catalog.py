#!/usr/bin/env python3
"""Generate the ABI enums, the counter layout and docs/indicators.md from catalog/*.tsv.

The catalogue is the single source of truth: this script validates it (every one of the
80 indicators must map to recorded measures or to a derivation from other indicators) and
fails the build on any inconsistency. Modelled on Varnish's vsctool.py.
"""
import argparse
import os
import re
import sys

PROFILE, MEDIUM, ACCESS = "profile", "medium", "access"
KINDS = {"counter", "gauge", "distinct", "distribution", "derived"}
MEASURE_KINDS = ("event", "gauge", "tally", "connection", "distinct")
# The console's views of an indicator (catalog/indicators.tsv, column `views`), as the
# console guide lists them: "Suivi heure par heure" (hourly, 3 weeks: connections only),
# "Suivi journalier" (daily, 4 weeks: connections and distinct people connected only), and
# the periods every indicator has. The snapshot builder sends a figure only at the windows of
# its measure's views (the union of the views of the indicators it feeds). Bit = position.
# The two series show one figure per establishment, not the indicator's dimensions: they are
# written `hourly:total` and `daily:total` (the sum over the indicators that list the view and
# over their dimensions), so a snapshot carries only that total at hour and open-day windows.
VIEWS = ("hourly", "daily", "last_day", "current_month", "last_month", "current_year", "last_year")
PERIOD_VIEWS = VIEWS[2:]
SERIES_VIEWS = VIEWS[:2]
TOTAL = ":total"


class CatalogError(Exception):
    pass


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    header = lines[0].split("\t")
    rows = []
    for n, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise CatalogError(f"{path}:{n}: {len(cells)} columns, expected {len(header)}")
        rows.append(dict(zip(header, cells)))
    return rows


def load(catalog_dir):
    settings = {r["setting"]: r["value"] for r in read_tsv(os.path.join(catalog_dir, "layout.tsv"))}
    dims = read_tsv(os.path.join(catalog_dir, "dimensions.tsv"))
    measures = read_tsv(os.path.join(catalog_dir, "measures.tsv"))
    indicators = read_tsv(os.path.join(catalog_dir, "indicators.tsv"))
    return settings, dims, measures, indicators


def dimension_values(dims):
    values = {}
    for d in dims:
        values.setdefault(d["dimension"], []).append(d)
    for name, vals in values.items():
        ids = [int(v["id"]) for v in vals]
        if ids != list(range(1, len(ids) + 1)):
            raise CatalogError(f"dimension {name}: ids must be 1..n in order, got {ids}")
    return values


def check_measures(measures):
    by_kind = {k: [] for k in MEASURE_KINDS}
    keys = set()
    for m in measures:
        if m["kind"] not in by_kind:
            raise CatalogError(f"measure {m['key']}: unknown kind {m['kind']}")
        if m["key"] in keys:
            raise CatalogError(f"measure key {m['key']} defined twice")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", m["key"]):
            raise CatalogError(f"measure key {m['key']} is not snake_case")
        if m["per_level"] not in ("yes", "no"):
            raise CatalogError(f"measure {m['key']}: per_level must be yes or no")
        keys.add(m["key"])
        by_kind[m["kind"]].append(m)
    for kind, ms in by_kind.items():
        ids = [int(m["id"]) for m in ms]
        if ids != list(range(1, len(ids) + 1)):
            raise CatalogError(f"{kind} ids must be 1..n in order (enum values never change), got {ids}")
    for m in by_kind["tally"]:
        if m["bins"] != "-":
            parse_bins(m["bins"], m["key"])
    return by_kind


def parse_bins(text, key):
    """'0|1-4|5-9|20-' -> [(0,0),(1,4),(5,9),(20,None)]; contiguous from 0, open-ended last."""
    bins, expected = [], 0
    for part in text.split("|"):
        lo, _, hi = part.partition("-")
        lo = int(lo)
        hi = int(hi) if hi else (lo if "-" not in part else None)
        if lo != expected:
            raise CatalogError(f"tally {key}: bins must be contiguous from 0 ({text})")
        bins.append((lo, hi))
        if hi is None:
            break
        expected = hi + 1
    if bins[-1][1] is not None:
        raise CatalogError(f"tally {key}: last bin must be open-ended ({text})")
    return bins


SELECTOR = re.compile(r"^(connections|connected_users)\[([^\]]*)\]$")


def check_selector(text, dim_values, where):
    m = SELECTOR.match(text)
    if not m:
        raise CatalogError(f"{where}: bad selector {text}")
    if m.group(2):
        for clause in m.group(2).split(","):
            dim, _, vals = clause.partition("=")
            if dim not in (PROFILE, MEDIUM, ACCESS):
                raise CatalogError(f"{where}: unknown dimension {dim}")
            known = {v["key"] for v in dim_values[dim]}
            for v in vals.split("|"):
                if v not in known:
                    raise CatalogError(f"{where}: {dim} has no value {v}")
    return m.group(1)


def parse_views(ind, where, source_kind):
    """The `views` column: known views, no repeat, every period view, and the hourly and daily
    series only where the guide has them (connections; connections and distinct users)."""
    tokens = ind.get("views", "").split(",")
    views = []
    for t in tokens:
        v, _, qualifier = t.partition(":")
        if v in SERIES_VIEWS and t != v + TOTAL:
            raise CatalogError(f"{where}: the {v} view shows a total per establishment: write {v}{TOTAL}")
        if v in PERIOD_VIEWS and qualifier:
            raise CatalogError(f"{where}: the period view {v} takes no qualifier ({t})")
        views.append(v)
    for v in views:
        if v not in VIEWS:
            raise CatalogError(f"{where}: unknown view '{v}' (known: {', '.join(VIEWS)})")
    if len(set(views)) != len(views):
        raise CatalogError(f"{where}: a view is listed twice ({ind['views']})")
    missing = [v for v in PERIOD_VIEWS if v not in views]
    if missing:
        raise CatalogError(f"{where}: every indicator has the period views, missing {missing}")
    if "hourly" in views and source_kind != "connection":
        raise CatalogError(f"{where}: the hourly view is for connections only")
    if "daily" in views and source_kind not in ("connection", "distinct"):
        raise CatalogError(f"{where}: the daily view is for connections and distinct users only")
    return views


def measure_views(indicators, by_kind):
    """measure key -> bitmask of views: the union of the views of the indicators it feeds."""
    out = {m["key"]: 0 for ms in by_kind.values() for m in ms}
    for ind in indicators:
        if ind["kind"] == "derived":
            continue
        mask = sum(1 << VIEWS.index(v.partition(":")[0]) for v in ind["views"].split(","))
        source = ind["source"].strip()
        m = SELECTOR.match(source)
        for key in ([m.group(1)] if m else source.split()):
            out[key] |= mask
    return out


def daily_distinct_selection(indicators, dim_values):
    """The one figure of *Suivi journalier* for distinct users (`daily:total`): the users of
    the union of the selections of the distinct indicators with that view, as bit masks
    (profiles, media, accesses). They must differ only by profile, so that the union is one
    selection."""
    profiles, rest = 0, set()
    for ind in indicators:
        if ind["kind"] != "distinct" or "daily" + TOTAL not in ind["views"].split(","):
            continue
        clauses = dict(c.partition("=")[::2] for c in SELECTOR.match(ind["source"].strip()).group(2).split(",") if c)
        def mask(dim):
            keys = clauses.get(dim, "|".join(v["key"] for v in dim_values[dim])).split("|")
            return sum(1 << (int(v["id"]) - 1) for v in dim_values[dim] if v["key"] in keys)
        profiles |= mask(PROFILE)
        rest.add((mask(MEDIUM), mask(ACCESS)))
    if len(rest) > 1:
        raise CatalogError("distinct indicators with daily:total differ by more than profile")
    media, accesses = rest.pop() if rest else (0, 0)
    return profiles, media, accesses


def check_indicators(indicators, by_kind, dim_values, reference):
    ids = [int(i["id"]) for i in indicators]
    if ids != list(range(1, 81)):
        raise CatalogError("the catalogue must hold indicators 1..80 in order")
    measure_kind = {m["key"]: k for k, ms in by_kind.items() for m in ms}
    used = set()
    for ind in indicators:
        where = f"indicator {ind['id']} ({ind['key']})"
        kind, source = ind["kind"], ind["source"].strip()
        if kind not in KINDS:
            raise CatalogError(f"{where}: unknown kind {kind}")
        if ind["audience"] not in ("authority", "school_only"):
            raise CatalogError(f"{where}: audience must be authority or school_only")
        seuls = ind["recipients"].strip() == "Établissements seuls"
        if seuls != (ind["audience"] == "school_only"):
            raise CatalogError(f"{where}: audience disagrees with recipients '{ind['recipients']}'")
        if not source:
            raise CatalogError(f"{where}: unmapped (empty source)")
        sel = SELECTOR.match(source)
        parse_views(ind, where, measure_kind.get(sel.group(1)) if sel else None)
        if kind == "derived":
            m = re.fullmatch(r"(sum|referential)\(([\d,]+)\)|ratio\(([^\]]+\]),(.+\])\)", source)
            if not m:
                raise CatalogError(f"{where}: bad derivation {source}")
            if m.group(2):
                for ref in m.group(2).split(","):
                    if not 1 <= int(ref) <= 80 or int(ref) == int(ind["id"]):
                        raise CatalogError(f"{where}: bad reference {ref}")
            else:
                for sel in (m.group(3), m.group(4)):
                    used.add(check_selector(sel, dim_values, where))
            continue
        if kind in ("counter", "distinct") and "[" in source:
            name = check_selector(source, dim_values, where)
            want = "connection" if kind == "counter" else "distinct"
            if measure_kind[name] != want:
                raise CatalogError(f"{where}: {name} is not a {want} measure")
            used.add(name)
            continue
        want = {"counter": ("event", "tally"), "gauge": ("gauge",), "distribution": ("tally",)}[kind]
        for key in source.split():
            if measure_kind.get(key) not in want:
                raise CatalogError(f"{where}: {key} is not a {'/'.join(want)} measure")
            if kind == "distribution":
                tally = next(t for t in by_kind["tally"] if t["key"] == key)
                if tally["bins"] == "-":
                    raise CatalogError(f"{where}: tally {key} has no bins")
            used.add(key)
    unused = set(measure_kind) - used
    if unused:
        raise CatalogError(f"measures recorded but never used by an indicator: {sorted(unused)}")
    if reference:
        check_reference(indicators, reference)


def check_reference(indicators, reference_path):
    """The annex columns must be word for word those of the reference table."""
    ref = read_tsv(reference_path)
    cols = ["theme", "indicator", "description", "unit1", "unit2", "available_since", "recipients", "legal_basis"]
    for mine, theirs in zip(indicators, ref):
        for c in ["id"] + cols:
            if mine[c] != theirs[c]:
                raise CatalogError(f"indicator {mine['id']}: column {c} differs from {reference_path}")
    if len(ref) != len(indicators):
        raise CatalogError(f"{reference_path} has {len(ref)} indicators, the catalogue {len(indicators)}")


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def layout(settings, by_kind, dim_values):
    """Cell offsets in a counter row: connections, then events, then tally counters."""
    levels = int(settings["level_slots"])
    n_conn = len(dim_values[PROFILE]) * len(dim_values[MEDIUM]) * len(dim_values[ACCESS])
    cell = n_conn
    events, tallies, gauges = [], [], []
    for m in by_kind["event"]:
        events.append((m, cell))
        cell += levels if m["per_level"] == "yes" else 1
    slot = 0
    for m in by_kind["tally"]:
        has_bins = m["bins"] != "-"
        tallies.append((m, cell, slot if has_bins else -1))
        slot += 1 if has_bins else 0
        cell += levels if m["per_level"] == "yes" else 1
    gcell = 0
    for m in by_kind["gauge"]:
        gauges.append((m, gcell))
        gcell += levels if m["per_level"] == "yes" else 1
    canonical = "|".join(
        [f"levels={levels}", f"conn={n_conn}"]
        + [f"{d['dimension']}:{d['id']}:{d['key']}" for vals in dim_values.values() for d in vals]
        + [f"{k}:{m['id']}:{m['key']}:{m['per_level']}:{m['bins']}" for k in MEASURE_KINDS for m in by_kind[k]])
    return dict(levels=levels, n_conn=n_conn, cells=cell, events=events, tallies=tallies,
                gauges=gauges, gauge_cells=gcell, tally_slots=slot, schema_hash=fnv1a64(canonical))


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gen_c_header(settings, by_kind, dim_values, lay):
    up = str.upper
    out = ["/* Generated by tools/gen_catalog.py from the catalog TSV files. Do not edit. */",
           "#ifndef SONDE_CATALOG_H", "#define SONDE_CATALOG_H", "",
           f"#define SONDE_CATALOG_VERSION {c_string(settings['catalog_version'])}",
           f"#define SONDE_SCHEMA_HASH 0x{lay['schema_hash']:016X}ULL",
           f"#define SONDE_LEVEL_SLOTS {lay['levels']} /* level 0 = unspecified, 1..{lay['levels'] - 1} declared */", ""]

    def enum(name, prefix, items, doc):
        out.append(f"/* {doc} Values never change; 0 is never valid. */")
        out.append(f"typedef enum {name} {{")
        for ident, value, label in items:
            out.append(f"    {prefix}{up(ident)} = {value}, /* {label} */")
        out.append(f"    {prefix}END_ = {len(items) + 1}")
        out.append(f"}} {name};")
        out.append("")

    for dim, prefix in ((PROFILE, "SONDE_PROFILE_"), (MEDIUM, "SONDE_MEDIUM_"), (ACCESS, "SONDE_ACCESS_"),
                        ("product", "SONDE_PRODUCT_")):
        enum(f"sonde_{dim}", prefix, [(d["key"], d["id"], d["label_fr"]) for d in dim_values[dim]],
             f"Dimension '{dim}'.")
    enum("sonde_event", "SONDE_EV_", [(m["key"], m["id"], m["label_fr"]) for m in by_kind["event"]],
         "Counter events (sonde_api.count).")
    enum("sonde_gauge", "SONDE_GAUGE_", [(m["key"], m["id"], m["label_fr"]) for m in by_kind["gauge"]],
         "Gauges: inventories set by the host (sonde_api.gauge_set).")
    enum("sonde_tally", "SONDE_TALLY_", [(m["key"], m["id"], m["label_fr"]) for m in by_kind["tally"]],
         "Per-student tallies (sonde_api.student).")
    out += ["#endif /* SONDE_CATALOG_H */", ""]
    return "\n".join(out)


def gen_cpp_layout(settings, by_kind, dim_values, indicators, lay):
    n_ev, n_ga, n_ta = len(by_kind["event"]), len(by_kind["gauge"]), len(by_kind["tally"])
    out = ["// Generated by tools/gen_catalog.py from catalog/*.tsv. Do not edit.", "#pragma once",
           "#include <cstdint>", "#include \"sonde_catalog.h\"", "", "namespace sonde::catalog {", "",
           f"inline constexpr uint64_t kSchemaHash = 0x{lay['schema_hash']:016X}ULL;",
           f"inline constexpr const char *kCatalogVersion = {c_string(settings['catalog_version'])};",
           f"inline constexpr uint32_t kLevelSlots = {lay['levels']};",
           f"inline constexpr uint32_t kProfiles = {len(dim_values[PROFILE])};",
           f"inline constexpr uint32_t kMedia = {len(dim_values[MEDIUM])};",
           f"inline constexpr uint32_t kAccesses = {len(dim_values[ACCESS])};",
           f"inline constexpr uint32_t kConnectionCells = {lay['n_conn']};",
           f"inline constexpr uint32_t kCounterCells = {lay['cells']};",
           f"inline constexpr uint32_t kGaugeCells = {lay['gauge_cells']};",
           f"inline constexpr uint32_t kTallySlots = {lay['tally_slots']};",
           f"inline constexpr uint32_t kEventCount = {n_ev};",
           f"inline constexpr uint32_t kGaugeCount = {n_ga};",
           f"inline constexpr uint32_t kTallyCount = {n_ta};", "",
           "struct CellSpan { uint32_t first; bool per_level; const char *key; const char *label; };",
           "struct TallyInfo { uint32_t first; bool per_level; int32_t slot; uint8_t bin_count;",
           "                   uint32_t bin_low[6]; const char *key; const char *label; };",
           "struct DimValue { const char *key; const char *label; };", ""]
    out.append("// Index = enum value; entry 0 is the invalid value.")
    out.append(f"inline constexpr CellSpan kEvents[{n_ev + 1}] = {{")
    out.append("    {0, false, nullptr, nullptr},")
    for m, cell in lay["events"]:
        out.append(f"    {{{cell}, {str(m['per_level'] == 'yes').lower()}, {c_string(m['key'])}, {c_string(m['label_fr'])}}},")
    out.append("};")
    out.append(f"inline constexpr CellSpan kGauges[{n_ga + 1}] = {{")
    out.append("    {0, false, nullptr, nullptr},")
    for m, cell in lay["gauges"]:
        out.append(f"    {{{cell}, {str(m['per_level'] == 'yes').lower()}, {c_string(m['key'])}, {c_string(m['label_fr'])}}},")
    out.append("};")
    out.append(f"inline constexpr TallyInfo kTallies[{n_ta + 1}] = {{")
    out.append("    {0, false, -1, 0, {}, nullptr, nullptr},")
    for m, cell, slot in lay["tallies"]:
        bins = parse_bins(m["bins"], m["key"]) if m["bins"] != "-" else []
        lows = ", ".join(str(lo) for lo, _ in bins)
        out.append(f"    {{{cell}, {str(m['per_level'] == 'yes').lower()}, {slot}, {len(bins)}, {{{lows}}}, "
                   f"{c_string(m['key'])}, {c_string(m['label_fr'])}}},")
    out.append("};")
    for dim in (PROFILE, MEDIUM, ACCESS):
        vals = dim_values[dim]
        out.append(f"inline constexpr DimValue k{dim.capitalize()}Values[{len(vals) + 1}] = {{{{nullptr, nullptr}}, "
                   + ", ".join(f"{{{c_string(v['key'])}, {c_string(v['label_fr'])}}}" for v in vals) + "};")
    out += ["",
            "enum class IndicatorKind : uint8_t { Counter, Gauge, Distinct, Distribution, Derived };",
            "enum class Audience : uint8_t { Authority, SchoolOnly };",
            "struct Indicator { uint16_t id; const char *key; IndicatorKind kind; Audience audience;",
            "                   const char *theme; const char *name; const char *dimensions; const char *source; };",
            f"inline constexpr Indicator kIndicators[{len(indicators)}] = {{"]
    kind_enum = {"counter": "Counter", "gauge": "Gauge", "distinct": "Distinct", "distribution": "Distribution",
                 "derived": "Derived"}
    for ind in indicators:
        aud = "SchoolOnly" if ind["audience"] == "school_only" else "Authority"
        out.append(f"    {{{ind['id']}, {c_string(ind['key'])}, IndicatorKind::{kind_enum[ind['kind']]}, Audience::{aud}, "
                   f"{c_string(ind['theme'])}, {c_string(ind['indicator'])}, {c_string(ind['dimensions'])}, "
                   f"{c_string(ind['source'])}}},")
    out.append("};")
    views = measure_views(indicators, by_kind)
    out += ["", "// The console's views (catalog/indicators.tsv, column views): a figure is sent only at the",
            "// windows of its measure's views, the union of those of the indicators it feeds.",
            "enum View : uint8_t {"]
    out += [f"    kView{''.join(w.capitalize() for w in v.split('_'))} = 1u << {i}," for i, v in enumerate(VIEWS)]
    out += ["};"]
    for kind, name in (("event", "kEventViews"), ("tally", "kTallyViews"), ("gauge", "kGaugeViews")):
        vals = ", ".join(str(views[m["key"]]) for m in by_kind[kind])
        out.append(f"inline constexpr uint8_t {name}[{len(by_kind[kind]) + 1}] = {{0, {vals}}};")
    out.append(f"inline constexpr uint8_t kConnectionViews = {views[by_kind['connection'][0]['key']]};")
    out.append(f"inline constexpr uint8_t kDistinctViews = {views[by_kind['distinct'][0]['key']]};")
    dp, dm, da = daily_distinct_selection(indicators, dim_values)
    out += ["// Hour and day series (views hourly:total, daily:total) show one figure per establishment:",
            "// all connections, and the distinct users of this selection (bit v-1 for value v).",
            f"inline constexpr uint32_t kDailyDistinctProfiles = {dp}, kDailyDistinctMedia = {dm},",
            f"                          kDailyDistinctAccesses = {da};"]
    out.append(f"inline constexpr const char *kIndicatorViews[{len(indicators)}] = {{")
    out += [f"    {c_string(ind['views'])}," for ind in indicators]
    out.append("};")
    out += ["",
            "inline constexpr uint32_t connection_cell(uint32_t profile, uint32_t medium, uint32_t access) {",
            "    return ((profile - 1) * kMedia + (medium - 1)) * kAccesses + (access - 1);",
            "}",
            "",
            "// The layout is checked at compile time against the enums of the ABI header.",
            f"static_assert(SONDE_EV_END_ == {n_ev + 1} && SONDE_GAUGE_END_ == {n_ga + 1} && SONDE_TALLY_END_ == {n_ta + 1});",
            "static_assert(SONDE_LEVEL_SLOTS == kLevelSlots);",
            "static_assert(kConnectionCells == kProfiles * kMedia * kAccesses);",
            "static_assert(connection_cell(kProfiles, kMedia, kAccesses) == kConnectionCells - 1);",
            "static_assert(kEvents[1].first == kConnectionCells);"]
    for table, end in (("kEvents", n_ev), ("kTallies", n_ta)):
        out.append(f"static_assert({table}[{end}].first + ({table}[{end}].per_level ? kLevelSlots : 1) "
                   f"{'<=' if table == 'kEvents' else '=='} kCounterCells);")
    out.append(f"static_assert(kGauges[{n_ga}].first + (kGauges[{n_ga}].per_level ? kLevelSlots : 1) == kGaugeCells);")
    out.append("static_assert(sizeof(kIndicators) / sizeof(kIndicators[0]) == 80);")
    out += ["", "}  // namespace sonde::catalog", ""]
    return "\n".join(out)


def gen_markdown(settings, by_kind, indicators, lay):
    out = ["<!-- Generated by tools/gen_catalog.py from catalog/*.tsv; a test checks this copy. Do not edit. -->",
           "# Indicator catalogue", "",
           f"Catalogue version {settings['catalog_version']}, schema hash `0x{lay['schema_hash']:016X}`, "
           f"{lay['levels']} level slots, {lay['cells']} counter cells per row, {lay['gauge_cells']} gauge cells.", "",
           "Kinds: **counter** (events the host records, cumulative), **gauge** (inventories the host sets), "
           "**distinct** (exact distinct users from the hashed-user table), **distribution** (per-student tallies "
           "binned per school year; the 0 bin comes from the enrolment gauge), **derived** (computed by the "
           "console from other values: `sum`, `ratio`, `referential` = the per-school table of the listed "
           "indicators). Audience `school_only` = *Établissements seuls*: never sent to a local authority by default.", "",
           "Views (what the console displays, so what a snapshot carries): `hourly` = *Suivi heure par heure* "
           "(3 weeks), `daily` = *Suivi journalier* (4 weeks), both `:total` (one figure per establishment: the "
           "sum over the indicators with that view and over their dimensions, so a snapshot carries only that total "
           "at hour and open-day windows), and the periods `last_day`, `current_month`, "
           "`last_month`, `current_year`, `last_year` that every indicator has.", "",
           "| id | theme | indicator | kind | source | dimensions | audience | since | views |",
           "|---:|---|---|---|---|---|---|---|---|"]
    for ind in indicators:
        src = ind["source"].replace("|", "\\|")
        out.append(f"| {ind['id']} | {ind['theme']} | {ind['indicator'].replace('|', '/')} | {ind['kind']} | `{src}` | "
                   f"{ind['dimensions'] or '—'} | {ind['audience']} | {ind['available_since']} | "
                   f"{'all periods' if ind['views'] == ','.join(PERIOD_VIEWS) else ind['views'].replace(','.join(PERIOD_VIEWS), '+ all periods').replace(',', ' ')} |")
    out += ["", "## Recorded measures", "", "| kind | ABI value | key | per level | bins | meaning |", "|---|---:|---|---|---|---|"]
    prefix = {"event": "SONDE_EV_", "gauge": "SONDE_GAUGE_", "tally": "SONDE_TALLY_", "connection": "", "distinct": ""}
    for kind in MEASURE_KINDS:
        for m in by_kind[kind]:
            ident = f"`{prefix[kind]}{m['key'].upper()}`" if prefix[kind] else "—"
            out.append(f"| {kind} | {ident} = {m['id']} | `{m['key']}` | {m['per_level']} | "
                       f"{m['bins'].replace('|', ' / ')} | {m['label_fr']} |")
    out.append("")
    return "\n".join(out)


def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--catalog", required=True, help="catalog/ directory")
    ap.add_argument("--out", help="output directory for generated headers and indicators.md")
    ap.add_argument("--reference", help="annex table to compare the indicator columns against")
    args = ap.parse_args()
    try:
        settings, dims, measures, indicators = load(args.catalog)
        dim_values = dimension_values(dims)
        by_kind = check_measures(measures)
        check_indicators(indicators, by_kind, dim_values, args.reference)
        lay = layout(settings, by_kind, dim_values)
    except (CatalogError, KeyError, ValueError) as e:
        print(f"gen_catalog: error: {e}", file=sys.stderr)
        return 1
    if args.out:
        write_if_changed(os.path.join(args.out, "sonde_catalog.h"), gen_c_header(settings, by_kind, dim_values, lay))
        write_if_changed(os.path.join(args.out, "catalog_layout.hpp"),
                         gen_cpp_layout(settings, by_kind, dim_values, indicators, lay))
        write_if_changed(os.path.join(args.out, "indicators.md"), gen_markdown(settings, by_kind, indicators, lay))
    print(f"gen_catalog: {len(indicators)} indicators, {len(measures)} measures, {lay['cells']} counter cells, "
          f"schema 0x{lay['schema_hash']:016X}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
