// The privacy auditor (tools/ctl/audit.hpp) against snapshots of a simulated school year.
//
// The simulation is seeded and built to provoke small cells: a collège with small-class
// levels (6e and 5e SEGPA of 12 and 14 pupils, ULIS of 10), a few late arrivals and absences
// per level and day, corrections (negative figures) the next day, rare precautionary measures,
// a dropout follow-up gauge that moves by one, and the absence distribution. The school year
// runs from 2025-09-01 to 2026-07-04 with the zone C holidays of the 2025-2026 calendar
// (Toussaint, Noël, hiver, printemps; from the Journal officiel calendar, vendored here as
// dates only).
//
// Snapshots are made the way plugin/ship/builder.cc makes them, from the simulated events:
//  - "before": the builder and policy before docs/privacy.md (every hour of every tally,
//    summed over levels; the open day, month and school year up to the snapshot's time) with
//    the figure-by-figure rule: the auditor must find disclosures;
//  - "rule 2": what the builder sends now (views: closed day, open month and school year as
//    of the last local midnight, closed month and school year) with apply_policy: none.
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "../unit/temp_dir.hpp"
#include "catalog_layout.hpp"
#include "ctl/audit.hpp"
#include "ship/policy.hpp"
#include "ship/windows.hpp"
#include "snapshot/console.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/keys.hpp"
#include "snapshot/wire.hpp"

namespace {

using namespace sonde;
using snapshot::MeasureKind;
using snapshot::WindowKind;

constexpr uint32_t kK = 5;

struct Level {
    uint32_t slot;
    const char *label;
    uint32_t pupils;
};
constexpr Level kLevels[] = {{1, "6e", 118}, {2, "5e", 112},      {3, "4e", 109},
                             {4, "3e", 104}, {5, "6e SEGPA", 12}, {6, "5e SEGPA", 14},
                             {7, "ULIS", 10}};

// Zone C, 2025-2026 (calendar of the Ministry of Education): first and last day off, inclusive.
constexpr int kHolidays[][6] = {{2025, 10, 18, 2025, 11, 2},
                                {2025, 12, 20, 2026, 1, 4},
                                {2026, 2, 21, 2026, 3, 8},
                                {2026, 4, 18, 2026, 5, 3}};

struct Event {
    int64_t at;
    int64_t delta;
    uint32_t pupil;  // for the distribution
};

struct Sim {
    time::TimeZone tz;
    std::vector<int64_t> school_days;  // local midnights
    // (tally, level) -> events in time order
    std::map<std::pair<uint32_t, uint32_t>, std::vector<Event>> events;
    std::map<uint32_t, std::vector<std::pair<int64_t, int64_t>>> dropout;  // level -> (at, value)
    int64_t first = 0, last = 0;

