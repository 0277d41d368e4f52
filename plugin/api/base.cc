// Opening and closing bases, and the watcher thread that applies configuration changes and
// keeps each base's calendar numbers current. Nothing here runs on the recording path.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <thread>

#include "api/state.hpp"
#include "core/immortal.hpp"
#include "core/process.hpp"

namespace sonde::api {

namespace {
Immortal<BaseState, kMaxBases> g_base_storage;
}  // namespace
BaseState *const g_bases = g_base_storage.data();

namespace {

// All of this outlives static destruction (see Immortal): the watcher may still run at exit.
struct Watcher {
    std::mutex registry_mu;  // guards opening/closing and the watcher's lifetime
    std::mutex mu;
    std::condition_variable cv;
    std::thread *thread = nullptr;
    pid_t thread_pid = 0;  // a forked child inherits the pointer but not the thread
    bool stop = false;
    int open_bases = 0;
};
Immortal<Watcher> g_watch;

int64_t system_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

void update_stamps_locked(BaseState &b) noexcept {
    if (!b.tz) return;
    const auto s = time::stamps_at(*b.tz, base_now(b), b.config.school_year_start);
    b.stamps.store(pack_stamps(s), std::memory_order_relaxed);
}

// Maps the segment the first time the base is enabled; it then stays mapped for the life of
// the process, so a writer's row pointer can never dangle.
bool ensure_segment_locked(BaseState &b) {
    if (b.segment.valid()) return true;
    shm::OpenResult r = shm::open_segment(b.shm_dir, b.base_id, b.product);
    if (!r.mapping.valid()) {
        b.last_error = r.error;
        return false;
    }
    b.segment = std::move(r.mapping);
    if (r.replaced)
        b.segment.diag()[uint32_t(shm::Diag::SegmentsReplaced)].fetch_add(
            r.replaced, std::memory_order_relaxed);
    b.header.store(&b.segment.header(), std::memory_order_release);
    return true;
}

void apply_config_locked(BaseState &b, const BaseConfig &c) {
    std::string why;
    auto tz = time::TimeZone::load(c.timezone, &why);
    if (!tz) {  // validated at parse time; a zone file removed since then keeps the old one
        b.last_error = why;
        return;
    }
    b.config = c;
    b.tz = std::move(tz);
    b.key0.store(c.secret.k0, std::memory_order_relaxed);
    b.key1.store(c.secret.k1, std::memory_order_relaxed);
    update_stamps_locked(b);
    const bool record = c.enabled && ensure_segment_locked(b);
    b.recording.store(record, std::memory_order_release);
    if (!record) clear_fast_paths(b);
}

void diag_locked(BaseState &b, shm::Diag what) {
    if (b.segment.valid())
        b.segment.diag()[uint32_t(what)].fetch_add(1, std::memory_order_relaxed);
    else
        g_process_diag[uint32_t(what)].fetch_add(1, std::memory_order_relaxed);
}

void refresh_locked(BaseState &b) {
    struct stat st {};
    const bool exists = ::stat(b.config_file.c_str(), &st) == 0;
    const int64_t mtime =
        exists ? int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : -1;
    if (exists == b.seen.exists && mtime == b.seen.mtime_ns && st.st_size == b.seen.size &&
        st.st_ino == b.seen.inode) {
        update_stamps_locked(b);
        return;
    }
    b.seen = {mtime, exists ? int64_t(st.st_size) : -1, exists ? uint64_t(st.st_ino) : 0, exists};
    BaseConfig c;
    std::string why;
    switch (load_config(b.config_file, c, &why)) {
        case ConfigLoad::Missing:
            b.recording.store(false, std::memory_order_release);
            clear_fast_paths(b);
            b.config.enabled = false;
            break;
        case ConfigLoad::Malformed:  // keep what is in force
            b.last_error = why;
            diag_locked(b, shm::Diag::ConfigErrors);
            break;
        case ConfigLoad::Ok:
            apply_config_locked(b, c);
            diag_locked(b, shm::Diag::ConfigReloads);
            break;
    }
    update_stamps_locked(b);
}

// Takes back rows whose owner process died, so that new writers find free rows. The values
// stay in the row: the next lessee keeps adding to them, so nothing is lost or counted twice.
void reclaim_dead_rows_locked(BaseState &b) {
    if (!b.segment.valid()) return;
    shm::Lease *leases = b.segment.leases();
    const uint64_t self = self_identity();
    for (uint32_t i = 0; i < b.segment.header().row_count; ++i) {
        uint64_t owner = leases[i].owner.load(std::memory_order_acquire);
        if (owner == 0 || owner == self || identity_alive(owner)) continue;
        if (leases[i].owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel))
            b.segment.diag()[uint32_t(shm::Diag::RowsReclaimed)].fetch_add(
                1, std::memory_order_relaxed);
    }
}

// Runs the shipper step of the base and mirrors its counters into the segment's diagnostics.
void ship_locked(BaseState &b, bool final) {
    if (!b.recording.load(std::memory_order_relaxed) || !b.segment.valid() || !b.tz ||
        b.config.snapshots.spool_dir.empty())
        return;
    b.shipper.tick(b.segment.path(), b.base_id, b.config, *b.tz, base_now(b), final);
    const ship::ShipperStats &now = b.shipper.stats();
    auto *diag = b.segment.diag();
    diag[uint32_t(shm::Diag::SnapshotsWritten)].fetch_add(now.snapshots - b.shipped.snapshots);
    diag[uint32_t(shm::Diag::SnapshotErrors)].fetch_add(now.errors - b.shipped.errors);
    diag[uint32_t(shm::Diag::SpoolMerges)].fetch_add(now.merges - b.shipped.merges);
    if (now.errors != b.shipped.errors) b.last_error = b.shipper.last_error();
    b.shipped = now;
}

void watch_loop() {
    using namespace std::chrono_literals;
    auto next_config_check = std::chrono::steady_clock::now();
    std::unique_lock lock(g_watch->mu);
    while (!g_watch->stop) {
        g_watch->cv.wait_for(lock, 200ms);
        if (g_watch->stop) break;
        lock.unlock();
        const bool check_config = std::chrono::steady_clock::now() >= next_config_check;
        if (check_config) next_config_check = std::chrono::steady_clock::now() + 1s;
        for (uint32_t i = 0; i < kMaxBases; ++i) {
            BaseState &b = g_bases[i];
            if (!b.live.load(std::memory_order_acquire)) continue;
            std::lock_guard guard(b.mu);
            if (!b.live.load(std::memory_order_relaxed)) continue;
            if (check_config) {
                refresh_locked(b);
                reclaim_dead_rows_locked(b);
            } else {
                update_stamps_locked(b);
            }
            if (b.manual_clock.load(std::memory_order_relaxed) == kSystemClock)
                ship_locked(b, false);
        }
        lock.lock();
    }
}

}  // namespace

