#pragma once
// Compares the console's figures (an IngestStore fed with every snapshot of a base) with the
// oracle of the week replay, through the privacy policy: "school only" measures must be absent
// unless included, Social figures from 1 to k-1 must be suppressed with value 0.
//
//  - DAY values per measure and level = the oracle's delta over the day (totals at barriers);
//  - HOUR values of a day (summed over levels) add up to the day;
//  - MONTH and SCHOOL_YEAR values = the sum of the days they cover (the segment is new);
//  - distinct users per day, month and school year for the selections the builder sends;
//  - gauges, and the current school year's distributions.

#include <cstdint>
#include <string>
#include <vector>

#include "compare.hpp"
#include "expectation.hpp"
#include "school.hpp"
#include "sim_calendar.hpp"
#include "snapshot/ingest.hpp"

namespace sonde::shim {

struct SnapshotOracle {
    const School *school;
    const SimCalendar *calendar;
    const Expectation *expected;  // final: gauges, day masks, tallies
    // Counter totals of all hosts at each day barrier: [0] before day 0, [d + 1] after day d.
    const std::vector<std::vector<int64_t>> *cumulative;
    uint32_t k_anonymity = 5;
    bool include_school_only = false;
    bool inject_mismatch = false;  // add 1 to the first day's message_sent[level 1]
};

struct SnapshotFigures {
    uint64_t compared = 0;           // comparisons made
    uint64_t suppressed = 0;         // expected figures the policy hides (k or school-only)
    uint64_t hour_sums_skipped = 0;  // Social hour sums with a suppressed hour
};

SnapshotFigures check_snapshots(CheckLog &log, const std::string &uai,
                                const snapshot::IngestStore &store, const SnapshotOracle &oracle);

}  // namespace sonde::shim
