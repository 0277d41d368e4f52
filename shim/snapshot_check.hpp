#pragma once
// Compares the console's figures (an IngestStore fed with every snapshot of a base) with the
// oracle of the week replay, through the privacy policy: "school only" measures must be absent
// unless included, Social figures from 1 to k-1 must be suppressed with value 0.
//
//  - DAY values per measure and level = the oracle's delta over the day (totals at barriers);
//  - HOUR values: every hour of every day, for every measure and dimension the hour view has
//    (summed over levels), = the oracle's delta between the hour barriers of the replay; and
//    the hours of a day add up to the day;
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
    // Counter totals at each hour barrier (BaseRun::hour_cumulative).
    const std::vector<std::vector<int64_t>> *hour_cumulative;
    uint32_t k_anonymity = 5;
    bool include_school_only = false;
    bool inject_mismatch = false;       // add 1 to the first day's message_sent[level 1]
    bool inject_hour_mismatch = false;  // add 1 to the expected connections of one hour
};

struct SnapshotFigures {
    uint64_t compared = 0;           // comparisons made
    uint64_t suppressed = 0;         // expected figures the policy hides (k or school-only)
    uint64_t rounded = 0;            // Social figures sent rounded to a multiple of k (rule 2)
    uint64_t hour_sums_skipped = 0;  // Social hour sums with a suppressed hour
    uint64_t hour_figures = 0;       // single hour figures compared (every hour, every measure)
    uint64_t hour_mismatches = 0;    // of which differed
    uint64_t hours = 0;              // local hours checked
};

SnapshotFigures check_snapshots(CheckLog &log, const std::string &uai,
                                const snapshot::IngestStore &store, const SnapshotOracle &oracle);

}  // namespace sonde::shim