int64_t base_now(const BaseState &b) noexcept {
    const int64_t manual = b.manual_clock.load(std::memory_order_relaxed);
    return manual == kSystemClock ? system_now() : manual;
}

void refresh_base(BaseState &b) noexcept {
    std::lock_guard guard(b.mu);
    refresh_locked(b);
}

int open_base(const sonde_open_params &p, BaseState **out) noexcept {
    try {
        std::lock_guard registry(g_watch->registry_mu);
        const std::string shm_dir = p.shm_dir ? p.shm_dir : "/dev/shm";
        BaseState *slot = nullptr, *unused = nullptr;
        for (uint32_t i = 0; i < kMaxBases; ++i) {
            BaseState &b = g_bases[i];
            const bool same =
                b.base_id == p.base_id && b.shm_dir == shm_dir && b.config_dir == p.config_dir;
            if (same && b.live.load(std::memory_order_relaxed)) {
                std::lock_guard guard(b.mu);
                ++b.open_count;
                *out = &b;
                return SONDE_OK;
            }
            if (same && !slot) slot = &b;  // closed earlier: its mapping is still there
            if (!unused && !b.live.load(std::memory_order_relaxed) && !b.segment.valid() &&
                b.base_id.empty())
                unused = &b;
        }
        if (!slot) slot = unused;
        if (!slot) return SONDE_E_NOMEM;
        self_identity();  // cache the process identity now: leasing later needs no syscall
        {
            std::lock_guard guard(slot->mu);
            slot->base_id = p.base_id;
            slot->config_dir = p.config_dir;
            slot->shm_dir = shm_dir;
            slot->config_file = config_path(slot->config_dir, slot->base_id);
            slot->product = p.product;
            slot->open_count = 1;
            slot->config = BaseConfig{};
            slot->tz = time::TimeZone::load(slot->config.timezone, nullptr);
            if (!slot->tz) slot->tz = time::TimeZone::utc();
            slot->seen = {};
            slot->seen.mtime_ns = -2;  // force the first read
            slot->manual_clock.store(kSystemClock, std::memory_order_relaxed);
            refresh_locked(*slot);
            slot->live.store(1, std::memory_order_release);
        }
        if (g_watch->open_bases++ == 0 || g_watch->thread_pid != ::getpid()) {
            std::lock_guard lock(g_watch->mu);
            g_watch->stop = false;
            g_watch->thread = new std::thread(watch_loop);
            g_watch->thread_pid = ::getpid();
        }
        *out = slot;
        return SONDE_OK;
    } catch (...) {
        return SONDE_E_NOMEM;
    }
}

int close_base(BaseState &b) noexcept {
    try {
        std::lock_guard registry(g_watch->registry_mu);
        {
            std::lock_guard guard(b.mu);
            if (--b.open_count > 0) return SONDE_OK;
            ship_locked(b, /*final=*/true);  // the snapshot of a clean shutdown
            b.shipper.resign();
            b.recording.store(false, std::memory_order_release);
            clear_fast_paths(b);
            b.live.store(0, std::memory_order_release);
        }
        for (Writer &w : g_writers)
            if (w.live.load(std::memory_order_acquire) && w.base == &b) release_writer(w);
        if (--g_watch->open_bases == 0) {
            {
                std::lock_guard lock(g_watch->mu);
                g_watch->stop = true;
            }
            g_watch->cv.notify_all();
            if (g_watch->thread_pid == ::getpid()) {
                g_watch->thread->join();
                delete g_watch->thread;
            }
            g_watch->thread = nullptr;
        }
        // The mapping stays (slot reserved) so that a racing call through a stale writer of
        // this base still lands on mapped memory; reopening the base reuses the slot.
        return SONDE_OK;
    } catch (...) {
        return SONDE_E_INTERNAL;
    }
}

int set_clock(BaseState &b, int64_t unix_seconds) noexcept {
    std::lock_guard guard(b.mu);
    b.manual_clock.store(unix_seconds < 0 ? kSystemClock : unix_seconds, std::memory_order_relaxed);
    update_stamps_locked(b);
    ship_locked(b, false);  // replays move time by jumps: latch and ship as they go
    return SONDE_OK;
}

}  // namespace sonde::api
