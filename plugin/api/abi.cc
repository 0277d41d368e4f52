// The exported entry points and the function table. Every function is noexcept, checks its
// arguments and returns a status; misuse is counted, never fatal.

#include <cstdio>
#include <cstring>
#include <mutex>

#include "api/record.hpp"
#include "api/state.hpp"
#include "catalog_layout.hpp"
#include "core/tables.hpp"
#include "core/utf8.hpp"
#include "sonde.h"
#include "sonde_version.h"

#if defined(_WIN32)
#define SONDE_EXPORT extern "C"  // exported by plugin/sonde.def
#else
#define SONDE_EXPORT extern "C" __attribute__((visibility("default")))
#endif

namespace sonde::api {

// diagnostics.cc and counter.cc.
int api_diagnostics(const sonde_base *handle, sonde_diagnostics *out) noexcept;
int api_counter_get(sonde_writer *handle, uint32_t event, uint32_t level,
                    sonde_counter *counter) noexcept;
int api_counter_add(sonde_counter *counter, int64_t delta) noexcept;
void remember_thread_writer(uintptr_t handle) noexcept;

Route route_slow(Writer &w, std::atomic<int64_t> **cells) noexcept {
    BaseState &b = *w.base.load(std::memory_order_relaxed);
    const bool own_thread = w.owner.load(std::memory_order_relaxed) == platform::thread_id();
    const SegmentRefs *seg = b.seg.load(std::memory_order_acquire);
    if (!b.recording.load(std::memory_order_acquire) || !seg) {
        if (own_thread)  // most bases are never enabled: no write to a line shared by threads
            count_disabled_call(w);
        else
            add_diag(&b, shm::Diag::DisabledCalls, 1);
        return Route::Disabled;
    }
    if (SONDE_UNLIKELY(!own_thread)) {
        // Another thread's row must never see two writers' load+store: the shared row's
        // fetch_add keeps the count exact, and the misuse is counted for the operator.
        seg->diag[uint32_t(shm::Diag::ForeignThreadCalls)].fetch_add(1, std::memory_order_relaxed);
        *cells = seg->shared_row;
        return Route::Shared;
    }
    if (!w.cells || w.leased_serial != seg->serial ||
        (!w.shared && !w.fast_cells.load(std::memory_order_relaxed)))
        arm_writer(w, /*may_reclaim=*/false);  // CAS only: no syscall on this path
    if (!w.cells) {                            // the base stopped recording meanwhile
        count_disabled_call(w);
        return Route::Disabled;
    }
    *cells = w.cells;
    return w.shared ? Route::Shared : Route::Own;
}

int refuse_writer(const void *handle) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    return count_diag(base_of_dead_writer(handle), shm::Diag::BadHandle, SONDE_E_HANDLE);
}