    int64_t count(uint32_t tally, uint32_t level, int64_t from, int64_t to) const {
        const auto it = events.find({tally, level});
        if (it == events.end()) return 0;
        int64_t n = 0;
        for (const Event &e : it->second)
            if (e.at >= from && e.at < to) n += e.delta;
        return n;
    }
};

bool holiday(int y, unsigned m, unsigned d) {
    const long day = y * 10000L + m * 100 + d;
    for (const auto &h : kHolidays)
        if (day >= h[0] * 10000L + h[1] * 100 + h[2] && day <= h[3] * 10000L + h[4] * 100 + h[5])
            return true;
    return false;
}

Sim simulate(uint64_t seed, int y0, unsigned m0, unsigned d0, int days) {
    std::string error;
    Sim sim{*time::TimeZone::load("Europe/Paris", &error), {}, {}, {}, 0, 0};
    std::mt19937_64 rng(seed);
    auto chance = [&](double p) { return std::uniform_real_distribution<>(0, 1)(rng) < p; };
    const int64_t start = ship::local_midnight(sim.tz, y0, m0, d0);
    sim.first = start;
    int64_t midnight = start;
    for (int i = 0; i < days; ++i, midnight = time::next_local_midnight(sim.tz, midnight)) {
        const time::LocalTime l = time::to_local(sim.tz, midnight + 3600);
        const int64_t civil = time::days_from_civil(l.year, l.month, l.day);
        const int wd = int((civil + 3) % 7);  // 0 = Monday (1970-01-01 was a Thursday)
        if (wd >= 5 || holiday(l.year, l.month, l.day) || (l.month == 7 && l.day > 4) ||
            l.month == 8)
            continue;
        sim.school_days.push_back(midnight);
        for (const Level &lv : kLevels) {
            const double scale = lv.pupils / 100.0;
            auto add = [&](uint32_t tally, double rate) {
                const int n = std::poisson_distribution<>(rate * scale)(rng);
                for (int e = 0; e < n; ++e) {
                    const int64_t at =
                        midnight + 3600 * (8 + int64_t(rng() % 10)) + int64_t(rng() % 3600);
                    const uint32_t pupil = uint32_t(rng() % lv.pupils);
                    sim.events[{tally, lv.slot}].push_back({at, 1, pupil});
                    if (chance(0.06))  // corrected the next school hour or day
                        sim.events[{tally, lv.slot}].push_back({at + 3600 * 20, -1, pupil});
                }
            };
            add(SONDE_TALLY_LATE_ARRIVAL, 1.5);
            add(SONDE_TALLY_ABSENCE_HALF_DAY, 2.5);
            add(SONDE_TALLY_PRECAUTIONARY_MEASURE, 0.02);
            if (chance(0.02)) {
                auto &d = sim.dropout[lv.slot];
                const int64_t prev = d.empty() ? 0 : d.back().second;
                d.push_back(
                    {midnight + 10 * 3600, std::max<int64_t>(0, prev + (chance(0.7) ? 1 : -1))});
            }
        }
    }
    sim.last = midnight;
    for (auto &[key, list] : sim.events)
        std::sort(list.begin(), list.end(),
                  [](const Event &a, const Event &b) { return a.at < b.at; });
    return sim;
}

snapshot::Window window(const ship::WindowId &w) {
    const WindowKind kind = w.kind == shm::LatchKind::Hour    ? WindowKind::Hour
                            : w.kind == shm::LatchKind::Day   ? WindowKind::Day
                            : w.kind == shm::LatchKind::Month ? WindowKind::Month
                                                              : WindowKind::SchoolYear;
    return {kind, w.start, w.number};
}

constexpr uint32_t kTallies[] = {SONDE_TALLY_ABSENCE_HALF_DAY, SONDE_TALLY_LATE_ARRIVAL,
                                 SONDE_TALLY_PRECAUTIONARY_MEASURE};

// One snapshot at `now`. before = the builder and policy before docs/privacy.md.
snapshot::Snapshot build(const Sim &sim, int64_t now, int64_t previous_snapshot, bool before,
                         uint64_t sequence, const std::string &base) {
    snapshot::Snapshot s;
    s.schema_hash = catalog::kSchemaHash;
    s.catalog_version = catalog::kCatalogVersion;
    s.base_id = base;
    s.product = 1;
    s.segment_generation = 1;
    s.sequence = sequence;
    s.created_unix = now;
    s.timezone = "Europe/Paris";
    for (const Level &lv : kLevels) s.levels.push_back({lv.slot, lv.label});
    const ship::Windows open = ship::windows_at(sim.tz, {}, now);
    const int64_t midnight = open.day.start;
    auto value = [&](const ship::WindowId &w, uint32_t tally, uint32_t level, int64_t to,
                     bool closed) {
        const int64_t v = level == 0 ? 0 : sim.count(tally, level, w.start, to);
        if (level != 0 && v != 0)
            s.values.push_back(
                {window(w), MeasureKind::Tally, tally, level, 0, 0, 0, v, false, false, closed});
    };
    for (uint32_t t : kTallies) {
        if (before) {  // every hour since the last snapshot, levels summed, and the open hour
            for (ship::WindowId h = ship::windows_at(sim.tz, {}, previous_snapshot).hour;
                 h.start <= open.hour.start; h = ship::windows_at(sim.tz, {}, h.end).hour) {
                int64_t v = 0;
                for (const Level &lv : kLevels)
                    v += sim.count(t, lv.slot, h.start, std::min(h.end, now));
                if (v)
                    s.values.push_back({window(h), MeasureKind::Tally, t, 0, 0, 0, 0, v, false,
                                        false, h.end <= now});
            }
        }
        for (const Level &lv : kLevels) {
            if (before) value(open.day, t, lv.slot, now, false);
            value(ship::previous(sim.tz, {}, open.day), t, lv.slot, midnight, true);
            for (const ship::WindowId *w : {&open.month, &open.school_year}) {
                value(*w, t, lv.slot, before ? now : midnight, false);
                const ship::WindowId closed = ship::previous(sim.tz, {}, *w);
                value(closed, t, lv.slot, closed.end, true);
            }
        }
    }
    for (const auto &[level, changes] : sim.dropout) {
        const std::pair<int64_t, int64_t> *last = nullptr;
        for (const auto &c : changes)
            if (c.first <= now) last = &c;
        if (last)
            s.gauges.push_back({SONDE_GAUGE_STUDENTS_DROPOUT_FOLLOWUP, level, last->second,
                                last->first, false, false});
    }
    // The absence distribution of the open school year, per level, at `now`.
    for (const Level &lv : kLevels) {
        std::vector<int64_t> per_pupil(lv.pupils, 0);
        const auto it = sim.events.find({SONDE_TALLY_ABSENCE_HALF_DAY, lv.slot});
        if (it != sim.events.end())
            for (const Event &e : it->second)
                if (e.at >= open.school_year.start && e.at < now) per_pupil[e.pupil] += e.delta;
        snapshot::Distribution d{window(open.school_year),
                                 SONDE_TALLY_ABSENCE_HALF_DAY,
                                 lv.slot,
                                 {0, 1, 5, 10, 20},
                                 std::vector<uint64_t>(5, 0),
                                 false,
                                 false};
        for (int64_t n : per_pupil)
            ++d.students[n <= 0 ? 0 : n < 5 ? 1 : n < 10 ? 2 : n < 20 ? 3 : 4];
        s.distributions.push_back(std::move(d));
    }
    if (before)
        ship::apply_policy_rule1(s, {kK, false});
    else
        ship::apply_policy(s, {kK, false});
    return s;
}

ctl::audit::Input decoded(const snapshot::Snapshot &s) {
    snapshot::Bytes bytes;
    snapshot::encode(s, bytes);
    ctl::audit::Input in{"snap-" + std::to_string(s.sequence), {}};
    std::string error;
    REQUIRE(snapshot::parse_snapshot(bytes, in.snapshot, &error) == snapshot::OpenError::None);
    return in;
}

// Snapshots at the given local hours of every day from the first to the last simulated day.
std::vector<ctl::audit::Input> run(const Sim &sim, bool before, std::vector<int> hours,
                                   const std::string &base) {
    std::vector<ctl::audit::Input> out;
    int64_t previous = sim.first;
    uint64_t sequence = 0;
    for (int64_t m = sim.first; m <= sim.last; m = time::next_local_midnight(sim.tz, m))
        for (int h : hours) {
            const int64_t now = m + 3600 * int64_t(h);
            out.push_back(decoded(build(sim, now, previous, before, ++sequence, base)));
            previous = now;
        }
    return out;
}

}  // namespace

