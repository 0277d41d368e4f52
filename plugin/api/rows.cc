// Leasing counter rows to writers. A row is owned by one thread at a time, so its cells are
// updated with a plain load+store; the lease (a CAS on a word holding the owner's process
// identity) is what makes that safe across processes.

#include <new>

#include "api/state.hpp"
#include "core/process.hpp"

namespace sonde::api {

namespace {

std::atomic<uint64_t> g_epochs{0};

bool try_lease(const SegmentRefs &seg, uint64_t self, uint32_t &row) noexcept {
    for (uint32_t i = 0; i < seg.row_count; ++i) {
        uint64_t expected = 0;
        if (seg.leases[i].owner.load(std::memory_order_relaxed) == 0 &&
            seg.leases[i].owner.compare_exchange_strong(expected, self,
                                                        std::memory_order_acq_rel)) {
            row = i;
            return true;
        }
    }
    return false;
}

bool reclaim_one(const SegmentRefs &seg, uint64_t self, uint32_t &row) noexcept {
    for (uint32_t i = 0; i < seg.row_count; ++i) {
        uint64_t owner = seg.leases[i].owner.load(std::memory_order_acquire);
        if (owner == 0 || owner == self || identity_alive(owner)) continue;
        // Taking the lease over in one CAS: the dead owner's values stay in the row and the
        // new owner keeps adding to them.
        if (seg.leases[i].owner.compare_exchange_strong(owner, self, std::memory_order_acq_rel)) {
            seg.diag[uint32_t(shm::Diag::RowsReclaimed)].fetch_add(1, std::memory_order_relaxed);
            row = i;
            return true;
        }
    }
    return false;
}

void disarm(Writer &w) noexcept {
    w.fast_cells.store(nullptr, std::memory_order_seq_cst);
    w.epoch.store(new_epoch(false), std::memory_order_release);
}

}  // namespace

uint64_t new_epoch(bool armed) noexcept {
    // Inline counters compare epoch ^ thread pointer with one value, so an epoch must never
    // look like the XOR of two thread pointers (user addresses: below 2^47, multiples of 64):
    // the low 17 bits of the count go to bits 47-63, the rest to bits 1-46, bit 0 is the flag.
    // Two epochs whose XOR is below 2^47 are then at least 2^17 arms apart, and their XOR is
    // a multiple of 64 only if they are 2^22 arms apart: never in a writer's life in practice.
    const uint64_t n = g_epochs.fetch_add(1, std::memory_order_relaxed) + 1;
    return (n << 47) | ((n >> 17) << 1) | (armed ? 0 : 1);
}

void arm_writer(Writer &w, bool may_reclaim) noexcept {
    BaseState &b = *w.base.load(std::memory_order_relaxed);
    const SegmentRefs *seg = b.seg.load(std::memory_order_acquire);
    if (!seg || !b.recording.load(std::memory_order_acquire)) return;
    if (w.cells && w.leased_serial != seg->serial) {
        // The base mapped another segment since (replaced): the old lease went with the old
        // segment, so lease again in the new one.
        w.fast_cells.store(nullptr, std::memory_order_relaxed);
        w.cells = nullptr;
        w.row = kNoRow;
        w.shared = false;
    }
    if (!w.cells) {
        w.leased_serial = seg->serial;
        const uint64_t self = self_identity();
        uint32_t row = kNoRow;
        if (try_lease(*seg, self, row) || (may_reclaim && reclaim_one(*seg, self, row))) {
            w.row = row;
            w.shared = false;
            w.cells = seg->row(row);
        } else {
            w.row = kNoRow;
            w.shared = true;
            w.cells = seg->shared_row;
            seg->diag[uint32_t(shm::Diag::SharedRowWriters)].fetch_add(1,
                                                                       std::memory_order_relaxed);
        }
    }
    if (w.shared || w.fast_cells.load(std::memory_order_relaxed)) return;
    // Disabling stores recording = false before disarming the writers, so checking again
    // after arming never leaves a fast path armed on a base that does not record.
    w.fast_cells.store(w.cells, std::memory_order_seq_cst);
    w.epoch.store(new_epoch(true), std::memory_order_release);
    if (!b.recording.load(std::memory_order_seq_cst)) disarm(w);
}

void disarm_writers(const BaseState &base) noexcept {
    const bool parked = !base.recording.load(std::memory_order_seq_cst);
    for (Writer &w : g_writers)
        if (w.base.load(std::memory_order_relaxed) == &base &&
            w.handle.load(std::memory_order_acquire) != 0) {
            w.parked.store(parked, std::memory_order_relaxed);
            disarm(w);
        }
}

void release_writer(Writer &w) noexcept {
    BaseState *b = w.base.load(std::memory_order_relaxed);
    const uintptr_t handle = w.handle.exchange(0, std::memory_order_acq_rel);
    if (handle == 0) return;  // released already (by its thread's end or a base_close)
    disarm(w);
    if (const uint64_t n = w.disabled_calls.exchange(0, std::memory_order_relaxed))
        add_diag(b, shm::Diag::DisabledCalls, n);
    const SegmentRefs *seg = b ? b->seg.load(std::memory_order_acquire) : nullptr;
    if (w.row != kNoRow && seg && w.leased_serial == seg->serial) {
        uint64_t self = self_identity();
        seg->leases[w.row].owner.compare_exchange_strong(self, 0, std::memory_order_acq_rel);
    }
    w.cells = nullptr;
    w.row = kNoRow;
    w.shared = false;
    w.dead_handle.store(handle, std::memory_order_release);
    w.claimed.store(0, std::memory_order_release);
}

void forget_writers_after_fork() noexcept {
    // The child is single-threaded here. Its copies of the writers point at rows leased by
    // the parent: using them would race with the parent's own stores, so they die (without
    // giving the parent's leases back). Calls through them return SONDE_E_HANDLE, counted.
    for (Writer &w : g_writers) {
        const uintptr_t handle = w.handle.exchange(0, std::memory_order_relaxed);
        if (!handle) continue;
        disarm(w);
        w.disabled_calls.store(0, std::memory_order_relaxed);
        w.cells = nullptr;
        w.row = kNoRow;
        w.shared = false;
        w.dead_handle.store(handle, std::memory_order_relaxed);
        w.claimed.store(0, std::memory_order_relaxed);
    }
}

BaseState *base_of_dead_writer(const void *handle) noexcept {
    const uintptr_t h = reinterpret_cast<uintptr_t>(handle);
    const uint32_t i = handle_index(h);
    if (h == 0 || i >= kMaxWriters) return nullptr;
    Writer &w = g_writers[i];
    if (w.dead_handle.load(std::memory_order_acquire) != h) return nullptr;
    BaseState *b = w.base.load(std::memory_order_relaxed);
    return b && b->live.load(std::memory_order_relaxed) ? b : nullptr;
}

}  // namespace sonde::api

