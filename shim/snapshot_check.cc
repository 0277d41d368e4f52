#include "snapshot_check.hpp"

#include <cstdio>
#include <map>
#include <sstream>

#include "cells.hpp"

namespace sonde::shim {
namespace {

using snapshot::IngestStore;
namespace v1 = snapshot::v1;
using Family = IngestStore::Family;
using FigureKey = std::vector<int64_t>;  // {family, window kind, number (hour: start), dims...}

struct Figure {
    int64_t value = 0;
    bool suppressed = false, rounded = false;
    int64_t set_unix = 0;
    std::vector<uint64_t> students;
};

struct Policy {
    bool school_only = false, social = false;
};

// The first non-derived indicator whose source names `key` (as the catalogue defines it).
Policy policy_of(const char *key) {
    for (const catalog::Indicator &i : catalog::kIndicators) {
        if (i.kind == catalog::IndicatorKind::Derived) continue;
        std::istringstream tokens(i.source);
        for (std::string t; tokens >> t;)
            if (t == key)
                return {i.audience == catalog::Audience::SchoolOnly,
                        std::string(i.theme) == "Social"};
    }
    return {};
}

// Minimisation (catalogue column `views`): only measures with the hourly view leave the server
// hour by hour (connections); the others must be absent from every hour window.
bool hourly(uint32_t kind, uint32_t id) {
    const uint8_t views = kind == v1::MEASURE_KIND_CONNECTION ? catalog::kConnectionViews
                          : kind == v1::MEASURE_KIND_EVENT    ? catalog::kEventViews[id]
                                                              : catalog::kTallyViews[id];
    return views & catalog::kViewHourly;
}

Policy measure_policy(uint32_t kind, uint32_t id) {
    if (kind == v1::MEASURE_KIND_EVENT) return policy_of(catalog::kEvents[id].key);
    if (kind == v1::MEASURE_KIND_TALLY) return policy_of(catalog::kTallies[id].key);
    return {};
}

// What a counter cell is in a snapshot: measure kind, id, level, profile, medium, access.
std::vector<std::array<uint32_t, 6>> cell_meanings() {
    std::vector<std::array<uint32_t, 6>> m(catalog::kCounterCells);
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t md = 1; md <= catalog::kMedia; ++md)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                m[connection_cell(p, md, a)] = {v1::MEASURE_KIND_CONNECTION, 1, 0, p, md, a};
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        for (uint32_t l = 0; l < (catalog::kEvents[e].per_level ? catalog::kLevelSlots : 1); ++l)
            m[event_cell(e, l)] = {v1::MEASURE_KIND_EVENT, e, l, 0, 0, 0};
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        for (uint32_t l = 0; l < (catalog::kTallies[t].per_level ? catalog::kLevelSlots : 1); ++l)
            m[tally_cell(t, l)] = {v1::MEASURE_KIND_TALLY, t, l, 0, 0, 0};
    return m;
}

struct Selection {
    std::string name;
    uint32_t profiles, media, accesses;
    uint64_t cells;       // connection cells of the selection
    bool series = false;  // the day series' one selection (daily:total): day windows only
};

uint32_t bit(uint32_t v) { return uint32_t{1} << (v - 1); }

// The selections the builder sends (all, per profile, per profile on .Net, every combination).
std::vector<Selection> selections() {
    const uint32_t any_p = (1u << catalog::kProfiles) - 1, any_m = (1u << catalog::kMedia) - 1,
                   any_a = (1u << catalog::kAccesses) - 1;
    const uint32_t net = bit(SONDE_MEDIUM_WEB) | bit(SONDE_MEDIUM_MOBILE);
    std::vector<Selection> out{
        {"all", any_p, any_m, any_a, 0},
        {"Suivi journalier (.net)", catalog::kDailyDistinctProfiles, catalog::kDailyDistinctMedia,
         catalog::kDailyDistinctAccesses, 0, true}};
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p) {
        const std::string key = catalog::kProfileValues[p].key;
        out.push_back({key, bit(p), any_m, any_a, 0});
        out.push_back({key + "/.net", bit(p), net, any_a, 0});
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                out.push_back(
                    {combination_name(connection_cell(p, m, a)), bit(p), bit(m), bit(a), 0});
    }
    for (Selection &s : out)
        for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
            for (uint32_t m = 1; m <= catalog::kMedia; ++m)
                for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                    if ((s.profiles & bit(p)) && (s.media & bit(m)) && (s.accesses & bit(a)))
                        s.cells |= uint64_t{1} << connection_cell(p, m, a);
    return out;
}

