// The exported entry points and the function table. Every function is noexcept, checks its
// arguments and returns a status; misuse is counted, never fatal.

#include <pthread.h>

#include <array>
#include <bit>
#include <cstring>

#include "api/state.hpp"
#include "catalog_layout.hpp"
#include "core/process.hpp"
#include "core/tables.hpp"
#include "sonde.h"

#define SONDE_EXPORT extern "C" __attribute__((visibility("default")))
#define SONDE_UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace sonde::api {

Writer g_writers[kMaxWriters];
std::atomic<uint64_t> g_process_diag[shm::kDiagSlots];

void add_diag(BaseState *base, shm::Diag what, uint64_t n) noexcept {
    shm::Header *h = base ? base->header.load(std::memory_order_acquire) : nullptr;
    std::atomic<uint64_t> *diag =
        h ? reinterpret_cast<std::atomic<uint64_t> *>(reinterpret_cast<char *>(h) + h->diag_offset)
          : g_process_diag;
    diag[uint32_t(what)].fetch_add(n, std::memory_order_relaxed);
}

int count_diag(BaseState *base, shm::Diag what, int status) noexcept {
    add_diag(base, what, 1);
    return status;
}

namespace {

using catalog::kLevelSlots;

// Gives back this thread's writers when it ends, so rows are never stranded.
struct ThreadWriters {
    Writer *held[64] = {};
    ~ThreadWriters() {
        for (Writer *w : held)
            if (w && w->live.load(std::memory_order_acquire) &&
                w->owner_thread == uint64_t(pthread_self()))
                release_writer(*w);
    }
    void add(Writer *w) {
        for (Writer *&slot : held)
            if (!slot || !slot->live.load(std::memory_order_relaxed)) {
                slot = w;
                return;
            }
    }
};
thread_local ThreadWriters t_writers;

// The cold part of every recording call: the base does not record, or the writer has no row
// yet because the base was enabled after the writer was made.
__attribute__((noinline, cold)) int not_recording(Writer &w) noexcept {
    if (!w.base->recording.load(std::memory_order_acquire)) {
        // Most bases are never enabled: this must not write a line shared with other threads.
        w.disabled_calls.store(w.disabled_calls.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);
        return SONDE_DISABLED;
    }
    attach_writer_row(w, /*may_reclaim=*/false);  // CAS only: no syscall on this path
    return w.cells ? SONDE_OK : SONDE_E_INTERNAL;
}

inline void add(std::atomic<int64_t> &cell, int64_t delta, bool shared) noexcept {
    if (SONDE_UNLIKELY(shared))
        cell.fetch_add(delta, std::memory_order_relaxed);
    else  // the row is ours alone: no lock prefix needed; readers see whole 8-byte stores.
          // Unsigned arithmetic wraps like fetch_add does, where signed overflow would be UB.
        cell.store(int64_t(uint64_t(cell.load(std::memory_order_relaxed)) + uint64_t(delta)),
                   std::memory_order_relaxed);
}

// Checks shared by the three recording calls; returns the writer ready to record, or null
// with *status set.
inline Writer *recording_writer(sonde_writer *handle, int *status) noexcept {
    Writer *w = checked_writer(handle);
    if (SONDE_UNLIKELY(!w)) {
        *status = count_diag(nullptr, handle ? shm::Diag::BadHandle : shm::Diag::NullArgument,
                             handle ? SONDE_E_HANDLE : SONDE_E_NULL);
        return nullptr;
    }
    if (SONDE_UNLIKELY(!w->base->recording.load(std::memory_order_relaxed) || !w->cells)) {
        *status = not_recording(*w);
        if (*status != SONDE_OK) return nullptr;
    }
    return w;
}

inline uint64_t hash_key(const BaseState &b, const void *key, size_t len) noexcept {
    const SipKey k{b.key0.load(std::memory_order_relaxed), b.key1.load(std::memory_order_relaxed)};
    const uint64_t h = siphash24(k, key, len);
    return h ? h : 1;  // 0 marks an empty table slot
}

inline bool valid_key(const void *key, size_t len) { return key && len >= 1 && len <= 256; }

// ---- entry points ---------------------------------------------------------------------

const char *api_version() noexcept {
    return "sonde 1.1.0 (abi 1.1, catalogue " SONDE_CATALOG_VERSION ")";
}

const char *api_strerror(int status) noexcept {
    switch (status) {
        case SONDE_OK:
            return "ok";
        case SONDE_DISABLED:
            return "base not enabled: nothing recorded";
        case SONDE_E_NULL:
            return "a required pointer is NULL";
        case SONDE_E_RANGE:
            return "value out of range (enum, level or delta)";
        case SONDE_E_SIZE:
            return "struct_size too small for this ABI";
        case SONDE_E_VERSION:
            return "ABI version mismatch";
        case SONDE_E_ARG:
            return "malformed argument";
        case SONDE_E_HANDLE:
            return "stale or foreign handle";
        case SONDE_E_IO:
            return "shared memory or configuration unusable";
        case SONDE_E_FULL:
            return "bounded table full (counted in diagnostics)";
        case SONDE_E_NOMEM:
            return "out of memory or of base slots";
        case SONDE_E_INTERNAL:
            return "internal error";
        default:
            return "unknown status";
    }
}

int api_base_open(const sonde_open_params *params, sonde_base **out) noexcept {
    if (!params || !out) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    *out = nullptr;
    if (params->struct_size < offsetof(sonde_open_params, shm_dir) + sizeof(params->shm_dir))
        return count_diag(nullptr, shm::Diag::BadStructSize, SONDE_E_SIZE);
    if (!params->base_id || !params->config_dir)
        return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    if (params->product < 1 || params->product >= SONDE_PRODUCT_END_)
        return count_diag(nullptr, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (!valid_base_id(params->base_id) || params->config_dir[0] == '\0' ||
        (params->shm_dir && params->shm_dir[0] == '\0'))
        return count_diag(nullptr, shm::Diag::BadArgument, SONDE_E_ARG);
    BaseState *b = nullptr;
    int rc = open_base(*params, &b);
    if (rc == SONDE_OK) *out = reinterpret_cast<sonde_base *>(b);
    return rc;
}

int api_base_close(sonde_base *handle) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    return close_base(*b);
}

int api_writer_get(sonde_base *handle, sonde_writer **out) noexcept {
    if (!handle || !out) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    *out = nullptr;
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    for (Writer &w : g_writers) {
        uint32_t expected = 0;
        if (w.live.load(std::memory_order_relaxed) != 0 ||
            !w.live.compare_exchange_strong(expected, 2, std::memory_order_acq_rel))
            continue;  // 2 = being set up: checked_writer accepts it only once fields are set
        w.base = b;
        w.cells = nullptr;
        w.row = kNoRow;
        w.shared = false;
        w.owner_thread = uint64_t(pthread_self());
        w.disabled_calls.store(0, std::memory_order_relaxed);
        if (b->recording.load(std::memory_order_acquire))
            attach_writer_row(w, /*may_reclaim=*/true);
        w.live.store(1, std::memory_order_release);
        t_writers.add(&w);
        *out = reinterpret_cast<sonde_writer *>(&w);
        return SONDE_OK;
    }
    return count_diag(b, shm::Diag::BadArgument, SONDE_E_NOMEM);
}

int api_writer_release(sonde_writer *handle) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    Writer *w = checked_writer(handle);
    if (!w) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    release_writer(*w);
    return SONDE_OK;
}