namespace sonde::api {

namespace {

// Gives back this thread's writers when it ends, so rows are never stranded. Handles, not
// pointers: a writer released earlier (and its slot reused by another thread) is left alone.
// One per thread that took a writer, allocated then (not on the recording path) and freed when
// the thread ends (platform::set_thread_value: a thread_local's destructor on POSIX, an FLS
// callback on Windows, where thread_local destructors in a DLL are unsafe).
struct ThreadWriters {
    uintptr_t held[128] = {};
    static void release_all(void *self) noexcept {
        auto *t = static_cast<ThreadWriters *>(self);
        for (uintptr_t h : t->held)
            if (Writer *w = checked_writer(reinterpret_cast<void *>(h)))
                if (w->owner.load(std::memory_order_relaxed) == platform::thread_id())
                    release_writer(*w);
        delete t;
    }
    void add(uintptr_t h) noexcept {
        for (uintptr_t &slot : held)
            if (!slot || !checked_writer(reinterpret_cast<void *>(slot))) {
                slot = h;
                return;
            }
        // More than 128 live writers in one thread: this one is released by writer_release,
        // base_close or, if the process dies, reclaimed like any dead process's row.
    }
};

}  // namespace

void remember_thread_writer(uintptr_t handle) noexcept {
    auto *t = static_cast<ThreadWriters *>(platform::thread_value());
    if (!t) {
        t = new (std::nothrow) ThreadWriters();
        // Out of memory: this writer is released by writer_release, base_close or, if the
        // process dies, reclaimed like any dead process's row.
        if (!t) return;
        if (!platform::set_thread_value(t, &ThreadWriters::release_all)) {
            delete t;
            return;
        }
    }
    t->add(handle);
}

}  // namespace sonde::api
