// Leasing counter rows to writers. A row is owned by one thread at a time, so its cells are
// updated with a plain load+store; the lease (a CAS on a word holding the owner's process
// identity) is what makes that safe across processes.

#include <pthread.h>

#include "api/state.hpp"
#include "core/process.hpp"

namespace sonde::api {

namespace {

bool try_lease(shm::Mapping &seg, uint64_t self, uint32_t &row) noexcept {
    shm::Lease *leases = seg.leases();
    const uint32_t rows = seg.header().row_count;
    for (uint32_t i = 0; i < rows; ++i) {
        uint64_t expected = 0;
        if (leases[i].owner.load(std::memory_order_relaxed) == 0 &&
            leases[i].owner.compare_exchange_strong(expected, self, std::memory_order_acq_rel)) {
            row = i;
            return true;
        }
    }
    return false;
}

bool reclaim_one(shm::Mapping &seg, uint64_t self, uint32_t &row) noexcept {
    shm::Lease *leases = seg.leases();
    for (uint32_t i = 0; i < seg.header().row_count; ++i) {
        uint64_t owner = leases[i].owner.load(std::memory_order_acquire);
        if (owner == 0 || owner == self || identity_alive(owner)) continue;
        // Taking the lease over in one CAS: the dead owner's values stay in the row and the
        // new owner keeps adding to them.
        if (leases[i].owner.compare_exchange_strong(owner, self, std::memory_order_acq_rel)) {
            seg.diag()[uint32_t(shm::Diag::RowsReclaimed)].fetch_add(1, std::memory_order_relaxed);
            row = i;
            return true;
        }
    }
    return false;
}

}  // namespace

void attach_writer_row(Writer &w, bool may_reclaim) noexcept {
    BaseState &b = *w.base;
    shm::Header *h = b.header.load(std::memory_order_acquire);
    if (!h) return;
    // The segment of a base never changes once mapped, so the mapping object is stable.
    shm::Mapping &seg = b.segment;
    const uint64_t self = self_identity();
    uint32_t row = kNoRow;
    if (try_lease(seg, self, row) || (may_reclaim && reclaim_one(seg, self, row))) {
        w.row = row;
        w.shared = false;
        w.cells = seg.row(row);
        if (b.recording.load(std::memory_order_acquire))
            w.fast_cells.store(w.cells, std::memory_order_release);
        return;
    }
    w.row = kNoRow;
    w.shared = true;
    w.cells = seg.shared_row();
    seg.diag()[uint32_t(shm::Diag::SharedRowWriters)].fetch_add(1, std::memory_order_relaxed);
}

void clear_fast_paths(const BaseState &base) noexcept {
    for (Writer &w : g_writers)
        if (w.base == &base) w.fast_cells.store(nullptr, std::memory_order_release);
}

void release_writer(Writer &w) noexcept {
    if (const uint64_t n = w.disabled_calls.exchange(0, std::memory_order_relaxed))
        add_diag(w.base, shm::Diag::DisabledCalls, n);
    if (w.row != kNoRow && w.base && w.base->segment.valid()) {
        uint64_t self = self_identity();
        w.base->segment.leases()[w.row].owner.compare_exchange_strong(self, 0,
                                                                      std::memory_order_acq_rel);
    }
    w.fast_cells.store(nullptr, std::memory_order_release);
    w.cells = nullptr;
    w.row = kNoRow;
    w.shared = false;
    w.live.store(0, std::memory_order_release);
}

}  // namespace sonde::api
