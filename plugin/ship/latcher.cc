#include "ship/latcher.hpp"

#include <algorithm>

#include "shm/latch.hpp"

namespace sonde::ship {

int ensure_latches(const shm::Mapping &segment, const Windows &open, int64_t now,
                   const std::vector<int64_t> &totals) noexcept {
    const int64_t created = segment.layout().creator_start_unix_ns / 1000000000;
    // A zero latch only at the segment's first latching: once any window has been latched, the
    // totals hold counts of earlier windows, even in the window of the creation instant (a
    // replay that reaches the real present: a zero there would move the earlier windows' counts
    // into it, and leave them negative). Read before this call writes any latch.
    const bool first_latching = latest_latch_time(segment) == 0;
    int64_t hour_cells[shm::kHourCells];
    shm::hour_cells_from(totals.data(), hour_cells);
    // Never destroyed: a base worker may still run during static destruction at exit.
    static const std::vector<int64_t> &zeros = *new std::vector<int64_t>(catalog::kCounterCells, 0);
    int written = 0;
    for (const WindowId *w : {&open.hour, &open.day, &open.month, &open.school_year}) {
        shm::LatchRef slot = shm::latch_slot(segment, w->kind, w->number);
        const uint64_t seq = slot.head->seq.load(std::memory_order_acquire);
        if ((seq & 1) == 0 && seq != 0 &&
            slot.head->window.load(std::memory_order_relaxed) == w->number)
            continue;
        // Only the window in which the segment was created can hold counts from before its
        // latch, and only at the first latching. A window that ended before the creation exists
        // only in a replay of the past (manual clock), whose host brings its processes to the
        // boundary before recording.
        const bool fresh = first_latching && created >= w->start && created < w->end;
        const int64_t *values =
            fresh ? zeros.data() : (w->kind == shm::LatchKind::Hour ? hour_cells : totals.data());
        shm::latch_write(slot, w->number, w->start, now, values);
        ++written;
    }
    return written;
}

int64_t latest_latch_time(const shm::Mapping &segment) noexcept {
    int64_t latest = 0;
    const struct {
        shm::LatchKind kind;
        uint64_t slots;
    } rings[] = {{shm::LatchKind::Hour, shm::kHourLatchSlots},
                 {shm::LatchKind::Day, shm::kDayLatchSlots},
                 {shm::LatchKind::Month, shm::kPeriodLatchSlots},
                 {shm::LatchKind::SchoolYear, shm::kPeriodLatchSlots}};
    for (const auto &ring : rings)
        for (uint64_t i = 0; i < ring.slots; ++i) {
            const shm::LatchRef slot = shm::latch_slot(segment, ring.kind, i);
            if (slot.head->seq.load(std::memory_order_acquire) == 0) continue;  // never written
            latest = std::max(latest, slot.head->taken.load(std::memory_order_acquire));
        }
    return latest;
}

bool read_latch(const shm::Mapping &segment, const WindowId &w, std::vector<int64_t> &values) {
    shm::LatchRef slot = shm::latch_slot(segment, w.kind, w.number);
    values.resize(slot.count);
    shm::LatchCopy meta;
    return shm::latch_read(slot, w.number, meta, values.data());
}

}  // namespace sonde::ship