class Checker {
  public:
    Checker(CheckLog &log, const std::string &uai, const IngestStore &store,
            const SnapshotOracle &o)
        : log_(log), uai_(uai), o_(o), meanings_(cell_meanings()) {
        store.visit([&](const IngestStore::FigureView &f) {
            if (f.base != uai) return;
            FigureKey key{
                int64_t(f.family), f.window_kind,
                f.window_kind == v1::WINDOW_KIND_HOUR ? f.window_start : int64_t(f.window_number)};
            key.insert(key.end(), f.dims.begin(), f.dims.end());
            figures_[key] = {f.value, f.suppressed, f.rounded, f.set_unix, f.students};
            if (f.family == Family::Value && f.value != 0 && outside_week(f)) ++outside_;
            // Minimisation: the hour series shows all connections as one figure, never the
            // profile x medium x access breakdown (views hourly:total).
            if (f.family == Family::Value && f.window_kind == v1::WINDOW_KIND_HOUR &&
                f.dims[0] == v1::MEASURE_KIND_CONNECTION && f.dims[3] != 0)
                ++hour_breakdown_;
            if (present_but_school_only(f)) ++school_only_present_;
        });
    }

    SnapshotFigures run() {
        const uint64_t before = log_.comparisons();
        const auto &days = o_.calendar->days();
        size_t hour_index = 0;  // in hour_cumulative
        for (uint32_t d = 0; d < days.size(); ++d) {
            std::vector<int64_t> delta = day_delta(d);
            if (o_.inject_mismatch && d == 0) delta[event_cell(SONDE_EV_MESSAGE_SENT, 1)] += 1;
            check_values(v1::WINDOW_KIND_DAY, days[d].stamps.day, "day " + days[d].date, delta);
            // Independent of the plugin's hour windows: a day has as many hours as it lasts
            // (23 or 25 on DST days, where the autumn's repeated hour is two hours).
            log_.expect(uai_, "local hours of " + days[d].date,
                        (days[d].end - days[d].start) / 3600, int64_t(days[d].hours.size()));
            for (size_t h = 0; h < days[d].hours.size(); ++h, ++hour_index)
                check_hour(days[d], h, hour_index);
            check_hours(days[d], day_delta(d));
            check_distinct(v1::WINDOW_KIND_DAY, days[d].stamps.day, "day " + days[d].date, {d});
        }
        for (const bool month : {true, false}) {
            std::map<uint32_t, std::vector<uint32_t>> periods;
            for (uint32_t d = 0; d < days.size(); ++d)
                periods[month ? days[d].stamps.month : days[d].stamps.school_year].push_back(d);
            for (const auto &[number, members] : periods) {
                std::vector<int64_t> total(catalog::kCounterCells, 0);
                for (uint32_t d : members) {
                    const std::vector<int64_t> delta = day_delta(d);
                    for (uint32_t c = 0; c < total.size(); ++c) total[c] += delta[c];
                }
                const uint32_t kind = month ? v1::WINDOW_KIND_MONTH : v1::WINDOW_KIND_SCHOOL_YEAR;
                const std::string name =
                    month ? "month " + month_name(number) : "school year " + std::to_string(number);
                check_values(kind, number, name, total);
                check_distinct(kind, number, name, members);
            }
        }
        check_gauges();
        check_distributions();
        log_.expect(uai_, "school-only figures in snapshots", 0, int64_t(school_only_present_));
        log_.expect(uai_, "connection breakdowns in hour windows (hourly:total)", 0,
                    int64_t(hour_breakdown_));
        log_.expect(uai_, "non-zero figures outside the simulated days", 0, int64_t(outside_));
        stats_.compared = log_.comparisons() - before;
        return stats_;
    }

  private:
    // The school year of the final snapshot: still open, so its Social figures are rounded.
    uint32_t final_year() const { return o_.calendar->stamps(o_.calendar->end()).school_year; }

