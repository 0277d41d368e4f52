#pragma once
// What a real snapshot can hold, from the catalogue: the reading side refuses more before it
// builds anything (docs/snapshot.md, "Bounds on the reading side").

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "catalog_layout.hpp"

namespace sonde::snapshot {

// Hour windows in one snapshot: the builder reads at most the hour latch ring (192 hours, 8
// days, shm::kHourLatchSlots) and the open hour; one more for a repeated autumn hour.
inline constexpr size_t kMaxHourWindows = 192 + 2;
// Hour figures sum the levels: one per connection cell, event and tally.
inline constexpr size_t kHourCellsPerWindow =
    catalog::kConnectionCells + catalog::kEventCount + catalog::kTallyCount;
// Day, month and school year, each open and just closed, every counter cell.
inline constexpr size_t kPeriodWindows = 6;
// Distinct-user selections per window (builder.cc, emit_distinct): all users, then per
// profile: all, .Net, .Net per access, per medium, per medium and access.
inline constexpr size_t kDistinctSelections =
    1 + catalog::kProfiles * (2 + catalog::kAccesses + catalog::kMedia * (1 + catalog::kAccesses));

inline constexpr size_t kMaxValues =
    kMaxHourWindows * kHourCellsPerWindow + kPeriodWindows * catalog::kCounterCells;
inline constexpr size_t kMaxDistinct = kPeriodWindows * kDistinctSelections;
inline constexpr size_t kMaxDistributions = size_t{catalog::kTallyCount} * catalog::kLevelSlots;
inline constexpr size_t kMaxGauges = catalog::kGaugeCells;
// What the builder can produce at most, every cell non-zero in every window.
inline constexpr size_t kMaxBuiltFigures = kMaxValues + kMaxDistinct + kMaxDistributions +
                                           kMaxGauges + catalog::kLevelSlots +
                                           std::size(catalog::kIndicators);
// The bound a reader applies (values, gauges, distinct, distributions, suppressed and level
// labels together): twice what the builder can produce, so that a plugin whose catalogue grew
// a little is still read (its files are then kept as another schema by a console).
inline constexpr size_t kDefaultMaxFigures = 2 * kMaxBuiltFigures;

}  // namespace sonde::snapshot
