// Misuse counters and sonde_api.diagnostics. Counters live in the base's segment (shared by
// every process serving the base, so the operator sees them) or, for calls that name no base,
// in the process.

#include <cstring>

#include "api/state.hpp"
#include "core/tables.hpp"

namespace sonde::api {

std::atomic<uint64_t> g_process_diag[shm::kDiagSlots];

void add_diag(BaseState *base, shm::Diag what, uint64_t n) noexcept {
    const SegmentRefs *seg = base ? base->seg.load(std::memory_order_acquire) : nullptr;
    std::atomic<uint64_t> *diag = seg ? seg->diag : g_process_diag;
    diag[uint32_t(what)].fetch_add(n, std::memory_order_relaxed);
}

int count_diag(BaseState *base, shm::Diag what, int status) noexcept {
    add_diag(base, what, 1);
    return status;
}

namespace {

// The size of sonde_diagnostics in ABI 1.0: a smaller struct is refused.
constexpr uint32_t kOldestSize =
    uint32_t(offsetof(sonde_diagnostics, students_capacity) + sizeof(uint32_t));

void fill(const BaseState *b, sonde_diagnostics &out) noexcept {
    uint64_t d[shm::kDiagSlots];
    for (uint32_t i = 0; i < shm::kDiagSlots; ++i)
        d[i] = g_process_diag[i].load(std::memory_order_relaxed);
    const SegmentRefs *seg = b ? b->seg.load(std::memory_order_acquire) : nullptr;
    if (seg) {
        for (uint32_t i = 0; i < shm::kDiagSlots; ++i)
            d[i] += seg->diag[i].load(std::memory_order_relaxed);
        for (uint32_t i = 0; i < seg->row_count; ++i)
            out.rows_in_use += seg->leases[i].owner.load(std::memory_order_relaxed) != 0;
        out.rows_total = seg->row_count;
        for (uint32_t i = 0; i < seg->user_slots; ++i)
            out.users_used += tables::live_key(seg->users[i].key.load(std::memory_order_relaxed));
        out.users_capacity = seg->users_capacity;
        for (uint32_t i = 0; i < seg->student_slots; ++i)
            out.students_used +=
                tables::live_key(seg->students[i].key.load(std::memory_order_relaxed));
        out.students_capacity = seg->students_capacity;
    }
    // Disabled calls not yet folded in: live writers' own counts, attributed as add_diag would.
    for (const Writer &w : g_writers) {
        if (w.handle.load(std::memory_order_acquire) == 0) continue;
        const BaseState *wb = w.base.load(std::memory_order_relaxed);
        if (!(wb && wb->seg.load(std::memory_order_acquire)) || wb == b)
            d[uint32_t(shm::Diag::DisabledCalls)] +=
                w.disabled_calls.load(std::memory_order_relaxed);
    }
    out.enabled = b && b->recording.load(std::memory_order_relaxed);
    using D = shm::Diag;
    out.null_argument = d[uint32_t(D::NullArgument)];
    out.out_of_range = d[uint32_t(D::OutOfRange)];
    out.bad_struct_size = d[uint32_t(D::BadStructSize)];
    out.bad_argument = d[uint32_t(D::BadArgument)];
    out.bad_handle = d[uint32_t(D::BadHandle)];
    out.disabled_calls = d[uint32_t(D::DisabledCalls)];
    out.shared_row_writers = d[uint32_t(D::SharedRowWriters)];
    out.rows_reclaimed = d[uint32_t(D::RowsReclaimed)];
    out.users_table_full = d[uint32_t(D::UsersTableFull)];
    out.students_table_full = d[uint32_t(D::StudentsTableFull)];
    out.config_errors = d[uint32_t(D::ConfigErrors)];
    out.config_reloads = d[uint32_t(D::ConfigReloads)];
    out.segments_replaced = d[uint32_t(D::SegmentsReplaced)];
    out.snapshots_written = d[uint32_t(D::SnapshotsWritten)];
    out.snapshot_errors = d[uint32_t(D::SnapshotErrors)];
    out.spool_merges = d[uint32_t(D::SpoolMerges)];
    out.foreign_thread_calls = d[uint32_t(D::ForeignThreadCalls)];
}

}  // namespace

int api_diagnostics(const sonde_base *handle, sonde_diagnostics *out) noexcept {
    if (!out) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    uint32_t size = 0;
    std::memcpy(&size, out, sizeof size);  // the only field every version has
    if (size < kOldestSize) return count_diag(nullptr, shm::Diag::BadStructSize, SONDE_E_SIZE);
    const BaseState *b = nullptr;
    if (handle && !(b = checked_base(handle)))
        return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    // Filled in our own memory, then copied: the caller's struct may be older and smaller,
    // and struct_size is all we know of it. Never a byte past it.
    sonde_diagnostics full{};
    fill(b, full);
    full.struct_size = size < sizeof full ? size : uint32_t(sizeof full);
    std::memcpy(out, &full, full.struct_size);
    return SONDE_OK;
}

}  // namespace sonde::api