    bool outside_week(const IngestStore::FigureView &f) const {
        const int64_t start = o_.calendar->days().front().start, end = o_.calendar->end();
        if (f.window_kind == v1::WINDOW_KIND_HOUR)
            return f.window_start < start || f.window_start >= end;
        if (f.window_kind != v1::WINDOW_KIND_DAY) return false;
        for (const SimDay &d : o_.calendar->days())
            if (d.stamps.day == f.window_number) return false;
        return true;
    }

    bool present_but_school_only(const IngestStore::FigureView &f) const {
        if (o_.include_school_only) return false;
        switch (f.family) {
            case Family::Value:
                return measure_policy(f.dims[0], f.dims[1]).school_only;
            case Family::Distribution:
                return policy_of(catalog::kTallies[f.dims[0]].key).school_only;
            case Family::Gauge:
                return policy_of(catalog::kGauges[f.dims[0]].key).school_only;
            default:
                return false;
        }
    }

    std::vector<int64_t> day_delta(uint32_t d) const {
        const auto &cum = *o_.cumulative;
        std::vector<int64_t> delta(catalog::kCounterCells);
        for (uint32_t c = 0; c < delta.size(); ++c) delta[c] = cum[d + 1][c] - cum[d][c];
        return delta;
    }

    const Figure *find(const FigureKey &key) const {
        const auto it = figures_.find(key);
        return it == figures_.end() ? nullptr : &it->second;
    }

    // One expected figure through the policy (privacy rule 2, docs/privacy.md); absent in the
    // store means 0. `exact_final`: a closed school year's figure, the only exact Social one.
    void expect_figure(const std::string &what, Policy policy, const Figure *have, int64_t expected,
                       bool exact_final = false) {
        if (policy.school_only && !o_.include_school_only) {
            ++stats_.suppressed;  // its absence is checked once for all
            return;
        }
        const int64_t k = o_.k_anonymity;
        if (policy.social && k > 1 && expected != 0) {
            if (exact_final && expected < k) {  // small or negative final: suppressed
                ++stats_.suppressed;
                log_.expect(uai_, what + " suppressed (k)", 1,
                            have && have->suppressed && have->value == 0);
                return;
            }
            if (!exact_final) {
                const int64_t rounded = expected / k * k;
                ++(rounded == 0 ? stats_.suppressed : stats_.rounded);
                log_.expect(uai_, what + " rounded (k)", 1, have && have->rounded);
                log_.expect(uai_, what + " suppressed iff below k", rounded == 0,
                            have && have->suppressed);
                log_.expect(uai_, what + " rounded to a multiple of k", rounded,
                            have ? have->value : 0);
                return;
            }
        }
        // Known limit (docs/snapshot.md): zero figures are omitted, so a figure that went back
        // to 0 (an event recorded then corrected) keeps its last reading; hidden, it reads 0.
        const bool back_to_zero = expected == 0 && have && have->suppressed && have->value == 0;
        log_.expect(uai_, what + " not suppressed", 0, have && have->suppressed && !back_to_zero);
        log_.expect(uai_, what, expected, have ? have->value : 0);
    }