// The counter cell of (event, level), precomputed: one load instead of kEvents' 24-byte span
// and a branch on per_level. (kEventCount + 1) * kLevelSlots * 2 bytes = 1.4 KB.
constexpr auto kCellOf = [] {
    std::array<std::array<uint16_t, kLevelSlots>, catalog::kEventCount + 1> t{};
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        for (uint32_t l = 0; l < kLevelSlots; ++l)
            t[e][l] = uint16_t(catalog::kEvents[e].first + (catalog::kEvents[e].per_level ? l : 0));
    return t;
}();
static_assert(catalog::kCounterCells <= 0xffff);

// Everything but the common case: bad handle or arguments, disabled base, writer without a
// row or on the shared row. Out of line and reached by a tail call, so api_count needs no
// stack frame.
__attribute__((noinline, cold)) int count_slow(sonde_writer *handle, uint32_t event, uint32_t level,
                                               int64_t delta) noexcept {
    int status = SONDE_OK;
    Writer *w = recording_writer(handle, &status);
    if (!w) return status;
    if (!w->shared && !w->fast_cells.load(std::memory_order_relaxed)) {
        // Re-arm the fast path after a disable/enable. Disabling stores recording = false before
        // clearing the writers, so checking again after the store never leaves a stale fast path.
        w->fast_cells.store(w->cells, std::memory_order_seq_cst);
        if (!w->base->recording.load(std::memory_order_seq_cst))
            w->fast_cells.store(nullptr, std::memory_order_relaxed);
    }
    if (event - 1 >= catalog::kEventCount || level >= kLevelSlots)
        return count_diag(w->base, shm::Diag::OutOfRange, SONDE_E_RANGE);
    add(w->cells[kCellOf[event][level]], delta, w->shared);
    return SONDE_OK;
}