TEST_CASE("audit: the figure-by-figure rule gives small counts away", "[audit]") {
    // Three weeks of November, snapshots at 10:00, 14:00 and 18:00.
    const Sim sim = simulate(7, 2025, 11, 3, 21);
    const auto snapshots = run(sim, true, {10, 14, 18}, "0310001A");
    const ctl::audit::Report r = ctl::audit::audit_base(snapshots, kK, 1000000);
    CHECK(r.inconsistent == 0);
    REQUIRE(r.disclosures > 0);
    CHECK(r.found.size() == r.disclosures);
    // The kinds listed in issue 8: a level's small count from a day or month minus published
    // figures, small differences of successive readings, and small net changes of a gauge.
    bool per_level = false, successive = false, by_subtraction = false;
    for (const ctl::audit::Disclosure &d : r.found) {
        if (d.measure.rfind("tally", 0) == 0 && d.cells.rfind("level", 0) == 0) per_level = true;
        if (d.figures.size() == 2) successive = true;
        if (d.figures.size() >= 3) by_subtraction = true;
        REQUIRE_FALSE(d.figures.empty());
        CHECK(d.value != 0);
        CHECK(d.value < int64_t(kK));
        CHECK(d.value > -int64_t(kK));
    }
    CHECK(per_level);
    CHECK(successive);
    CHECK(by_subtraction);
    UNSCOPED_INFO("figure-by-figure rule: " << r.disclosures << " disclosures, e.g.\n"
                                            << ctl::audit::describe(r.found.front()));
    CHECK(r.disclosures > 100);
}