    void check_values(uint32_t kind, uint32_t number, const std::string &window,
                      const std::vector<int64_t> &expected) {
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c) {
            const auto &m = meanings_[c];
            const FigureKey key{
                int64_t(Family::Value), kind, number, m[0], m[1], m[2], m[3], m[4], m[5]};
            expect_figure("snapshot " + window + " " + counter_cell_name(c),
                          measure_policy(m[0], m[1]), find(key), expected[c],
                          kind == v1::WINDOW_KIND_SCHOOL_YEAR && number != final_year());
        }
        // All connections as one figure (profile, medium, access 0): the day series' figure
        // (daily:total), at day windows only.
        int64_t connections = 0;
        for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) connections += expected[c];
        const FigureKey total{
            int64_t(Family::Value), kind, number, v1::MEASURE_KIND_CONNECTION, 1, 0, 0, 0, 0};
        if (kind == v1::WINDOW_KIND_DAY)
            expect_figure("snapshot " + window + " connections[all]", {}, find(total), connections);
        else
            log_.expect(uai_, "snapshot " + window + " connections[all] not sent", 0,
                        find(total) != nullptr);
    }

    // What an hour figure is: {measure kind, id, profile, medium, access} (levels summed; the
    // connections summed over their combinations too: the hour series shows their total).
    FigureKey hour_key(uint32_t c) const {
        const auto &m = meanings_[c];
        if (m[0] == v1::MEASURE_KIND_CONNECTION) return {m[0], m[1], 0, 0, 0};
        return {m[0], m[1], m[3], m[4], m[5]};
    }

    static std::string hour_measure_name(const FigureKey &key) {
        return key[0] == v1::MEASURE_KIND_CONNECTION ? "connections[all]"
               : key[0] == v1::MEASURE_KIND_EVENT    ? catalog::kEvents[key[1]].key
                                                     : catalog::kTallies[key[1]].key;
    }

    // Every figure of one local hour, for every measure and dimension of the hour view (absent
    // means 0): the oracle's delta between the replay's barriers at the hour's two ends.
    void check_hour(const SimDay &day, size_t h, size_t index) {
        const auto &cum = *o_.hour_cumulative;
        if (index + 1 >= cum.size()) return;  // not replayed (cannot happen in a full run)
        const int64_t start = day.hours[h];
        std::map<FigureKey, int64_t> expected;
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c)
            expected[hour_key(c)] += cum[index + 1][c] - cum[index][c];
        if (o_.inject_hour_mismatch && index == 9)  // the first day's 09:00 (not a DST day)
            expected[hour_key(connection_cell(SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB,
                                              SONDE_ACCESS_DIRECT))] += 1;
        const time::LocalTime local = time::to_local(o_.calendar->tz(), start);
        char when[48];
        std::snprintf(
            when, sizeof when, "%s %02d:00%s (unix %lld)", day.date.c_str(), local.hour,
            h > 0 && time::to_local(o_.calendar->tz(), day.hours[h - 1]).hour == local.hour
                ? " (repeated)"
                : "",
            static_cast<long long>(start));
        const size_t mismatched = log_.mismatches().size();
        for (const auto &[key, want] : expected) {
            const FigureKey full{int64_t(Family::Value),
                                 v1::WINDOW_KIND_HOUR,
                                 start,
                                 key[0],
                                 key[1],
                                 0,
                                 key[2],
                                 key[3],
                                 key[4]};
            if (!hourly(uint32_t(key[0]), uint32_t(key[1]))) {
                log_.expect(uai_,
                            "snapshot hour " + std::string(when) + " " + hour_measure_name(key) +
                                " not sent (no hourly view)",
                            0, find(full) != nullptr);
                continue;
            }
            expect_figure("snapshot hour " + std::string(when) + " " + hour_measure_name(key),
                          measure_policy(uint32_t(key[0]), uint32_t(key[1])), find(full), want);
        }
        stats_.hour_figures += expected.size();
        stats_.hour_mismatches += log_.mismatches().size() - mismatched;
        ++stats_.hours;
    }

    // Hours are summed over levels; their sum over the day must be the day's total.
    void check_hours(const SimDay &day, const std::vector<int64_t> &delta) {
        std::map<FigureKey, int64_t> expected;  // {kind, id, profile, medium, access}
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c) expected[hour_key(c)] += delta[c];
        std::map<FigureKey, std::pair<int64_t, bool>> summed;  // sum, any suppressed
        const FigureKey from{int64_t(Family::Value), v1::WINDOW_KIND_HOUR, day.start};
        for (auto it = figures_.lower_bound(from); it != figures_.end(); ++it) {
            const FigureKey &k = it->first;
            if (k[0] != int64_t(Family::Value) || k[1] != v1::WINDOW_KIND_HOUR || k[2] >= day.end)
                break;
            auto &s = summed[{k[3], k[4], k[6], k[7], k[8]}];
            s.first += it->second.value;
            s.second |= it->second.suppressed;
        }
        for (const auto &[key, want] : expected) {
            const Policy policy = measure_policy(uint32_t(key[0]), uint32_t(key[1]));
            if (policy.school_only && !o_.include_school_only) continue;
            if (!hourly(uint32_t(key[0]), uint32_t(key[1]))) continue;  // checked absent above
            const auto have = summed[key];
            if (have.second) {
                ++stats_.hour_sums_skipped;
                continue;
            }
            const std::string name = hour_measure_name(key);
            log_.expect(uai_, "snapshot hours of " + day.date + " " + name + " (sum)", want,
                        have.first);
        }
    }

    void check_distinct(uint32_t kind, uint32_t number, const std::string &window,
                        const std::vector<uint32_t> &days) {
        std::vector<uint64_t> masks(o_.expected->day_masks[0].size(), 0);
        for (uint32_t d : days)
            for (size_t u = 0; u < masks.size(); ++u) masks[u] |= o_.expected->day_masks[d][u];
        static const std::vector<Selection> sels = selections();
        for (const Selection &s : sels) {
            if (s.series && kind != v1::WINDOW_KIND_DAY) {
                log_.expect(uai_,
                            "snapshot distinct users " + window + " [" + s.name + "] not sent", 0,
                            find({int64_t(Family::Distinct), kind, number, s.profiles, s.media,
                                  s.accesses}) != nullptr);
                continue;
            }
            const Figure *have =
                find({int64_t(Family::Distinct), kind, number, s.profiles, s.media, s.accesses});
            log_.expect(uai_, "snapshot distinct users " + window + " [" + s.name + "]",
                        int64_t(count_users(masks, s.cells)), have ? have->value : 0);
        }
    }

    void check_gauges() {
        for (uint32_t g = 1; g <= catalog::kGaugeCount; ++g) {
            const Policy policy = policy_of(catalog::kGauges[g].key);
            for (uint32_t l = 0; l < (catalog::kGauges[g].per_level ? catalog::kLevelSlots : 1);
                 ++l) {
                const GaugeRecord &want = o_.expected->gauges[gauge_cell(g, l)];
                const Figure *have = find({int64_t(Family::Gauge), 0, 0, g, l});
                const std::string name = "snapshot gauge " + gauge_cell_name(gauge_cell(g, l));
                if (!want.set) {
                    log_.expect(uai_, name + " absent", 0, have != nullptr);
                    continue;
                }
                expect_figure(name, policy, have, want.value);
                if (have && !have->suppressed)
                    log_.expect(uai_, name + " time", want.set_unix, have->set_unix);
            }
        }
    }

    void check_distributions() {
        const SimCalendar &cal = *o_.calendar;
        const uint32_t year = cal.stamps(cal.end()).school_year;  // of the final snapshot
        const auto &years = cal.school_years();
        uint32_t slot = 0;
        while (slot < years.size() && years[slot] != year) ++slot;
        if (slot == years.size()) return;
        for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
            const catalog::TallyInfo &info = catalog::kTallies[t];
            const Policy policy = policy_of(info.key);
            if (info.slot < 0) continue;
            if (policy.school_only && !o_.include_school_only) continue;
            const auto want = expected_distribution(*o_.school, *o_.expected, t, slot);
            for (uint32_t l = 0; l < catalog::kLevelSlots; ++l) {
                const Figure *have =
                    find({int64_t(Family::Distribution), v1::WINDOW_KIND_SCHOOL_YEAR, year, t, l});
                const std::string name = "snapshot " + std::string(info.key) + " " +
                                         std::to_string(year) + " level " + std::to_string(l);
                // Rule 2: every bin rounded toward zero to a multiple of k (none suppressed).
                const int64_t k = policy.social && o_.k_anonymity > 1 ? o_.k_anonymity : 1;
                uint64_t students = 0;
                for (uint32_t b = 0; b < info.bin_count; ++b) students += want[l][b];
                if (students && k > 1) {
                    ++stats_.rounded;
                    log_.expect(uai_, name + " rounded", 1, have && have->rounded);
                }
                log_.expect(uai_, name + " suppressed", 0, have && have->suppressed);
                for (uint32_t b = 0; b < info.bin_count; ++b) {
                    const int64_t got =
                        have && b < have->students.size() ? int64_t(have->students[b]) : 0;
                    log_.expect(uai_, name + " bin " + std::to_string(info.bin_low[b]) + "+",
                                int64_t(want[l][b]) / k * k, got);
                }
            }
        }
    }

    CheckLog &log_;
    const std::string &uai_;
    const SnapshotOracle &o_;
    const std::vector<std::array<uint32_t, 6>> meanings_;
    std::map<FigureKey, Figure> figures_;
    uint64_t school_only_present_ = 0, outside_ = 0, hour_breakdown_ = 0;
    SnapshotFigures stats_;
};

}  // namespace

SnapshotFigures check_snapshots(CheckLog &log, const std::string &uai,
                                const snapshot::IngestStore &store, const SnapshotOracle &oracle) {
    return Checker(log, uai, store, oracle).run();
}

}  // namespace sonde::shim