static_assert(sizeof(Writer) == 64, "api_count's rotate by 6 assumes 64-byte writers");

int api_count(sonde_writer *handle, uint32_t event, uint32_t level, int64_t delta) noexcept {
    // checked_writer in one compare: rotating the offset right by 6 (sizeof(Writer) == 64)
    // turns a handle that is not on a Writer boundary into a huge index.
    const uintptr_t off =
        reinterpret_cast<uintptr_t>(handle) - reinterpret_cast<uintptr_t>(&g_writers[0]);
    if (SONDE_UNLIKELY(std::rotr(off, 6) >= kMaxWriters || event - 1 >= catalog::kEventCount ||
                       level >= kLevelSlots))
        return count_slow(handle, event, level, delta);
    std::atomic<int64_t> *cells =
        reinterpret_cast<Writer *>(handle)->fast_cells.load(std::memory_order_relaxed);
    if (SONDE_UNLIKELY(!cells)) return count_slow(handle, event, level, delta);
    std::atomic<int64_t> &cell = cells[kCellOf[event][level]];
    cell.store(
        int64_t(uint64_t(cell.load(std::memory_order_relaxed)) + uint64_t(delta)),  // wraps, no UB
        std::memory_order_relaxed);
    return SONDE_OK;
}

// Counts one connection of the user whose keyed hash is `token` (never 0).
inline int record_connection(Writer &w, uint32_t profile, uint32_t medium, uint32_t access,
                             uint64_t token) noexcept {
    BaseState &b = *w.base;
    const uint32_t cell = catalog::connection_cell(profile, medium, access);
    add(w.cells[cell], 1, w.shared);
    shm::Header *h = b.header.load(std::memory_order_relaxed);
    auto *users = reinterpret_cast<shm::UserEntry *>(reinterpret_cast<char *>(h) + h->users_offset);
    shm::UserEntry *e = tables::find_or_insert(users, h->user_capacity, token);
    if (SONDE_UNLIKELY(!e)) return count_diag(&b, shm::Diag::UsersTableFull, SONDE_E_FULL);
    const uint64_t stamps = b.stamps.load(std::memory_order_relaxed);
    const uint64_t bit = uint64_t{1} << cell;
    tables::mark_user(*e, shm::kDay, uint32_t(stamps & 0xffff), bit);
    tables::mark_user(*e, shm::kMonth, uint32_t((stamps >> 16) & 0xffff), bit);
    tables::mark_user(*e, shm::kSchoolYear, uint32_t((stamps >> 32) & 0xffff), bit);
    return SONDE_OK;
}

