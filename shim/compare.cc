#include "compare.hpp"

#include <algorithm>

#include "cells.hpp"

namespace sonde::shim {

void CheckLog::expect_between(const std::string &base, const std::string &what, int64_t low,
                              int64_t high, int64_t actual) {
    ++comparisons_;
    if (actual < low || actual > high) mismatches_.push_back({base, what, low, high, actual});
}

void CheckLog::expect_one_of(const std::string &base, const std::string &what,
                             const std::vector<int64_t> &allowed, int64_t actual) {
    ++comparisons_;
    if (std::find(allowed.begin(), allowed.end(), actual) != allowed.end()) return;
    const auto [low, high] = std::minmax_element(allowed.begin(), allowed.end());
    const std::string choices =
        allowed.size() > 1 ? " (" + std::to_string(allowed.size()) + " values possible after kills)"
                           : "";
    mismatches_.push_back({base, what + choices, *low, *high, actual});
}

std::string describe(const Mismatch &m) {
    std::string expected = std::to_string(m.expected_low);
    if (m.expected_high != m.expected_low)
        expected = "[" + expected + ", " + std::to_string(m.expected_high) + "]";
    return m.base + " " + m.what + ": expected " + expected + ", segment has " +
           std::to_string(m.actual);
}

const std::vector<NamedMask> &user_selections() {
    static const std::vector<NamedMask> selections = [] {
        std::vector<NamedMask> v{{"all", reader::connection_mask(0, 0, 0)}};
        for (uint32_t p = 1; p <= catalog::kProfiles; ++p) {
            const std::string key = catalog::kProfileValues[p].key;
            v.push_back({key, reader::connection_mask(p, 0, 0)});
            v.push_back({key + "/.net", reader::connection_mask(p, SONDE_MEDIUM_WEB, 0) |
                                            reader::connection_mask(p, SONDE_MEDIUM_MOBILE, 0)});
        }
        v.push_back({"client", reader::connection_mask(0, SONDE_MEDIUM_CLIENT, 0)});
        v.push_back({"mobile", reader::connection_mask(0, SONDE_MEDIUM_MOBILE, 0)});
        v.push_back({"ent", reader::connection_mask(0, 0, SONDE_ACCESS_ENT)});
        return v;
    }();
    return selections;
}

std::vector<uint64_t> check_users(CheckLog &log, const std::string &base,
                                  const std::string &window_name, const reader::SegmentView &view,
                                  shm::Window window, uint32_t number,
                                  const std::vector<uint64_t> &oracle) {
    std::vector<uint64_t> actual_counts;
    for (const NamedMask &sel : user_selections()) {
        const uint64_t actual = view.distinct(window, number, sel.mask);
        log.expect(base, "distinct users " + window_name + " [" + sel.name + "]",
                   int64_t(count_users(oracle, sel.mask)), int64_t(actual));
        actual_counts.push_back(actual);
    }
    const auto per_cell = view.distinct_per_cell(window, number);
    for (uint32_t c = 0; c < catalog::kConnectionCells; ++c)
        log.expect(base, "distinct users " + window_name + " [" + combination_name(c) + "]",
                   int64_t(count_users(oracle, uint64_t{1} << c)), int64_t(per_cell[c]));
    return actual_counts;
}

void check_counters(CheckLog &log, const std::string &base, const std::vector<int64_t> &expected,
                    const reader::SegmentView &view) {
    const std::vector<int64_t> actual = view.cells();
    for (uint32_t c = 0; c < catalog::kCounterCells; ++c)
        log.expect(base, counter_cell_name(c), expected[c], actual[c]);
}

void check_gauges(CheckLog &log, const std::string &base, const Expectation &expected,
                  const reader::SegmentView &view) {
    for (uint32_t g = 1; g <= catalog::kGaugeCount; ++g) {
        const uint32_t levels = catalog::kGauges[g].per_level ? catalog::kLevelSlots : 1;
        for (uint32_t l = 0; l < levels; ++l) {
            const uint32_t cell = gauge_cell(g, l);
            const GaugeRecord &want = expected.gauges[cell];
            const reader::GaugeValue have = view.gauge(g, l);
            const std::string name = "gauge " + gauge_cell_name(cell);
            log.expect(base, name + " set", want.set != 0, have.set);
            if (!want.set || !have.set) continue;
            log.expect(base, name, want.value, have.value);
            log.expect(base, name + " time", want.set_unix, have.set_unix);
        }
    }
}

void check_labels(CheckLog &log, const std::string &base, const Expectation &expected,
                  const reader::SegmentView &view) {
    for (uint32_t l = 1; l < catalog::kLevelSlots; ++l) {
        const std::string have = view.level_label(l);
        // Labels are text: a difference counts as 0 vs 1.
        log.expect(
            base,
            "level " + std::to_string(l) + " label '" + expected.labels[l] + "' vs '" + have + "'",
            0, have == expected.labels[l] ? 0 : 1);
    }
}

std::vector<std::array<uint64_t, 6>> expected_distribution(const School &school,
                                                           const Expectation &expected,
                                                           uint32_t tally, uint32_t year_slot) {
    const catalog::TallyInfo &info = catalog::kTallies[tally];
    std::vector<std::array<uint64_t, 6>> per_level(catalog::kLevelSlots, std::array<uint64_t, 6>{});
    for (uint32_t s = 0; s < school.students; ++s) {
        const int32_t count = expected.tallies[year_slot][s][uint32_t(info.slot)];
        if (count <= 0) continue;
        uint32_t bin = 0;
        while (bin + 1 < info.bin_count && uint32_t(count) >= info.bin_low[bin + 1]) ++bin;
        ++per_level[school.student_level(s)][bin];
    }
    for (uint32_t l = 0; l < catalog::kLevelSlots; ++l) {
        uint64_t with_events = 0;
        for (uint32_t b = 1; b < info.bin_count; ++b) with_events += per_level[l][b];
        const GaugeRecord &enrolled = expected.gauges[gauge_cell(SONDE_GAUGE_STUDENTS_ENROLLED, l)];
        if (enrolled.set && enrolled.value > 0 && uint64_t(enrolled.value) > with_events)
            per_level[l][0] = uint64_t(enrolled.value) - with_events;
    }
    return per_level;
}

void check_distributions(CheckLog &log, const std::string &base, const School &school,
                         const Expectation &expected, std::span<const uint32_t> school_years,
                         const reader::SegmentView &view) {
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
        const catalog::TallyInfo &info = catalog::kTallies[t];
        if (info.slot < 0) continue;
        for (uint32_t y = 0; y < school_years.size(); ++y) {
            const auto want = expected_distribution(school, expected, t, y);
            const reader::Distribution have = view.distribution(t, school_years[y]);
            log.expect(base, std::string(info.key) + " bin count", info.bin_count, have.bin_count);
            if (have.per_level.size() != catalog::kLevelSlots) continue;
            for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
                for (uint32_t b = 0; b < info.bin_count; ++b)
                    log.expect(base,
                               std::string(info.key) + " " + std::to_string(school_years[y]) +
                                   " level " + std::to_string(l) + " bin " +
                                   std::to_string(info.bin_low[b]) + "+",
                               int64_t(want[l][b]), int64_t(have.per_level[l][b]));
        }
    }
}

void check_diagnostics(CheckLog &log, const std::string &base, const sonde_diagnostics &d) {
    log.expect(base, "diagnostics enabled", 1, d.enabled);
    log.expect(base, "diagnostics null_argument", 0, int64_t(d.null_argument));
    log.expect(base, "diagnostics out_of_range", 0, int64_t(d.out_of_range));
    log.expect(base, "diagnostics bad_struct_size", 0, int64_t(d.bad_struct_size));
    log.expect(base, "diagnostics bad_argument", 0, int64_t(d.bad_argument));
    log.expect(base, "diagnostics bad_handle", 0, int64_t(d.bad_handle));
    log.expect(base, "diagnostics disabled_calls", 0, int64_t(d.disabled_calls));
    log.expect(base, "diagnostics users_table_full", 0, int64_t(d.users_table_full));
    log.expect(base, "diagnostics students_table_full", 0, int64_t(d.students_table_full));
    log.expect(base, "diagnostics config_errors", 0, int64_t(d.config_errors));
    log.expect(base, "diagnostics segments_replaced", 0, int64_t(d.segments_replaced));
}

}  // namespace sonde::shim
