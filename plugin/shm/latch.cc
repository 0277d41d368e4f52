#include "shm/latch.hpp"

namespace sonde::shm {

uint32_t latch_cells(LatchKind kind) noexcept {
    return kind == LatchKind::Hour ? kHourCells : catalog::kCounterCells;
}

LatchRef latch_slot(const Mapping &m, LatchKind kind, uint64_t window_number) noexcept {
    const Geometry &h = m.layout().g;  // validated, in process memory
    uint64_t offset = 0, stride = h.full_latch_stride, slots = kPeriodLatchSlots;
    switch (kind) {
        case LatchKind::Hour:
            offset = h.hour_latches_offset, stride = h.hour_latch_stride, slots = kHourLatchSlots;
            break;
        case LatchKind::Day:
            offset = h.day_latches_offset, slots = kDayLatchSlots;
            break;
        case LatchKind::Month:
            offset = h.month_latches_offset;
            break;
        case LatchKind::SchoolYear:
            offset = h.year_latches_offset;
            break;
    }
    char *at = m.at<char>(offset + (window_number % slots) * stride);
    return {reinterpret_cast<LatchHead *>(at),
            reinterpret_cast<std::atomic<int64_t> *>(at + sizeof(LatchHead)), latch_cells(kind)};
}

void latch_write(const LatchRef &s, int64_t window, int64_t window_start, int64_t taken,
                 const int64_t *values) noexcept {
    const uint64_t seq = s.head->seq.load(std::memory_order_relaxed);
    const uint64_t odd = seq | 1;  // a dead writer may have left it odd already
    s.head->seq.store(odd, std::memory_order_relaxed);
    // Release on every field (plain stores on x86): a reader that sees a new field through an
    // acquire load then sees the odd sequence too, and retries. No fences: TSan models these.
    s.head->window.store(window, std::memory_order_release);
    s.head->window_start.store(window_start, std::memory_order_release);
    s.head->taken.store(taken, std::memory_order_release);
    for (uint32_t i = 0; i < s.count; ++i) s.values[i].store(values[i], std::memory_order_release);
    s.head->seq.store(odd + 1, std::memory_order_release);
}

bool latch_read(const LatchRef &s, int64_t window, LatchCopy &meta, int64_t *values) noexcept {
    for (int attempt = 0; attempt < 64; ++attempt) {
        const uint64_t before = s.head->seq.load(std::memory_order_acquire);
        if (before & 1) continue;
        meta.window = s.head->window.load(std::memory_order_acquire);
        if (meta.window != window || before == 0) return false;
        meta.window_start = s.head->window_start.load(std::memory_order_acquire);
        meta.taken = s.head->taken.load(std::memory_order_acquire);
        for (uint32_t i = 0; i < s.count; ++i)
            values[i] = s.values[i].load(std::memory_order_acquire);
        if (s.head->seq.load(std::memory_order_acquire) == before) return true;
    }
    return false;
}

void hour_cells_from(const int64_t *full, int64_t *hour) noexcept {
    uint32_t out = 0;
    for (uint32_t c = 0; c < catalog::kConnectionCells; ++c) hour[out++] = full[c];
    auto span_sum = [&](uint32_t first, bool per_level) {
        int64_t sum = 0;
        for (uint32_t l = 0; l < (per_level ? catalog::kLevelSlots : 1); ++l)
            sum += full[first + l];
        return sum;
    };
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        hour[out++] = span_sum(catalog::kEvents[e].first, catalog::kEvents[e].per_level);
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t)
        hour[out++] = span_sum(catalog::kTallies[t].first, catalog::kTallies[t].per_level);
}

}  // namespace sonde::shm