TEST_CASE("audit: rule 2 over a school year of two bases gives nothing away", "[audit]") {
    uint64_t seed = 2025;
    for (const char *base : {"0310001A", "0310002B"}) {
        // 2025-09-01 to 2026-07-31, one snapshot a day at 18:00 and one at 07:00: the open
        // windows move once per closed day, whatever the number of snapshots.
        const Sim sim = simulate(seed++, 2025, 9, 1, 334);
        REQUIRE(sim.school_days.size() > 150);
        auto snapshots = run(sim, false, {7, 18}, base);
        // The closed school year is exact where it is >= k: the final figures of the year are
        // in the first snapshot of the next one, which the console user keeps too.
        const snapshot::Snapshot next = build(
            sim, ship::local_midnight(sim.tz, 2026, 9, 1) + 18 * 3600, sim.last, false, 999, base);
        snapshots.push_back(decoded(next));
        const ctl::audit::Report r = ctl::audit::audit_base(snapshots, kK, 5);
        CHECK(r.inconsistent == 0);
        CHECK(r.equations > 0);
        for (const auto &d : r.found) UNSCOPED_INFO(ctl::audit::describe(d));
        CHECK(r.disclosures == 0);
        size_t exact = 0;
        for (const snapshot::Value &v : next.values)
            if (v.window.kind == WindowKind::SchoolYear &&
                v.window.start_unix < next.created_unix - 86400 * 300) {
                const int64_t truth =
                    sim.count(v.measure_id, v.level, v.window.start_unix, sim.last + 86400 * 40);
                if (truth >= int64_t(kK)) {
                    CHECK(v.value == truth);
                    CHECK_FALSE(v.rounded);
                    ++exact;
                } else {
                    CHECK(v.suppressed);
                }
            }
        CHECK(exact > 0);
    }
}

TEST_CASE("audit: rule 2 hides the seeded random small cells that rule 1 lets through", "[audit]") {
    for (uint64_t seed : {11u, 12u, 13u}) {
        const Sim sim = simulate(seed, 2026, 3, 9, 14);  // two weeks in March
        const auto old_rule = ctl::audit::audit_base(run(sim, true, {9, 13, 17}, "0310001A"), kK);
        const auto new_rule = ctl::audit::audit_base(run(sim, false, {9, 13, 17}, "0310001A"), kK);
        CHECK(old_rule.disclosures > 0);
        CHECK(new_rule.disclosures == 0);
        CHECK(new_rule.inconsistent == 0);
    }
}

