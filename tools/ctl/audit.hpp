#pragma once
// The privacy auditor (docs/privacy.md): it plays the console user who keeps every snapshot of a
// base and knows how the figures fit together, and looks for small counts they give away.
//
// For each Social measure (tally counts, Social gauges, per-student distributions) it writes
// the received figures as a linear system: the unknowns are the true cumulative counts of each
// cell (level, or level x bin) at every instant a figure starts or ends, so that
//   - a window's figure is the difference of its two ends (days add up to the month, months to
//     the school year, successive readings of an open window differ by what happened between);
//   - an hour figure sums every level (levels add up to the total);
//   - a gauge or a distribution bin is the state at its time (from an origin of 0);
//   - a level absent beside others of the same window in one snapshot is an exact 0.
// Suppressed figures (value hidden) and rounded ones (privacy rule 2: not the true count) are
// not equations. Exact rational row reduction then tells which sums are determined: for every
// set of cells (every set of levels up to 12 levels, per bin for distributions; beyond, sets of
// one or two levels, all, all but one or two) and every pair of instants, the count in between
// is determined exactly when the sums of the cells' normal forms at its two ends are equal. A
// determined count from 1 to k-1 in absolute value is a disclosure, reported with the received
// figures that produce it.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sonde_snapshot.pb.h"

namespace sonde::ctl::audit {

struct Input {
    std::string file;  // where the snapshot came from, for the report
    snapshot::v1::Snapshot snapshot;
};

struct Disclosure {
    std::string base;
    std::string measure;  // "tally late_arrival", "gauge ...", "distribution ... bin 1+"
    std::string cells;    // "level 3", "all levels", "all levels but 3", ...
    int64_t from = 0;  // the span [from, to) in unix seconds; from = INT64_MIN: the state at `to`
    int64_t to = 0;
    int64_t value = 0;
    std::vector<std::string> figures;  // the received figures that add up to it (+/- name)
};

struct Report {
    size_t snapshots = 0;
    size_t equations = 0;     // exact received figures (and inferred zeros) used
    size_t variables = 0;     // unknown cumulative counts
    size_t inconsistent = 0;  // equations that contradict others (should be 0)
    size_t spans_checked = 0;
    size_t level_sets = 0;     // sets of cells tried (every set up to 12 levels per group)
    size_t by_other_sets = 0;  // found through a set that is not one level, all, all but one
    size_t disclosures = 0;    // found (all of them); `found` holds the first ones
    std::map<std::string, size_t> per_measure;
    // By the number of received figures combined: 1 (a published small figure, negatives
    // included), 2 (the difference of two figures: successive readings, a window minus
    // another), 3 or more (e.g. the total minus the other levels, the month minus the days).
    std::array<size_t, 3> by_figures{};
    std::vector<Disclosure> found;
};

// Audits the snapshots of one base (any order). k: the threshold (counts 1..k-1 are small).
Report audit_base(const std::vector<Input> &snapshots, uint32_t k, size_t max_reported = 50);

std::string describe(const Disclosure &d);

}  // namespace sonde::ctl::audit
