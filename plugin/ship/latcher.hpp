#pragma once
// Keeps the latches (Envoy's pattern): at the first tick of each hour, day, month and school
// year, the shipper copies the cumulative totals into the segment. A window's figure is then
// the difference between its latch and the next one (or the live totals while it is open).

#include <cstdint>
#include <vector>

#include "reader/view.hpp"
#include "ship/windows.hpp"

namespace sonde::ship {

// Writes the latches missing for the windows containing `now`. `totals` are the current
// cumulative cells. A window that opened before the segment existed gets a zero latch: every
// count in the segment happened inside it. Returns how many latches were written.
int ensure_latches(const shm::Mapping &segment, const Windows &open, int64_t now,
                   const std::vector<int64_t> &totals) noexcept;

// The latest time at which any latch of the segment was taken (0: none). Windows never go
// back: the shipper and every recording process treat a clock behind it as this time (see
// docs/snapshot.md, "Clock jumps").
int64_t latest_latch_time(const shm::Mapping &segment) noexcept;

// Copies the latch of window `w`; false if it was never taken (or is being written).
bool read_latch(const shm::Mapping &segment, const WindowId &w, std::vector<int64_t> &values);

}  // namespace sonde::ship