namespace {

inline uint64_t hash_key(const BaseState &b, const void *key, size_t len) noexcept {
    const SipKey k{b.key0.load(std::memory_order_relaxed), b.key1.load(std::memory_order_relaxed)};
    const uint64_t h = siphash24(k, key, len);
    return h ? h : 1;  // 0 marks an empty table slot
}

inline bool valid_key(const void *key, size_t len) { return key && len >= 1 && len <= 256; }

inline bool valid_dimensions(uint32_t profile, uint32_t medium, uint32_t access) {
    return profile - 1 < catalog::kProfiles && medium - 1 < catalog::kMedia &&
           access - 1 < catalog::kAccesses;
}

// The segment of a base that records; null (and *status set) if it does not.
inline const SegmentRefs *recording_segment(BaseState &b, int *status) noexcept {
    const SegmentRefs *seg = b.seg.load(std::memory_order_acquire);
    if (!b.recording.load(std::memory_order_acquire) || !seg) {
        *status = count_diag(&b, shm::Diag::DisabledCalls, SONDE_DISABLED);
        return nullptr;
    }
    return seg;
}

// ---- entry points ---------------------------------------------------------------------

// The time zones' source is part of the version: the tzdata folder in force, or the embedded
// zones and their tzdata version (Windows). Built once; no allocation.
const char *api_version() noexcept {
    static char text[160];
    static std::once_flag once;
    std::call_once(once, [] {
        const char *embedded = time::embedded_tzdata_version();
        const bool uses_embedded = time::zoneinfo_default_is_embedded();
        std::snprintf(text, sizeof text,
                      "sonde " SONDE_VERSION_STRING " (abi " SONDE_VERSION_ABI
                      ", catalogue %s, tzdata %s%s)",
                      SONDE_CATALOG_VERSION, uses_embedded ? embedded : "of the system",
                      uses_embedded ? " embedded" : "");
    });
    return text;
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
            return "out of memory or of base, opening or writer slots";
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
    uintptr_t handle = 0;
    const int rc = open_base(*params, &handle);
    if (rc == SONDE_OK) *out = reinterpret_cast<sonde_base *>(handle);
    return rc;
}

int api_base_close(sonde_base *handle) noexcept {
    if (!handle) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    Opening *o = checked_opening(handle);
    if (!o) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    return close_opening(*o);
}

std::atomic<uint32_t> g_next_writer{0};

int api_writer_get(sonde_base *handle, sonde_writer **out) noexcept {
    if (!handle || !out) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    *out = nullptr;
    Opening *o = checked_opening(handle);
    if (!o) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    BaseState *b = o->base;
    const uintptr_t opening_handle = reinterpret_cast<uintptr_t>(handle);
    // Round robin, so a slot is reused as late as possible.
    const uint32_t start = g_next_writer.fetch_add(1, std::memory_order_relaxed);
    for (uint32_t n = 0; n < kMaxWriters; ++n) {
        const uint32_t i = (start + n) % kMaxWriters;
        Writer &w = g_writers[i];
        uint32_t expected = 0;
        if (w.claimed.load(std::memory_order_relaxed) != 0 ||
            !w.claimed.compare_exchange_strong(expected, 1, std::memory_order_acq_rel))
            continue;
        w.base.store(b, std::memory_order_relaxed);
        w.opening = uint16_t(o - g_openings);
        w.owner.store(platform::thread_id(), std::memory_order_relaxed);
        w.cells = nullptr;
        w.row = kNoRow;
        w.shared = false;
        w.disabled_calls.store(0, std::memory_order_relaxed);
        w.dead_handle.store(0, std::memory_order_relaxed);
        w.fast_cells.store(nullptr, std::memory_order_relaxed);
        w.epoch.store(new_epoch(false), std::memory_order_relaxed);
        w.parked.store(!b->recording.load(std::memory_order_acquire), std::memory_order_relaxed);
        const uintptr_t h = new_handle(i);
        w.handle.store(h, std::memory_order_release);
        if (o->handle.load(std::memory_order_acquire) != opening_handle) {
            release_writer(w);  // base_close of this opening ran meanwhile
            return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
        }
        arm_writer(w, /*may_reclaim=*/true);
        remember_thread_writer(h);
        *out = reinterpret_cast<sonde_writer *>(h);
        return SONDE_OK;
    }
    return count_diag(b, shm::Diag::BadArgument, SONDE_E_NOMEM);
}

int api_writer_release(sonde_writer *handle) noexcept {
    Writer *w = checked_writer(handle);
    if (!w) return refuse_writer(handle);
    release_writer(*w);
    return SONDE_OK;
}

// Everything but the common case: bad handle or arguments, another thread, disabled base,
// writer without a row or on the shared row. Out of line and reached by a tail call.
__attribute__((noinline, cold)) int count_slow(sonde_writer *handle, uint32_t event, uint32_t level,
                                               int64_t delta) noexcept {
    Writer *w = checked_writer(handle);
    if (!w) return refuse_writer(handle);
    if (!valid_count(event, level))
        return count_diag(w->base.load(std::memory_order_relaxed), shm::Diag::OutOfRange,
                          SONDE_E_RANGE);
    std::atomic<int64_t> *cells = nullptr;
    const Route r = route(*w, &cells);
    if (r == Route::Disabled) return SONDE_DISABLED;
    add_routed(r, cells[kCellOf[event][level]], delta);
    return SONDE_OK;
}

int api_count(sonde_writer *handle, uint32_t event, uint32_t level, int64_t delta) noexcept {
    const uintptr_t h = reinterpret_cast<uintptr_t>(handle);
    const uint32_t i = handle_index(h);
    // Bitwise, not logical, or: one branch instead of three.
    if (SONDE_UNLIKELY((i >= kMaxWriters) | (event - 1 >= catalog::kEventCount) |
                       (level >= catalog::kLevelSlots)))
        return count_slow(handle, event, level, delta);
    Writer &w = g_writers[i];
    // Live handle of this generation, called by its own thread: one branch for both.
    if (SONDE_UNLIKELY(((w.handle.load(std::memory_order_relaxed) ^ h) |
                        (w.owner.load(std::memory_order_relaxed) ^ platform::thread_id())) != 0))
        return count_slow(handle, event, level, delta);
    std::atomic<int64_t> *cells = w.fast_cells.load(std::memory_order_relaxed);
    if (SONDE_LIKELY(cells != nullptr)) {
        add_owned(cells[kCellOf[event][level]], delta);
        return SONDE_OK;
    }
    // A disabled base (most bases in a farm): as cheap as recording, counted in the
    // writer's own line.
    if (w.parked.load(std::memory_order_relaxed)) {
        count_disabled_call(w);
        return SONDE_DISABLED;
    }
    return count_slow(handle, event, level, delta);
}

// Counts one connection of the user whose keyed hash is `token` (never 0), on the row that
// route() chose.
inline int record_connection(Writer &w, Route r, std::atomic<int64_t> *cells, uint32_t profile,
                             uint32_t medium, uint32_t access, uint64_t token) noexcept {
    BaseState &b = *w.base.load(std::memory_order_relaxed);
    const uint32_t cell = catalog::connection_cell(profile, medium, access);
    add_routed(r, cells[cell], 1);
    const SegmentRefs &seg = *b.seg.load(std::memory_order_acquire);  // refs published by a switch
    shm::UserEntry *e = tables::find_or_insert(seg.users, seg.user_slots, token);
    if (SONDE_UNLIKELY(!e)) return count_diag(&b, shm::Diag::UsersTableFull, SONDE_E_FULL);
    const uint64_t stamps = b.stamps.load(std::memory_order_relaxed);
    const uint64_t bit = uint64_t{1} << cell;
    tables::mark_user(*e, shm::kDay, uint32_t(stamps & 0xffff), bit);
    tables::mark_user(*e, shm::kMonth, uint32_t((stamps >> 16) & 0xffff), bit);
    tables::mark_user(*e, shm::kSchoolYear, uint32_t((stamps >> 32) & 0xffff), bit);
    return SONDE_OK;
}

int api_connection(sonde_writer *handle, uint32_t profile, uint32_t medium, uint32_t access,
                   const void *user_key, size_t user_key_len) noexcept {
    Writer *w = checked_writer(handle);
    if (SONDE_UNLIKELY(!w)) return refuse_writer(handle);
    BaseState &b = *w->base.load(std::memory_order_relaxed);
    if (SONDE_UNLIKELY(!valid_dimensions(profile, medium, access)))
        return count_diag(&b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (SONDE_UNLIKELY(!valid_key(user_key, user_key_len)))
        return count_diag(&b, user_key ? shm::Diag::BadArgument : shm::Diag::NullArgument,
                          user_key ? SONDE_E_ARG : SONDE_E_NULL);
    std::atomic<int64_t> *cells = nullptr;
    const Route r = route(*w, &cells);
    if (r == Route::Disabled) return SONDE_DISABLED;  // before hashing: nothing to hash with
    return record_connection(*w, r, cells, profile, medium, access,
                             hash_key(b, user_key, user_key_len));
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
    Writer *w = checked_writer(handle);
    if (SONDE_UNLIKELY(!w)) return refuse_writer(handle);
    if (SONDE_UNLIKELY(!valid_dimensions(profile, medium, access) || token == 0))
        return count_diag(w->base.load(std::memory_order_relaxed),
                          token ? shm::Diag::OutOfRange : shm::Diag::BadArgument,
                          token ? SONDE_E_RANGE : SONDE_E_ARG);
    std::atomic<int64_t> *cells = nullptr;
    const Route r = route(*w, &cells);
    if (r == Route::Disabled) return SONDE_DISABLED;
    return record_connection(*w, r, cells, profile, medium, access, token);
}

// A student's tally is a signed 24-bit word in the segment (see shm::tally_word), hence the
// narrower delta range than count's.
constexpr int64_t kStudentDeltaLimit = int64_t{1} << 23;

int api_student(sonde_writer *handle, uint32_t tally, const void *student_key,
                size_t student_key_len, uint32_t level, int64_t delta) noexcept {
    Writer *w = checked_writer(handle);
    if (SONDE_UNLIKELY(!w)) return refuse_writer(handle);
    BaseState &b = *w->base.load(std::memory_order_relaxed);
    if (SONDE_UNLIKELY(tally - 1 >= catalog::kTallyCount || level >= catalog::kLevelSlots ||
                       delta < -kStudentDeltaLimit || delta >= kStudentDeltaLimit))
        return count_diag(&b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    if (SONDE_UNLIKELY(!valid_key(student_key, student_key_len)))
        return count_diag(&b, student_key ? shm::Diag::BadArgument : shm::Diag::NullArgument,
                          student_key ? SONDE_E_ARG : SONDE_E_NULL);
    std::atomic<int64_t> *cells = nullptr;
    const Route r = route(*w, &cells);
    if (r == Route::Disabled) return SONDE_DISABLED;
    const catalog::TallyInfo &info = catalog::kTallies[tally];
    add_routed(r, cells[info.first + (info.per_level ? level : 0)], delta);
    if (info.slot < 0) return SONDE_OK;  // counted per level only, no per-student distribution

    const SegmentRefs &seg = *b.seg.load(std::memory_order_acquire);  // refs published by a switch
    shm::StudentEntry *e = tables::find_or_insert(seg.students, seg.student_slots,
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
    if (gauge - 1 >= catalog::kGaugeCount || level >= catalog::kLevelSlots || value < INT32_MIN ||
        value > INT32_MAX)
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    int status = SONDE_OK;
    const SegmentRefs *seg = recording_segment(*b, &status);
    if (!seg) return status;
    const catalog::CellSpan &span = catalog::kGauges[gauge];
    const uint64_t when = uint64_t(uint32_t(base_now(*b)));
    seg->gauges[span.first + (span.per_level ? level : 0)].store(
        when << 32 | uint32_t(int32_t(value)), std::memory_order_relaxed);
    return SONDE_OK;
}

int api_level_declare(sonde_base *handle, uint32_t level, const char *label) noexcept {
    if (!handle || !label) return count_diag(nullptr, shm::Diag::NullArgument, SONDE_E_NULL);
    BaseState *b = checked_base(handle);
    if (!b) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);
    if (level < 1 || level >= catalog::kLevelSlots)
        return count_diag(b, shm::Diag::OutOfRange, SONDE_E_RANGE);
    const size_t len = strnlen(label, shm::kLabelBytes);
    if (len == 0 || len >= shm::kLabelBytes || !valid_label_utf8(label, len))
        return count_diag(b, shm::Diag::BadArgument, SONDE_E_ARG);
    int status = SONDE_OK;
    const SegmentRefs *seg = recording_segment(*b, &status);
    if (!seg) return status;
    uint64_t words[shm::kLabelBytes / 8] = {};
    std::memcpy(words, label, len);
    shm::LevelLabel &l = seg->levels[level];
    for (size_t i = 0; i < std::size(words); ++i)
        l.words[i].store(words[i], std::memory_order_relaxed);
    l.checksum.store(shm::label_checksum(words), std::memory_order_release);
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
    api_clock_set,     api_user_token,  api_connection_token, api_counter_get,    api_counter_add,
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
