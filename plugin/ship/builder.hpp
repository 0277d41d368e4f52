#pragma once
// Builds the snapshot of a base from its segment: figures per window (hours not yet spooled,
// the open and the just-closed day, month and school year), exact distinct users,
// distributions, gauges and level labels. Aggregates only: keys never leave the tables.

#include <cstdint>
#include <string>

#include "reader/view.hpp"
#include "ship/windows.hpp"
#include "snapshot/model.hpp"

namespace sonde::ship {

struct BuildRequest {
    const reader::SegmentView *view = nullptr;
    const time::TimeZone *tz = nullptr;
    std::string timezone_name;
    time::SchoolYearStart school_year_start{};
    int64_t now = 0;
    int64_t first_hour_start = 0;  // hours that opened at or after this are included
    uint64_t sequence = 0;
    // No earlier snapshot of this segment generation chains to this one (Coverage.restart).
    bool restart = false;
};

struct BuildStats {
    uint32_t hours = 0;                // hour windows included
    int64_t first_hour = 0;            // start of the first hour window included (0: none)
    int64_t last_closed_hour_end = 0;  // the next snapshot starts its hours here
    uint32_t gauges_deferred = 0;      // set after `now` (another process's clock): left out
};

snapshot::Snapshot build_snapshot(const BuildRequest &request, BuildStats *stats = nullptr);

}  // namespace sonde::ship
