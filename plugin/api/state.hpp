#pragma once
// Process-local state behind the opaque ABI handles. Bases and writers live in fixed static
// arrays so that any pointer a host hands back can be checked (in range, aligned, live)
// before it is used: a stale or foreign handle is a counted error, never a crash.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/siphash.hpp"
#include "ship/shipper.hpp"
#include "shm/layout.hpp"
#include "shm/segment.hpp"
#include "sonde.h"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace sonde::api {

inline constexpr uint32_t kMaxBases = 64;
inline constexpr uint32_t kMaxWriters = 2048;
inline constexpr uint32_t kNoRow = ~0u;
inline constexpr int64_t kSystemClock = INT64_MIN;

// Calendar numbers of "now" in the base's time zone, packed so the hot path reads them
// with one load: day (bits 0-15), month (16-31), school year (32-47), valid (63).
inline constexpr uint64_t pack_stamps(const time::CalendarStamps &s) {
    return uint64_t(s.day) | uint64_t(s.month) << 16 | uint64_t(s.school_year) << 32 |
           uint64_t{1} << 63;
}

struct BaseState {
    // Read on the hot path.
    std::atomic<uint32_t> live{0};       // 1 between open and close
    std::atomic<bool> recording{false};  // enabled, segment mapped, secret loaded
    std::atomic<uint64_t> key0{0}, key1{0};
    std::atomic<uint64_t> stamps{0};
    std::atomic<shm::Header *> header{nullptr};  // set once the segment is mapped
    std::atomic<int64_t> manual_clock{kSystemClock};

    // Everything below is guarded by `mu` and never touched on the hot path.
    std::mutex mu;
    int open_count = 0;
    std::string base_id, config_dir, shm_dir, config_file;
    uint32_t product = 0;
    shm::Mapping segment;
    BaseConfig config;
    std::optional<time::TimeZone> tz;
    struct {
        int64_t mtime_ns = -1, size = -1;
        uint64_t inode = 0;
        bool exists = false;
    } seen;  // what the watcher last read
    std::string last_error;
    ship::Shipper shipper;         // elected per base across processes; see ship/shipper.hpp
    ship::ShipperStats shipped{};  // what was already added to the segment's diagnostics
};

struct alignas(64) Writer {
    std::atomic<uint32_t> live{0};
    BaseState *base = nullptr;
    std::atomic<int64_t> *cells = nullptr;  // leased row, shared row, or null until recording
    uint32_t row = kNoRow;                  // leased row index, kNoRow for the shared row
    bool shared = false;                    // shared row: fetch_add instead of load+store
    uint64_t owner_thread = 0;
    // Calls on a disabled base, counted in the writer's own line (only the owner thread adds:
    // load+store) and folded into the shared diagnostics by release_writer.
    std::atomic<uint64_t> disabled_calls{0};
    // The row when everything is ordinary (live, base recording, own leased row), else null:
    // count's fast path is one load and one test. Cleared when the base stops recording.
    std::atomic<std::atomic<int64_t> *> fast_cells{nullptr};
};
static_assert(sizeof(Writer) == 64);

extern BaseState *const g_bases;  // kMaxBases entries, never destroyed
extern Writer g_writers[kMaxWriters];
extern std::atomic<uint64_t> g_process_diag[shm::kDiagSlots];

inline BaseState *checked_base(const void *p) noexcept {
    const auto off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(g_bases);
    if (off >= kMaxBases * sizeof(BaseState) || off % sizeof(BaseState) != 0) return nullptr;
    auto *b = const_cast<BaseState *>(static_cast<const BaseState *>(p));
    return b->live.load(std::memory_order_acquire) ? b : nullptr;
}

inline Writer *checked_writer(const void *p) noexcept {
    const auto off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(&g_writers[0]);
    if (off >= sizeof(g_writers) || off % sizeof(Writer) != 0) return nullptr;
    auto *w = const_cast<Writer *>(static_cast<const Writer *>(p));
    return w->live.load(std::memory_order_relaxed) ? w : nullptr;
}

// Counts a misuse in the base's segment if there is one, else process-wide. Returns `status`.
int count_diag(BaseState *base, shm::Diag what, int status) noexcept;

// Not on the hot path: lease a row for a writer whose base records (CAS on the lease table;
// falls back to the shared row). `may_reclaim` allows syscalls to find dead owners.
void attach_writer_row(Writer &w, bool may_reclaim) noexcept;
void release_writer(Writer &w) noexcept;
// Sends every writer of `base` to the slow path (the base stopped recording).
void clear_fast_paths(const BaseState &base) noexcept;
// Adds n to a diagnostics counter of the base's segment if mapped, else process-wide.
void add_diag(BaseState *base, shm::Diag what, uint64_t n) noexcept;

// Base lifecycle (base.cc).
int open_base(const sonde_open_params &params, BaseState **out) noexcept;
int close_base(BaseState &base) noexcept;
int set_clock(BaseState &base, int64_t unix_seconds) noexcept;
int64_t base_now(const BaseState &base) noexcept;
// Applies the configuration file if it changed; used by the watcher and at open.
void refresh_base(BaseState &base) noexcept;

}  // namespace sonde::api
