#include "ship/builder.hpp"

#include "catalog_layout.hpp"
#include "ship/latcher.hpp"
#include "ship/policy.hpp"
#include "shm/latch.hpp"
#include "snapshot/limits.hpp"

namespace sonde::ship {
namespace {

// The readers' figure bound (snapshot/limits.hpp) follows what this builder can produce.
static_assert(snapshot::kHourCellsPerWindow == shm::kHourCells);
static_assert(snapshot::kMaxHourWindows >= shm::kHourLatchSlots + 1);

using snapshot::MeasureKind;

// What one counter cell (or hourly cell) is, for the snapshot's dimensions.
struct CellMeaning {
    MeasureKind kind;
    uint32_t id, level, profile, medium, access;
};

CellMeaning connection_meaning(uint32_t c) {
    const uint32_t per_profile = catalog::kMedia * catalog::kAccesses;
    return {MeasureKind::Connection,
            1,
            0,
            c / per_profile + 1,
            (c % per_profile) / catalog::kAccesses + 1,
            c % catalog::kAccesses + 1};
}

std::vector<CellMeaning> full_cell_meanings() {
    std::vector<CellMeaning> m(catalog::kCounterCells);
    for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) m[c] = connection_meaning(c);
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        for (uint32_t l = 0; l < (catalog::kEvents[e].per_level ? catalog::kLevelSlots : 1); ++l)
            m[catalog::kEvents[e].first + l] = {MeasureKind::Event, e, l, 0, 0, 0};
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        for (uint32_t l = 0; l < (catalog::kTallies[t].per_level ? catalog::kLevelSlots : 1); ++l)
            m[catalog::kTallies[t].first + l] = {MeasureKind::Tally, t, l, 0, 0, 0};
    return m;
}

// Hourly cells sum the levels: level 0 there means "all levels".
std::vector<CellMeaning> hour_cell_meanings() {
    std::vector<CellMeaning> m(shm::kHourCells);
    for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) m[c] = connection_meaning(c);
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        m[catalog::kConnectionCells + e - 1] = {MeasureKind::Event, e, 0, 0, 0, 0};
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        m[catalog::kConnectionCells + catalog::kEventCount + t - 1] = {
            MeasureKind::Tally, t, 0, 0, 0, 0};
    return m;
}

snapshot::WindowKind window_kind(shm::LatchKind k) {
    switch (k) {
        case shm::LatchKind::Hour:
            return snapshot::WindowKind::Hour;
        case shm::LatchKind::Day:
            return snapshot::WindowKind::Day;
        case shm::LatchKind::Month:
            return snapshot::WindowKind::Month;
        case shm::LatchKind::SchoolYear:
            return snapshot::WindowKind::SchoolYear;
    }
    return snapshot::WindowKind::Unspecified;
}

snapshot::Window to_window(const WindowId &w) { return {window_kind(w.kind), w.start, w.number}; }

// Minimisation: the console's views of a measure (catalogue column `views`, the union over the
// indicators it feeds). A figure is sent only at a window one of its views displays.
uint8_t views_of(const CellMeaning &m) {
    switch (m.kind) {
        case MeasureKind::Connection:
            return catalog::kConnectionViews;
        case MeasureKind::Event:
            return catalog::kEventViews[m.id];
        case MeasureKind::Tally:
            return catalog::kTallyViews[m.id];
        default:
            return 0;
    }
}

// The views that display a window: hour (hour by hour), open day (day by day), closed day (day
// by day, last day), open and closed month and school year.
uint8_t views_showing(shm::LatchKind k, bool open) {
    switch (k) {
        case shm::LatchKind::Hour:
            return catalog::kViewHourly;
        case shm::LatchKind::Day:
            return open ? catalog::kViewDaily : catalog::kViewDaily | catalog::kViewLastDay;
        case shm::LatchKind::Month:
            return open ? catalog::kViewCurrentMonth : catalog::kViewLastMonth;
        case shm::LatchKind::SchoolYear:
            return open ? catalog::kViewCurrentYear : catalog::kViewLastYear;
    }
    return 0;
}

