#pragma once
// Process-local state behind the opaque ABI handles. Bases, openings and writers live in fixed
// static arrays. A handle is not a pointer: it is (generation << kIndexBits) | (index + 1), and
// the slot remembers the handle it was given out with, so a released writer or a closed base
// never comes back to life when its slot is reused, and a random value is refused.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/siphash.hpp"
#include "platform/process.hpp"
#include "platform/thread_id.hpp"
#include "ship/shipper.hpp"
#include "shm/layout.hpp"
#include "shm/segment.hpp"
#include "sonde.h"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace sonde::api {

// Bases open at once in one process (closed slots are reused), openings (every base_open
// that was not closed yet) and writers (live at once).
inline constexpr uint32_t kMaxBases = 256;
inline constexpr uint32_t kMaxOpenings = 1024;
inline constexpr uint32_t kMaxWriters = 2048;
inline constexpr uint32_t kNoRow = ~0u;
inline constexpr int64_t kSystemClock = INT64_MIN;

// ---- handles --------------------------------------------------------------------------
inline constexpr unsigned kIndexBits = 12;
inline constexpr uintptr_t kIndexMask = (uintptr_t{1} << kIndexBits) - 1;
static_assert(kMaxOpenings < kIndexMask && kMaxWriters < kIndexMask);

// A handle value never given out before in this process (the generation has 52 bits on
// 64-bit hosts: it does not wrap).
uintptr_t new_handle(uint32_t index) noexcept;
inline uint32_t handle_index(uintptr_t handle) noexcept {
    return uint32_t(handle & kIndexMask) - 1;  // 0 (NULL) becomes a huge index
}

// A value that changes every time a writer's recording target changes; inline counters
// (sonde_counter) compare it. Odd while the writer is not armed. Never 0.
uint64_t new_epoch(bool armed) noexcept;

// Calendar numbers of "now" in the base's time zone, packed so the hot path reads them
// with one load: day (bits 0-15), month (16-31), school year (32-47), valid (63).
inline constexpr uint64_t pack_stamps(const time::CalendarStamps &s) {
    return uint64_t(s.day) | uint64_t(s.month) << 16 | uint64_t(s.school_year) << 32 |
           uint64_t{1} << 63;
}

// Where the sections of a mapped segment are, validated once when it was mapped and kept in
// process memory: the recording path never reads an offset or a size from shared memory, so
// a stray write into the segment's header cannot steer the host's pointer arithmetic.
struct SegmentRefs {
    uint64_t serial = 0;  // changes each time the base maps a segment (writers re-lease then)
    shm::Lease *leases = nullptr;
    char *rows = nullptr;
    uint64_t row_stride = 0;
    uint32_t row_count = 0;
    std::atomic<int64_t> *shared_row = nullptr;
    std::atomic<uint64_t> *gauges = nullptr;
    shm::UserEntry *users = nullptr;
    uint32_t user_slots = 0, users_capacity = 0;  // slots; distinct users guaranteed to fit
    shm::StudentEntry *students = nullptr;
    uint32_t student_slots = 0, students_capacity = 0;
    std::atomic<uint64_t> *diag = nullptr;
    shm::LevelLabel *levels = nullptr;

    std::atomic<int64_t> *row(uint32_t i) const noexcept {
        return reinterpret_cast<std::atomic<int64_t> *>(rows + uint64_t(i) * row_stride);
    }
};

struct BaseWorker;  // the base's worker thread (base.cc)

struct BaseState {
    // Read on the hot path.
    std::atomic<bool> recording{false};  // enabled, segment mapped, secret loaded
    std::atomic<uint32_t> live{0};       // 1 while at least one opening refers to it
    std::atomic<uint64_t> key0{0}, key1{0};
    std::atomic<uint64_t> stamps{0};
    std::atomic<const SegmentRefs *> seg{nullptr};  // &refs once the segment is mapped
    std::atomic<int64_t> manual_clock{kSystemClock};

    // Guarded by the registry's mutex (base.cc): openings not closed yet, the last one closed
    // (the worker is shutting the base down), the base's worker and the process it runs in.
    int open_count = 0;
    bool closing = false;
    std::shared_ptr<BaseWorker> worker;
    platform::Pid worker_pid = 0;

    // Everything below is guarded by `mu`, held by the base's worker while it works on the
    // base's files, and never touched on the hot path.
    std::mutex mu;
    std::string base_id, config_dir, shm_dir, config_file;
    uint32_t product = 0;
    shm::Mapping segment;
    SegmentRefs refs;
    // Refs of the segments this base switched to since (republished, replaced): never freed.
    std::vector<std::unique_ptr<SegmentRefs>> switched_refs;
    BaseConfig config;
    std::optional<time::TimeZone> tz;
    struct {
        int64_t mtime_ns = -1, size = -1;
        uint64_t inode = 0;
        bool exists = false;
    } seen;  // what the watcher last read
    std::string last_error;
    // Segment upkeep by the base's worker (base.cc): the mapping a republished copy replaced
    // (settled from the next tick on, once writers left it: settle_moved_from_locked), and the
    // table entries this process marked retiring (finished at its next pass).
    shm::Mapping moved_from;
    bool moved_from_unlocked = false;      // its leases freed, its shared lock dropped
    std::vector<uint32_t> copied_leases;   // rows leased to this process in the copy
    std::vector<uint64_t> republish_copy;  // what this process copied, if it published the copy
    int64_t next_open_retry = 0;           // steady seconds: a refused segment is tried again then
    std::vector<uint32_t> retiring_users, retiring_students;
    ship::Shipper shipper;         // elected per base across processes; see ship/shipper.hpp
    ship::ShipperStats shipped{};  // what was already added to the segment's diagnostics
};