// A disclosure that only a set of levels other than one level, all levels or all but one
// gives away: on one day, the 24 hour figures sum all four levels (202 in all), levels 3 and
// 4 are published (100 each), levels 1 and 2 are hidden (1 each). Each level alone, all levels
// and every "all but one" are either undetermined or >= k; levels 1 + 2 = 202 - 100 - 100 = 2.
TEST_CASE("audit: solves for any set of levels, not only one, all or all but one", "[audit]") {
    std::string error;
    const time::TimeZone tz = *time::TimeZone::load("Europe/Paris", &error);
    const int64_t tuesday = ship::local_midnight(tz, 2025, 11, 4);
    const uint32_t t = SONDE_TALLY_LATE_ARRIVAL;
    auto make = [&](bool publish_levels) {
        snapshot::Snapshot s;
        s.schema_hash = catalog::kSchemaHash;
        s.catalog_version = catalog::kCatalogVersion;
        s.base_id = "0310001A";
        s.product = 1;
        s.segment_generation = 1;
        s.sequence = 1;
        s.created_unix = tuesday + 86400 + 10 * 3600;  // Wednesday 10:00
        s.timezone = "Europe/Paris";
        const snapshot::Window day = window(ship::windows_at(tz, {}, tuesday + 3600).day);
        for (int h = 0; h < 24; ++h)  // 22 hours of 8 and 2 of 13: 202
            s.values.push_back({window(ship::windows_at(tz, {}, tuesday + h * 3600 + 60).hour),
                                MeasureKind::Tally, t, 0, 0, 0, 0, h < 22 ? 8 : 13, false, false,
                                true});
        for (uint32_t level : {1u, 2u})  // hidden: 1 each
            s.values.push_back({day, MeasureKind::Tally, t, level, 0, 0, 0, 0, true, false, true});
        for (uint32_t level : {3u, 4u})
            s.values.push_back({day, MeasureKind::Tally, t, level, 0, 0, 0,
                                publish_levels ? 100 : 0, !publish_levels, false, true});
        s.policy = {kK, false, 1};
        return decoded(s);
    };
    const ctl::audit::Report r = ctl::audit::audit_base({make(true)}, kK, 100);
    CHECK(r.inconsistent == 0);
    REQUIRE(r.disclosures == 1);
    REQUIRE(r.found.size() == 1);
    const ctl::audit::Disclosure &d = r.found.front();
    CHECK(d.cells == "levels 1+2");
    CHECK(d.value == 2);
    CHECK(d.from == tuesday);
    CHECK(d.to == tuesday + 86400);
    CHECK(r.by_figures[2] == 1);       // 24 hours minus two levels: 26 figures
    CHECK(d.figures.back() == "...");  // the report lists the first 12
    CHECK(r.by_other_sets == 1);
    UNSCOPED_INFO(ctl::audit::describe(d));
    // The sets the former auditor tried (each level, all, all but one) give nothing here: the
    // determined ones are levels 3 and 4 (100), all levels (202), all but 4 and all but 3 (102).
    for (const ctl::audit::Disclosure &x : r.found) CHECK(x.cells != "levels 1+2+3");
    // With levels 3 and 4 hidden too, nothing below the whole day is determined.
    const ctl::audit::Report hidden = ctl::audit::audit_base({make(false)}, kK, 100);
    CHECK(hidden.disclosures == 0);
    CHECK(hidden.inconsistent == 0);
}