// The hour and day series (views hourly:total, daily:total) show one figure per
// establishment; the period views show the measure's dimensions.
constexpr uint8_t kSeriesViews = catalog::kViewHourly | catalog::kViewDaily;

void emit_differences(snapshot::Snapshot &s, const WindowId &w, bool open,
                      const std::vector<int64_t> &end, const std::vector<int64_t> &start,
                      const std::vector<CellMeaning> &meaning) {
    const uint8_t shown_by = views_showing(w.kind, open);
    int64_t connections = 0;  // the total of every connection cell, for the series
    bool connection_total = false;
    for (size_t c = 0; c < meaning.size(); ++c) {
        const CellMeaning &m = meaning[c];
        const uint8_t shown = views_of(m) & shown_by;
        if (!shown) continue;  // no view displays it: not sent
        // Cumulative cells wrap modulo 2^64 (docs/abi.md): so does their difference, which is
        // exact whenever the window's own figure fits in an int64_t.
        const int64_t v = int64_t(uint64_t(end[c]) - uint64_t(start[c]));
        if (m.kind == MeasureKind::Connection && (shown & kSeriesViews)) {
            connections = int64_t(uint64_t(connections) + uint64_t(v));
            connection_total = true;
        }
        if (!(shown & ~kSeriesViews)) continue;  // only a series shows it: its total alone
        if (v == 0) continue;                    // absent = 0 for the console's upsert
        s.values.push_back({to_window(w), m.kind, m.id, m.level, m.profile, m.medium, m.access, v,
                            false, false, !open});
    }
    // All connections (profile, medium and access 0 = all): the series' one figure.
    if (connection_total && connections != 0)
        s.values.push_back({to_window(w), MeasureKind::Connection, 1, 0, 0, 0, 0, connections,
                            false, false, !open});
}

// Closed hours from `from` on (each latch to the next one; an hour whose successor latch is
// missing, after an outage, carries everything up to the next latch that exists: figures are
// attributed late, never lost), then the open hour up to the live totals.
void emit_hours(snapshot::Snapshot &s, const BuildRequest &r, const Windows &open,
                const std::vector<int64_t> &live, BuildStats &stats) {
    static const std::vector<CellMeaning> meaning = hour_cell_meanings();
    std::vector<int64_t> live_hour(shm::kHourCells), start, next;
    shm::hour_cells_from(live.data(), live_hour.data());
    const int64_t oldest = open.hour.start - int64_t(shm::kHourLatchSlots - 1) * 3600;
    WindowId h = windows_at(*r.tz, r.school_year_start, std::max(r.first_hour_start, oldest)).hour;
    stats.last_closed_hour_end = r.first_hour_start;
    // Coverage: from the first hour looked at (hours before the latch ring, after an outage of
    // more than 8 days, are not carried: a gap the console sees) to the end of the last closed
    // hour, which is where the next snapshot starts.
    s.coverage.hours_from = h.start;
    int64_t open_hour = -1;
    while (h.start <= open.hour.start) {
        if (!read_latch(r.view->mapping(), h, start)) {
            h = windows_at(*r.tz, r.school_year_start, h.end).hour;
            continue;
        }
        WindowId n = h;
        bool closed = false;
        while (n.start < open.hour.start) {
            n = windows_at(*r.tz, r.school_year_start, n.end).hour;
            if (read_latch(r.view->mapping(), n, next)) {
                closed = true;
                break;
            }
        }
        emit_differences(s, h, !closed, closed ? next : live_hour, start, meaning);
        if (stats.hours++ == 0) stats.first_hour = h.start;
        if (closed) stats.last_closed_hour_end = n.start;
        if (!closed) {
            // The hour carried up to the live totals: everything before it is complete (hours
            // without a latch had no count: before the segment existed, or while no process ran).
            open_hour = h.start;
            break;
        }
        h = n;
    }
    s.coverage.hours_to =
        std::max(s.coverage.hours_from, open_hour >= 0 ? open_hour : stats.last_closed_hour_end);
    s.coverage.restart = r.restart;
}