inline bool valid_dimensions(uint32_t profile, uint32_t medium, uint32_t access) {
    return profile - 1 < catalog::kProfiles && medium - 1 < catalog::kMedia &&
           access - 1 < catalog::kAccesses;
}

int api_connection(sonde_writer *handle, uint32_t profile, uint32_t medium, uint32_t access,
                   const void *user_key, size_t user_key_len) noexcept {
    int status = SONDE_OK;
    Writer *w = recording_writer(handle, &status);
    if (SONDE_UNLIKELY(!w)) return status;
    if (SONDE_UNLIKELY(!valid_dimensions(profile, medium, access)))
        return count_diag(w->base, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (SONDE_UNLIKELY(!valid_key(user_key, user_key_len)))
        return count_diag(w->base, user_key ? shm::Diag::BadArgument : shm::Diag::NullArgument,
                          user_key ? SONDE_E_ARG : SONDE_E_NULL);
    return record_connection(*w, profile, medium, access,
                             hash_key(*w->base, user_key, user_key_len));
}

int api_user_token(sonde_base *handle, const void *user_key, size_t user_key_len,
                   uint64_t *token) noexcept {
    if (!handle || !token) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    *token = 0;
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    if (!valid_key(user_key, user_key_len))
        return count_diag(b, user_key ? shm::Diag::BadArgument : shm::Diag::NullArgument,
                          user_key ? SONDE_E_ARG : SONDE_E_NULL);
    if (!b->recording.load(std::memory_order_acquire))
        return SONDE_DISABLED;  // no secret to hash with yet
    *token = hash_key(*b, user_key, user_key_len);
    return SONDE_OK;
}

int api_connection_token(sonde_writer *handle, uint32_t profile, uint32_t medium, uint32_t access,
                         uint64_t token) noexcept {
    int status = SONDE_OK;
    Writer *w = recording_writer(handle, &status);
    if (SONDE_UNLIKELY(!w)) return status;
    if (SONDE_UNLIKELY(!valid_dimensions(profile, medium, access) || token == 0))
        return count_diag(w->base, token ? shm::Diag::OutOfRange : shm::Diag::BadArgument,
                          token ? SONDE_E_RANGE : SONDE_E_ARG);
    return record_connection(*w, profile, medium, access, token);
}

int api_student(sonde_writer *handle, uint32_t tally, const void *student_key,
                size_t student_key_len, uint32_t level, int64_t delta) noexcept {
    int status = SONDE_OK;
    Writer *w = recording_writer(handle, &status);
    if (SONDE_UNLIKELY(!w)) return status;
    if (SONDE_UNLIKELY(tally - 1 >= catalog::kTallyCount || level >= kLevelSlots ||
                       delta < -(int64_t{1} << 23) || delta >= (int64_t{1} << 23)))
        return count_diag(w->base, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (SONDE_UNLIKELY(!valid_key(student_key, student_key_len)))
        return count_diag(w->base, student_key ? shm::Diag::BadArgument : shm::Diag::NullArgument,
                          student_key ? SONDE_E_ARG : SONDE_E_NULL);
    BaseState &b = *w->base;
    const catalog::TallyInfo &info = catalog::kTallies[tally];
    add(w->cells[info.first + (info.per_level ? level : 0)], delta, w->shared);
    if (info.slot < 0) return SONDE_OK;  // counted per level only, no per-student distribution

    shm::Header *h = b.header.load(std::memory_order_relaxed);
    auto *students =
        reinterpret_cast<shm::StudentEntry *>(reinterpret_cast<char *>(h) + h->students_offset);
    shm::StudentEntry *e = tables::find_or_insert(students, h->student_capacity,
                                                  hash_key(b, student_key, student_key_len));
    if (SONDE_UNLIKELY(!e)) return count_diag(&b, shm::Diag::StudentsTableFull, SONDE_E_FULL);
    const uint32_t year = uint32_t((b.stamps.load(std::memory_order_relaxed) >> 32) & 0xffff);
    e->level[year & 1].store((year << 16) | level, std::memory_order_relaxed);
    tables::add_tally(e->tally[year & 1][info.slot], year, delta);
    return SONDE_OK;
}

int api_gauge_set(sonde_base *handle, uint32_t gauge, uint32_t level, int64_t value) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    if (gauge - 1 >= catalog::kGaugeCount || level >= kLevelSlots || value < INT32_MIN ||
        value > INT32_MAX)
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (!b->recording.load(std::memory_order_acquire))
        return count_diag(b, shm::Diag::DisabledCalls, SONDE_DISABLED);
    shm::Header *h = b->header.load(std::memory_order_acquire);
    const catalog::CellSpan &span = catalog::kGauges[gauge];
    auto *cells =
        reinterpret_cast<std::atomic<uint64_t> *>(reinterpret_cast<char *>(h) + h->gauges_offset);
    const uint64_t when = uint64_t(uint32_t(base_now(*b)));
    cells[span.first + (span.per_level ? level : 0)].store(when << 32 | uint32_t(int32_t(value)),
                                                           std::memory_order_relaxed);
    return SONDE_OK;
}

int api_level_declare(sonde_base *handle, uint32_t level, const char *label) noexcept {
    if (!handle || !label) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    if (level < 1 || level >= kLevelSlots)
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    const size_t len = strnlen(label, shm::kLabelBytes);
    if (len == 0 || len >= shm::kLabelBytes)
        return count_diag(b, shm::Diag::BadArgument, SONDE_E_ARG);
    if (!b->recording.load(std::memory_order_acquire))
        return count_diag(b, shm::Diag::DisabledCalls, SONDE_DISABLED);
    shm::Header *h = b->header.load(std::memory_order_acquire);
    auto *labels =
        reinterpret_cast<shm::LevelLabel *>(reinterpret_cast<char *>(h) + h->levels_offset);
    uint64_t words[shm::kLabelBytes / 8] = {};
    std::memcpy(words, label, len);
    shm::LevelLabel &l = labels[level];
    for (size_t i = 0; i < std::size(words); ++i)
        l.words[i].store(words[i], std::memory_order_relaxed);
    l.checksum.store(shm::label_checksum(words), std::memory_order_release);
    return SONDE_OK;
}

int api_diagnostics(const sonde_base *handle, sonde_diagnostics *out) noexcept {
    if (!out) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    if (out->struct_size < offsetof(sonde_diagnostics, students_capacity) + sizeof(uint32_t))
        return count_diag(nullptr, shm::Diag::BadStructSize, SONDE_E_SIZE);
    BaseState *b = nullptr;
    if (handle && !(b = checked_base(handle)))
        return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    const uint32_t size = out->struct_size;
    std::memset(out, 0, sizeof(sonde_diagnostics));
    out->struct_size =
        size < sizeof(sonde_diagnostics) ? size : uint32_t(sizeof(sonde_diagnostics));
    uint64_t d[shm::kDiagSlots];
    for (uint32_t i = 0; i < shm::kDiagSlots; ++i)
        d[i] = g_process_diag[i].load(std::memory_order_relaxed);
    shm::Header *h = b ? b->header.load(std::memory_order_acquire) : nullptr;
    if (h) {
        auto *sd =
            reinterpret_cast<std::atomic<uint64_t> *>(reinterpret_cast<char *>(h) + h->diag_offset);
        for (uint32_t i = 0; i < shm::kDiagSlots; ++i)
            d[i] += sd[i].load(std::memory_order_relaxed);
        auto *leases =
            reinterpret_cast<shm::Lease *>(reinterpret_cast<char *>(h) + h->leases_offset);
        for (uint32_t i = 0; i < h->row_count; ++i)
            out->rows_in_use += leases[i].owner.load(std::memory_order_relaxed) != 0;
        out->rows_total = h->row_count;
        auto *users =
            reinterpret_cast<shm::UserEntry *>(reinterpret_cast<char *>(h) + h->users_offset);
        for (uint32_t i = 0; i < h->user_capacity; ++i)
            out->users_used += users[i].key.load(std::memory_order_relaxed) != 0;
        out->users_capacity = h->user_capacity;
        auto *st =
            reinterpret_cast<shm::StudentEntry *>(reinterpret_cast<char *>(h) + h->students_offset);
        for (uint32_t i = 0; i < h->student_capacity; ++i)
            out->students_used += st[i].key.load(std::memory_order_relaxed) != 0;
        out->students_capacity = h->student_capacity;
    }
    // Disabled calls not yet folded in: live writers' own counts, attributed as add_diag would.
    for (const Writer &w : g_writers) {
        if (w.live.load(std::memory_order_acquire) != 1) continue;
        const BaseState *wb = w.base;
        if (!(wb && wb->header.load(std::memory_order_acquire)) || wb == b)
            d[uint32_t(shm::Diag::DisabledCalls)] +=
                w.disabled_calls.load(std::memory_order_relaxed);
    }
    out->enabled = b && b->recording.load(std::memory_order_relaxed);
    using D = shm::Diag;
    out->null_argument = d[uint32_t(D::NullArgument)];
    out->out_of_range = d[uint32_t(D::OutOfRange)];
    out->bad_struct_size = d[uint32_t(D::BadStructSize)];
    out->bad_argument = d[uint32_t(D::BadArgument)];
    out->bad_handle = d[uint32_t(D::BadHandle)];
    out->disabled_calls = d[uint32_t(D::DisabledCalls)];
    out->shared_row_writers = d[uint32_t(D::SharedRowWriters)];
    out->rows_reclaimed = d[uint32_t(D::RowsReclaimed)];
    out->users_table_full = d[uint32_t(D::UsersTableFull)];
    out->students_table_full = d[uint32_t(D::StudentsTableFull)];
    out->config_errors = d[uint32_t(D::ConfigErrors)];
    out->config_reloads = d[uint32_t(D::ConfigReloads)];
    out->segments_replaced = d[uint32_t(D::SegmentsReplaced)];
    out->snapshots_written = d[uint32_t(D::SnapshotsWritten)];
    out->snapshot_errors = d[uint32_t(D::SnapshotErrors)];
    out->spool_merges = d[uint32_t(D::SpoolMerges)];
    if (size < sizeof(sonde_diagnostics)) {
        // A host built against an older, smaller struct: copy only what it knows.
        sonde_diagnostics full = *out;
        std::memcpy(out, &full, size);
    }
    return SONDE_OK;
}

int api_clock_set(sonde_base *handle, int64_t unix_seconds) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    if (unix_seconds > (int64_t{1} << 32))
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    return set_clock(*b, unix_seconds);
}

constexpr sonde_api kApi = {
    sizeof(sonde_api), SONDE_ABI_MAJOR, SONDE_ABI_MINOR,      api_version,        api_strerror,
    api_base_open,     api_base_close,  api_writer_get,       api_writer_release, api_count,
    api_connection,    api_student,     api_gauge_set,        api_level_declare,  api_diagnostics,
    api_clock_set,     api_user_token,  api_connection_token,
};

constexpr sonde_magic kMagic = {sizeof(sonde_magic), SONDE_ABI_MAGIC, SONDE_ABI_MAJOR,
                                SONDE_ABI_MINOR, SONDE_SCHEMA_HASH};

}  // namespace
}  // namespace sonde::api

SONDE_EXPORT const sonde_magic *sonde_abi_magic(void) { return &sonde::api::kMagic; }

SONDE_EXPORT const sonde_api *sonde_get_api(uint32_t abi_major, uint32_t min_minor) {
    if (abi_major != SONDE_ABI_MAJOR || min_minor > SONDE_ABI_MINOR) return nullptr;
    return &sonde::api::kApi;
}