// The command line: sealed files in a directory, exit 1 and each disclosure printed with its
// files under rule 1, exit 0 under rule 2.
TEST_CASE("audit: sonde-ctl audit exits 1 on the figure-by-figure rule, 0 on rule 2", "[audit]") {
    const TempDir dir_tmp("sonde-audit-");
    const std::string &dir = dir_tmp.path;
    crypto::KeyPair console, server;
    std::string error;
    REQUIRE(snapshot::generate_key_file(dir + "/console.key", console, &error));
    REQUIRE(snapshot::generate_key_file(dir + "/server.key", server, &error));
    REQUIRE(snapshot::save_public_key(dir + "/server.pub", server.public_key, false, &error,
                                      {"0310001A"}));
    const Sim sim = simulate(5, 2025, 11, 17, 5);
    for (const bool before : {true, false}) {
        const std::string spool = dir + (before ? "/rule1" : "/rule2");
        std::filesystem::create_directory(spool);
        int64_t previous = sim.first;
        uint64_t sequence = 0;
        for (int64_t m = sim.first; m <= sim.last; m = time::next_local_midnight(sim.tz, m))
            for (int h : {11, 16}) {
                const int64_t now = m + 3600 * h;
                const snapshot::Snapshot s =
                    build(sim, now, previous, before, ++sequence, "0310001A");
                previous = now;
                snapshot::SealParams seal;
                seal.recipient_public = console.public_key;
                seal.sender = server;
                seal.base_id = s.base_id;
                seal.sequence = s.sequence;
                seal.created_unix = s.created_unix;
                snapshot::Bytes file;
                REQUIRE(snapshot::seal_snapshot(s, seal, file, &error));
                char name[64];
                std::snprintf(name, sizeof name, "/0310001A-%04llu.sonde",
                              static_cast<unsigned long long>(s.sequence));
                std::ofstream(spool + name, std::ios::binary)
                    .write(reinterpret_cast<const char *>(file.data()),
                           std::streamsize(file.size()));
            }
        const std::string cmd = std::string(SONDE_CTL_PATH) + " audit " + spool + " --key " + dir +
                                "/console.key --trust " + dir + "/server.pub 2>&1";
        FILE *p = ::popen(cmd.c_str(), "r");
        REQUIRE(p);
        std::string out;
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        const int status = WEXITSTATUS(::pclose(p));
        INFO(out);
        if (before) {
            CHECK(status == 1);
            CHECK(out.find("DISCLOSURE 0310001A") != std::string::npos);
            CHECK(out.find("/rule1/0310001A-0") != std::string::npos);  // the files named
            CHECK(out.find(": FAILED") != std::string::npos);
        } else {
            CHECK(status == 0);
            CHECK(out.find("1 base(s), 0 disclosure(s): ok") != std::string::npos);
        }
    }
    std::filesystem::remove_all(dir);
}

// Numbers for docs/privacy.md: what rule 2 holds back over the simulated school year, counted
// at the console (the last figure of each key, as the ingest keeps it) and in all snapshots.
TEST_CASE("audit: what rule 2 holds back over a school year", "[.stats]") {
    const Sim sim = simulate(2025, 2025, 9, 1, 334);
    std::map<std::string, std::pair<bool, bool>> console;  // key -> rounded, suppressed
    size_t sent = 0, rounded = 0, suppressed = 0, exact = 0;
    int64_t previous = sim.first;
    uint64_t sequence = 0;
    std::vector<int64_t> times;
    for (int64_t m = sim.first; m <= sim.last; m = time::next_local_midnight(sim.tz, m))
        for (int h : {7, 18}) times.push_back(m + 3600 * h);
    times.push_back(ship::local_midnight(sim.tz, 2026, 9, 1) + 18 * 3600);
    for (int64_t now : times) {
        const snapshot::Snapshot s = build(sim, now, previous, false, ++sequence, "0310001A");
        previous = now;
        for (const snapshot::Value &v : s.values) {
            ++sent;
            rounded += v.rounded && !v.suppressed;
            suppressed += v.suppressed;
            exact += !v.rounded && !v.suppressed;
            console[std::to_string(int(v.window.kind)) + "/" + std::to_string(v.window.start_unix) +
                    "/" + std::to_string(v.measure_id) + "/" + std::to_string(v.level)] = {
                v.rounded && !v.suppressed, v.suppressed};
        }
    }
    size_t c_rounded = 0, c_suppressed = 0;
    for (const auto &[key, f] : console) c_rounded += f.first, c_suppressed += f.second;
    std::printf(
        "snapshots %zu: Social values sent %zu (rounded %zu, suppressed %zu, exact %zu); "
        "at the console %zu keys: rounded %zu, suppressed %zu, exact %zu\n",
        times.size(), sent, rounded, suppressed, exact, console.size(), c_rounded, c_suppressed,
        console.size() - c_rounded - c_suppressed);
}
