#pragma once
// Reading and writing latches (see layout.hpp). One writer at a time (the elected shipper),
// any number of readers; the seqlock lets a reader detect a copy in progress.

#include <cstdint>

#include "shm/segment.hpp"

namespace sonde::shm {

struct LatchRef {
    LatchHead *head = nullptr;
    std::atomic<int64_t> *values = nullptr;
    uint32_t count = 0;
};

// Slot i of a latch ring: hours by hour_index % slots, days by day % slots, months and
// school years by parity.
LatchRef latch_slot(const Mapping &m, LatchKind kind, uint64_t window_number) noexcept;
uint32_t latch_cells(LatchKind kind) noexcept;

// Writes the latch of `window` (window_start, taken: unix seconds).
void latch_write(const LatchRef &slot, int64_t window, int64_t window_start, int64_t taken,
                 const int64_t *values) noexcept;

struct LatchCopy {
    int64_t window = 0, window_start = 0, taken = 0;
};
// Copies the latch if it holds `window` and is not being written; false otherwise.
bool latch_read(const LatchRef &slot, int64_t window, LatchCopy &meta, int64_t *values) noexcept;

// Per-measure totals (levels summed) in the order of the hourly latches:
// connection cells, then events 1..n, then tallies 1..n.
void hour_cells_from(const int64_t *full_cells, int64_t *hour_cells) noexcept;

}  // namespace sonde::shm