// One base_open not yet closed. Writers remember the opening they came from, so closing one
// of two opens of a base releases that open's writers and nothing else.
struct Opening {
    std::atomic<uintptr_t> handle{0};  // 0 = free
    BaseState *base = nullptr;
};

struct alignas(64) Writer {
    // Read by every recording call (owner thread).
    std::atomic<uintptr_t> handle{0};  // the handle given out; 0 = free or being set up
    std::atomic<uintptr_t> owner{0};   // platform::thread_id() of the thread that got it
    // The own leased row while the base records, else null: count's fast path.
    std::atomic<std::atomic<int64_t> *> fast_cells{nullptr};
    std::atomic<BaseState *> base{nullptr};
    // Calls on a disabled base, counted in the writer's own line (only the owner thread adds:
    // load+store) and folded into the shared diagnostics by release_writer.
    std::atomic<uint64_t> disabled_calls{0};
    std::atomic<uint64_t> epoch{1};  // see new_epoch(); sonde_counter.armed_ points here
    // True while the writer's base does not record: count's disabled path reads only this line.
    std::atomic<bool> parked{true};

    // Owner thread's slow path (and release).
    std::atomic<int64_t> *cells = nullptr;  // leased row, shared row, or null until recording
    uint32_t row = kNoRow;                  // leased row index, kNoRow for the shared row
    uint16_t opening = 0;                   // index in g_openings
    bool shared = false;                    // shared row: fetch_add instead of load+store
    uint64_t leased_serial = 0;             // SegmentRefs::serial of the segment `cells` is in

    // Kept after release, so that later calls through the dead handle are counted in the
    // base's own diagnostics (visible to the operator) until the slot is reused.
    std::atomic<uintptr_t> dead_handle{0};
    // Inline counters of a writer whose base does not record add here: nothing is kept.
    std::atomic<int64_t> sink{0};
    std::atomic<uint32_t> claimed{0};  // 1 from writer_get's CAS until release completes
};
static_assert(sizeof(Writer) == 128);

extern BaseState *const g_bases;  // kMaxBases entries, never destroyed
extern Opening g_openings[kMaxOpenings];
extern Writer g_writers[kMaxWriters];
extern std::atomic<uint64_t> g_process_diag[shm::kDiagSlots];

// The opening behind a base handle, or null if the handle is not live.
inline Opening *checked_opening(const void *handle) noexcept {
    const uintptr_t h = reinterpret_cast<uintptr_t>(handle);
    const uint32_t i = handle_index(h);
    if (i >= kMaxOpenings) return nullptr;
    Opening &o = g_openings[i];
    return o.handle.load(std::memory_order_acquire) == h ? &o : nullptr;
}
inline BaseState *checked_base(const void *handle) noexcept {
    Opening *o = checked_opening(handle);
    return o ? o->base : nullptr;
}

// The writer behind a handle, or null if the handle is not live.
inline Writer *checked_writer(const void *handle) noexcept {
    const uintptr_t h = reinterpret_cast<uintptr_t>(handle);
    const uint32_t i = handle_index(h);
    if (i >= kMaxWriters) return nullptr;
    Writer &w = g_writers[i];
    return w.handle.load(std::memory_order_acquire) == h ? &w : nullptr;
}

// The base a dead writer handle belonged to (for counting the misuse there), or null.
BaseState *base_of_dead_writer(const void *handle) noexcept;

// Counts a misuse in the base's segment if there is one, else process-wide. Returns `status`.
int count_diag(BaseState *base, shm::Diag what, int status) noexcept;
// Adds n to a diagnostics counter of the base's segment if mapped, else process-wide.
void add_diag(BaseState *base, shm::Diag what, uint64_t n) noexcept;

// Rows (rows.cc). Not on the hot path.
// Gives the writer a row if its base records (CAS on the lease table; falls back to the shared
// row) and arms its fast path. Owner thread only. `may_reclaim` allows syscalls to find dead
// owners.
void arm_writer(Writer &w, bool may_reclaim) noexcept;
void release_writer(Writer &w) noexcept;
// Sends every writer of `base` to the slow path: the base stopped recording, or started
// again (inline counters must then resolve their target again).
void disarm_writers(const BaseState &base) noexcept;
// In a forked child: every inherited writer is dead (its row belongs to the parent).
void forget_writers_after_fork() noexcept;

// Base lifecycle (base.cc).
int open_base(const sonde_open_params &params, uintptr_t *handle) noexcept;
int close_opening(Opening &opening) noexcept;
int set_clock(BaseState &base, int64_t unix_seconds) noexcept;
int64_t base_now(const BaseState &base) noexcept;
// Applies the configuration file if it changed; used by the watcher and at open.
void refresh_base(BaseState &base) noexcept;

}  // namespace sonde::api