// The open window (live totals minus its latch) and the closed one (two latches).
void emit_period(snapshot::Snapshot &s, const BuildRequest &r, const WindowId &open,
                 const std::vector<int64_t> &live) {
    static const std::vector<CellMeaning> meaning = full_cell_meanings();
    std::vector<int64_t> open_latch, closed_latch;
    if (!read_latch(r.view->mapping(), open, open_latch)) return;
    emit_differences(s, open, true, live, open_latch, meaning);
    const WindowId closed = previous(*r.tz, r.school_year_start, open);
    if (read_latch(r.view->mapping(), closed, closed_latch))
        emit_differences(s, closed, false, open_latch, closed_latch, meaning);
}

uint32_t bit(uint32_t v) { return snapshot::value_bit(v); }
uint32_t all_bits(uint32_t n) { return (uint32_t{1} << n) - 1; }

// Distinct users for the selections the console shows: at the period views, every single
// combination ("Individus par ENT" per medium), each profile per medium and on .Net (web or
// mobile), each profile, all; at the day series (daily:total), its one selection (the
// catalogue's kDailyDistinct*: every profile of a .Net indicator, on .Net).
void emit_distinct(snapshot::Snapshot &s, const reader::SegmentView &v, const WindowId &w,
                   bool open) {
    const uint8_t shown = catalog::kDistinctViews & views_showing(w.kind, open);
    if (!shown) return;
    const shm::Window table = w.kind == shm::LatchKind::Day     ? shm::kDay
                              : w.kind == shm::LatchKind::Month ? shm::kMonth
                                                                : shm::kSchoolYear;
    const auto groups = v.mask_histogram(table, w.number);
    if (groups.empty()) return;
    auto add = [&](uint32_t profiles, uint32_t media, uint32_t accesses) {
        uint64_t mask = 0;
        for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
            for (uint32_t m = 1; m <= catalog::kMedia; ++m)
                for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                    if ((profiles & bit(p)) && (media & bit(m)) && (accesses & bit(a)))
                        mask |= uint64_t{1} << catalog::connection_cell(p, m, a);
        uint64_t users = 0;
        for (const auto &[used, count] : groups)
            if (used & mask) users += count;
        if (users) s.distinct.push_back({to_window(w), profiles, media, accesses, users, false});
    };
    const uint32_t any_profile = all_bits(catalog::kProfiles),
                   any_medium = all_bits(catalog::kMedia),
                   any_access = all_bits(catalog::kAccesses);
    if (shown & kSeriesViews)
        add(catalog::kDailyDistinctProfiles, catalog::kDailyDistinctMedia,
            catalog::kDailyDistinctAccesses);
    if (!(shown & ~kSeriesViews)) return;  // the series only
    const uint32_t net = bit(SONDE_MEDIUM_WEB) | bit(SONDE_MEDIUM_MOBILE);
    add(any_profile, any_medium, any_access);
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p) {
        add(bit(p), any_medium, any_access);
        add(bit(p), net, any_access);
        for (uint32_t a = 1; a <= catalog::kAccesses; ++a) add(bit(p), net, bit(a));
        for (uint32_t m = 1; m <= catalog::kMedia; ++m) {
            add(bit(p), bit(m), any_access);
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a) add(bit(p), bit(m), bit(a));
        }
    }
}

void emit_distributions(snapshot::Snapshot &s, const reader::SegmentView &v, const WindowId &year) {
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
        if (catalog::kTallies[t].slot < 0) continue;
        const reader::Distribution d = v.distribution(t, year.number);
        for (uint32_t l = 0; l < catalog::kLevelSlots; ++l) {
            uint64_t students = 0;
            for (uint32_t b = 0; b < d.bin_count; ++b) students += d.per_level[l][b];
            if (!students) continue;
            snapshot::Distribution out{to_window(year), t, l, {}, {}, false, false};
            for (uint32_t b = 0; b < d.bin_count; ++b) {
                out.bin_low.push_back(d.bin_low[b]);
                out.students.push_back(d.per_level[l][b]);
            }
            s.distributions.push_back(std::move(out));
        }
    }
}

// A gauge carries the time it was set, and a snapshot never carries a gauge set after its own
// time: a process whose clock runs ahead of the shipper's (a replay, or a gauge set between
// the shipper's reading of the clock and of the segment) could otherwise show the console a
// value "from the future". Such a gauge is left out (the console keeps the previous reading)
// and goes out with the first snapshot made at or after its time.
void emit_gauges(snapshot::Snapshot &s, const reader::SegmentView &v, int64_t now,
                 BuildStats &stats) {
    for (uint32_t g = 1; g <= catalog::kGaugeCount; ++g)
        for (uint32_t l = 0; l < (catalog::kGauges[g].per_level ? catalog::kLevelSlots : 1); ++l) {
            const reader::GaugeValue gv = v.gauge(g, l);
            if (!gv.set) continue;
            if (int64_t(gv.set_unix) > now) {
                ++stats.gauges_deferred;
                continue;
            }
            s.gauges.push_back({g, l, gv.value, int64_t(gv.set_unix), false, false});
        }
}

}  // namespace

snapshot::Snapshot build_snapshot(const BuildRequest &r, BuildStats *stats_out) {
    BuildStats stats;
    snapshot::Snapshot s;
    const reader::SegmentView &v = *r.view;
    const shm::Header &h = v.header();
    s.schema_hash = catalog::kSchemaHash;
    s.catalog_version = catalog::kCatalogVersion;
    s.base_id = h.base_id;
    s.product = h.product;
    s.segment_generation = h.generation;
    s.segment_boots = uint32_t(h.boots.load(std::memory_order_relaxed));
    s.sequence = r.sequence;
    s.created_unix = r.now;
    s.timezone = r.timezone_name;
    for (uint32_t l = 1; l < catalog::kLevelSlots; ++l) {
        std::string label = v.level_label(l);
        if (!label.empty()) s.levels.push_back({l, std::move(label)});
    }
    const std::vector<int64_t> live = v.cells();
    const Windows open = windows_at(*r.tz, r.school_year_start, r.now);
    emit_hours(s, r, open, live, stats);
    // Social counts are released once per closed local day (docs/privacy.md): their open month
    // and school year count up to the open day's latch (local midnight), not up to now, so that
    // two snapshots of one day carry the same Social figures.
    std::vector<int64_t> as_of_midnight = live, day_latch;
    if (read_latch(v.mapping(), open.day, day_latch))
        for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
            if (tally_policy(t).social)
                for (uint32_t l = 0;
                     l < (catalog::kTallies[t].per_level ? catalog::kLevelSlots : 1); ++l)
                    as_of_midnight[catalog::kTallies[t].first + l] =
                        day_latch[catalog::kTallies[t].first + l];
    emit_period(s, r, open.day, live);
    for (const WindowId *w : {&open.month, &open.school_year})
        emit_period(s, r, *w, as_of_midnight);
    for (const WindowId *w : {&open.day, &open.month, &open.school_year}) {
        emit_distinct(s, v, *w, true);
        emit_distinct(s, v, previous(*r.tz, r.school_year_start, *w), false);
    }
    // The current school year only: bin 0 comes from today's enrolment. The closed year's final
    // distribution is in the last snapshot of that year.
    emit_distributions(s, v, open.school_year);
    emit_gauges(s, v, r.now, stats);
    if (stats_out) *stats_out = stats;
    return s;
}

}  // namespace sonde::ship
