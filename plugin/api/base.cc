// Opening and closing bases, and the watcher thread that applies configuration changes and
// keeps each base's calendar numbers current. Nothing here runs on the recording path.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

#include "api/state.hpp"
#include "core/immortal.hpp"
#include "core/process.hpp"
#include "core/tables.hpp"
#include "platform/files.hpp"
#include "platform/mapping.hpp"
#include "platform/process.hpp"
#include "ship/latcher.hpp"

namespace sonde::api {

namespace {
Immortal<BaseState, kMaxBases> g_base_storage;
std::atomic<uint64_t> g_generations{0};
}  // namespace
BaseState *const g_bases = g_base_storage.data();
Opening g_openings[kMaxOpenings];
Writer g_writers[kMaxWriters];

uintptr_t new_handle(uint32_t index) noexcept {
    const uintptr_t gen = uintptr_t(g_generations.fetch_add(1, std::memory_order_relaxed) + 1);
    return (gen << kIndexBits) | (uintptr_t(index) + 1);
}

// Each live base has its own worker thread for everything that touches files (configuration,
// keys, segment upkeep, spool, shipper): a file that hangs (a network share that stops
// answering: an open, stat, read or fsync that blocks for minutes, which O_NONBLOCK does not
// prevent) stalls only the base whose file it is. The control block is shared with the thread
// (shared_ptr): a worker that close gave up on (bounded wait) still finds it when it wakes up,
// and the BaseState it works on is immortal storage whose slot is not reused before the worker
// has finished the base's shutdown.
struct BaseWorker {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;   // close asked for the base's shutdown
    bool ready = false;  // the first configuration read is done (open waits for it, bounded)
    bool done = false;   // the shutdown is done: the slot is free, the thread is leaving
    std::thread *thread = nullptr;
};

namespace {

// Process-wide bookkeeping; outlives static destruction (see Immortal): workers may still run
// at exit.
struct Registry {
    std::mutex registry_mu;  // guards opening/closing: BaseState::open_count, closing, worker
    // Segments of closed bases, unmapped after a grace period: a thread that was inside a
    // recording call when the base closed still lands on mapped memory (retired_mu, a leaf).
    std::mutex retired_mu;
    struct Retired {
        void *address;
        size_t size;
        std::chrono::steady_clock::time_point unmap_after;
    };
    std::vector<Retired> retired;
};
Immortal<Registry> g_watch;
constexpr auto kUnmapGrace = std::chrono::seconds(60);
// How long base_open waits for the base's first configuration read, and base_close for the
// final snapshot, before leaving the worker to finish on its own (a file that hangs).
constexpr auto kOpenWait = std::chrono::seconds(2);
constexpr auto kCloseWait = std::chrono::seconds(3);

void unmap_retired(bool all) {
    std::lock_guard lock(g_watch->retired_mu);
    const auto now = std::chrono::steady_clock::now();
    auto &r = g_watch->retired;
    for (size_t i = 0; i < r.size();) {
        if (all || now >= r[i].unmap_after) {
            platform::unmap(r[i].address, r[i].size);
            r[i] = r.back();
            r.pop_back();
        } else {
            ++i;
        }
    }
}

int64_t system_now() noexcept { return platform::unix_now(); }

void update_stamps_locked(BaseState &b) noexcept {
    if (!b.tz) return;
    // Windows never go back (docs/snapshot.md, "Clock jumps"): a clock behind the latest latch
    // of the segment counts as that latch's time, for distinct users and tallies as well.
    int64_t now = base_now(b);
    if (b.segment.valid()) now = std::max(now, ship::latest_latch_time(b.segment));
    const auto s = time::stamps_at(*b.tz, now, b.config.school_year_start);
    b.stamps.store(pack_stamps(s), std::memory_order_relaxed);
}

// Where the sections of a validated mapping are, in process memory (see SegmentRefs).
void fill_refs(SegmentRefs &refs, const shm::Mapping &m) {
    static std::atomic<uint64_t> serials{0};
    const shm::Layout &l = m.layout();
    refs.serial = serials.fetch_add(1, std::memory_order_relaxed) + 1;
    refs.leases = m.leases();
    refs.rows = m.at<char>(l.g.rows_offset);
    refs.row_stride = l.g.row_stride;
    refs.row_count = l.row_count;
    refs.shared_row = m.shared_row();
    refs.gauges = m.gauges();
    refs.users = m.users();
    refs.user_slots = l.user_slots;
    refs.users_capacity = l.users_capacity;
    refs.students_capacity = l.students_capacity;
    refs.students = m.students();
    refs.student_slots = l.student_slots;
    refs.diag = m.diag();
    refs.levels = m.levels();
}

// Maps the segment the first time the base is enabled; it then stays mapped for the life of
// the process, so a writer's row pointer can never dangle. A refused segment (something
// unusable at the path) is counted and tried again every few seconds by the watcher.
bool ensure_segment_locked(BaseState &b) {
    if (b.segment.valid()) return true;
    // The configured capacities apply when the segment is created; an existing one keeps its own.
    shm::OpenResult r = shm::open_segment(b.shm_dir, b.base_id, b.product, capacities_of(b.config));
    if (!r.mapping.valid()) {
        b.last_error = r.error;
        if (r.refused) add_diag(nullptr, shm::Diag::SegmentsRefused, 1);
        return false;
    }
    b.segment = std::move(r.mapping);
    // Validated by open_segment; from now on only these process-memory copies are used.
    fill_refs(b.refs, b.segment);
    if (r.replaced)
        b.refs.diag[uint32_t(shm::Diag::SegmentsReplaced)].fetch_add(r.replaced,
                                                                     std::memory_order_relaxed);
    b.seg.store(&b.refs, std::memory_order_release);
    return true;
}

// The second half of a move to a republished copy (check_segment_file_locked), from the tick
// after the switch on, once this process's writers have left the old mapping: its leases of
// the copy are freed, distinct users and gauges merged, and its shared lock on the old file
// dropped. The process that published the copy then waits until it can lock the old file
// exclusively (every process that recorded in it has done the same, or died) and adds what was
// recorded there after the copy (shm::merge_after_copy). `force`: do it now (the base moves
// again, or closes): what another process records in the old mapping afterwards is lost.
void settle_moved_from_locked(BaseState &b, bool force) {
    if (!b.moved_from.valid()) return;
    const platform::File &file = b.moved_from.file();
    if (!b.moved_from_unlocked) {
        if (b.segment.valid()) {
            shm::free_copied_leases(b.segment, b.copied_leases, self_identity());
            shm::merge_marks(b.moved_from, b.segment);
        }
        b.copied_leases.clear();
        file.unlock();
        b.moved_from_unlocked = true;
    }
    if (!b.republish_copy.empty()) {
        const bool alone = file.valid() && file.lock(platform::Lock::Exclusive);
        if (!alone && !force) return;  // another process still records in the old mapping
        if (b.segment.valid()) shm::merge_after_copy(b.moved_from, b.republish_copy, b.segment);
        if (alone) file.unlock();
        std::vector<uint64_t>().swap(b.republish_copy);
    }
    b.moved_from.abandon();
    b.moved_from_unlocked = false;
}

// Moves the base to another mapping: writers lease again there (SegmentRefs::serial changes)
// and inline counters resolve again. The old mapping stays mapped for the life of the process
// (a writer inside a call still lands on mapped memory). Refs the hot path may be reading are
// never modified: each switch publishes new ones, kept for the life of the process.
void switch_segment_locked(BaseState &b, shm::Mapping next, bool move_rows_later) {
    settle_moved_from_locked(b, /*force=*/true);  // a second switch before the first settled
    // Kept (reachable) for the life of the process: a hot-path reader may still hold them.
    b.switched_refs.push_back(std::make_unique<SegmentRefs>());
    SegmentRefs *refs = b.switched_refs.back().get();
    fill_refs(*refs, next);
    // The rows leased to this process in the copy are those its writers held when the copy was
    // taken: none of its writers has leased in `next` yet (they see it once refs are stored).
    b.copied_leases.clear();
    if (move_rows_later) {
        const uint64_t self = self_identity();
        for (uint32_t i = 0; i < refs->row_count; ++i)
            if (refs->leases[i].owner.load(std::memory_order_acquire) == self)
                b.copied_leases.push_back(i);
    }
    shm::Mapping old = std::move(b.segment);
    b.segment = std::move(next);
    b.seg.store(refs, std::memory_order_release);
    disarm_writers(b);
    b.shipper.resign();  // its view maps the old file: elect again and map the new one
    b.retiring_users.clear();
    b.retiring_students.clear();
    if (move_rows_later) {
        b.moved_from = std::move(old);  // settled at the next tick, once writers left it
    } else {
        b.republish_copy.clear();
        old.abandon();
    }
}

// The watcher's check of the file behind the base's mapping (every second). A deleted file is
// published again from the live mapping, same generation, without losing counts; a truncated
// one is extended back at once (touching its lost pages would be a SIGBUS), set aside as
// corrupt, and a new generation starts; a path that names another file is attached to.
void check_segment_file_locked(BaseState &b) {
    settle_moved_from_locked(b, /*force=*/false);  // second half of a republish, ticks later
    if (!b.segment.valid()) return;
    const bool faulted = shm::take_sigbus_flag(b.segment);  // truncated, extended back already
    switch (faulted ? shm::FileState::Truncated : shm::check_file(b.segment)) {
        case shm::FileState::Ok:
            return;
        case shm::FileState::Deleted: {
            settle_moved_from_locked(b, /*force=*/true);  // deleted again before it settled
            shm::OpenResult r = shm::republish(b.segment, &b.republish_copy);
            if (!r.mapping.valid()) {
                b.last_error = r.error;
                return;
            }
            if (r.created)  // counted once, by the process that published the copy
                r.mapping.diag()[uint32_t(shm::Diag::SegmentsRecovered)].fetch_add(
                    1, std::memory_order_relaxed);
            switch_segment_locked(b, std::move(r.mapping), true);
            return;
        }
        case shm::FileState::Truncated: {
            b.segment.file().truncate(b.segment.size());
            platform::FileInfo st, mine;
            if (platform::path_info(b.segment.path(), st) && b.segment.file().info(mine) &&
                st.inode == mine.inode)
                platform::rename_replace(b.segment.path(), shm::aside_path(b.segment.path()));
            [[fallthrough]];
        }
        case shm::FileState::Replaced: {
            const uint64_t generation = b.segment.layout().generation;
            shm::OpenResult r =
                shm::open_segment(b.shm_dir, b.base_id, b.product, capacities_of(b.config));
            if (!r.mapping.valid()) {
                b.last_error = r.error;
                return;
            }
            const bool same = r.mapping.layout().generation == generation;
            if (!same)
                r.mapping.diag()[uint32_t(shm::Diag::SegmentsReplaced)].fetch_add(
                    1, std::memory_order_relaxed);
            switch_segment_locked(b, std::move(r.mapping), same);
            return;
        }
    }
}

// Entries of the users and students tables that belong to no window the console still shows
// are retired (tables.hpp), about once a second.
void reclaim_entries_locked(BaseState &b) {
    const SegmentRefs *seg = b.seg.load(std::memory_order_relaxed);
    const uint64_t stamps = b.stamps.load(std::memory_order_relaxed);
    if (!seg || !(stamps >> 63)) return;
    const tables::OpenNumbers open{uint32_t(stamps & 0xffff), uint32_t((stamps >> 16) & 0xffff),
                                   uint32_t((stamps >> 32) & 0xffff)};
    const uint32_t freed =
        tables::reclaim_pass(seg->users, seg->user_slots, open, b.retiring_users) +
        tables::reclaim_pass(seg->students, seg->student_slots, open, b.retiring_students);
    if (freed)
        seg->diag[uint32_t(shm::Diag::EntriesReclaimed)].fetch_add(freed,
                                                                   std::memory_order_relaxed);
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
    // Windows' own zone, as a diagnostic only (issue 10 §1): its offset now against the base's
    // zone's, once per configuration applied (base_open and each change). Counted in the
    // base's segment (process-wide while it has none); the base's zone is used either way.
    if (int32_t system = 0;
        platform::system_utc_offset_now(system) && system != b.tz->utc_offset(platform::unix_now()))
        add_diag(&b, shm::Diag::TimezoneDisagreements, 1);
    const bool was = b.recording.exchange(record, std::memory_order_seq_cst);
    // Either way, inline counters must resolve their target again (a disabled base's counters
    // point at a sink).
    if (was != record) disarm_writers(b);
}

void diag_locked(BaseState &b, shm::Diag what) { add_diag(&b, what, 1); }

void refresh_locked(BaseState &b) {
    platform::FileInfo st;
    const bool exists = platform::path_info(b.config_file, st, /*follow=*/true);
    if (!exists) st = {};
    const int64_t mtime = exists ? st.modified_ns : -1;
    if (exists == b.seen.exists && mtime == b.seen.mtime_ns && int64_t(st.size) == b.seen.size &&
        st.inode == b.seen.inode) {
        update_stamps_locked(b);
        return;
    }
    b.seen = {mtime, exists ? int64_t(st.size) : -1, exists ? st.inode : 0, exists};
    BaseConfig c;
    std::string why;
    switch (load_config(b.config_file, c, &why)) {
        case ConfigLoad::Missing:
            if (b.recording.exchange(false, std::memory_order_seq_cst)) disarm_writers(b);
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

// An enabled base whose segment was refused (or could not be created) tries again every 5 s.
void retry_segment_locked(BaseState &b) {
    if (!b.config.enabled || b.segment.valid()) return;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    if (now < b.next_open_retry) return;
    b.next_open_retry = now + 5;
    if (!ensure_segment_locked(b)) return;
    if (!b.recording.exchange(true, std::memory_order_seq_cst)) disarm_writers(b);
}

// Takes back rows whose owner process died, so that new writers find free rows. The values
// stay in the row: the next lessee keeps adding to them, so nothing is lost or counted twice.
void reclaim_dead_rows_locked(BaseState &b) {
    const SegmentRefs *seg = b.seg.load(std::memory_order_relaxed);
    if (!seg) return;
    const uint64_t self = self_identity();
    for (uint32_t i = 0; i < seg->row_count; ++i) {
        uint64_t owner = seg->leases[i].owner.load(std::memory_order_acquire);
        if (owner == 0 || owner == self || identity_alive(owner)) continue;
        if (seg->leases[i].owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel))
            seg->diag[uint32_t(shm::Diag::RowsReclaimed)].fetch_add(1, std::memory_order_relaxed);
    }
}

// Runs the shipper step of the base and mirrors its counters into the segment's diagnostics.
void ship_locked(BaseState &b, bool final) {
    if (!b.recording.load(std::memory_order_relaxed) || !b.segment.valid() || !b.tz ||
        b.config.snapshots.spool_dir.empty())
        return;
    b.shipper.tick(b.segment.path(), b.base_id, b.config, *b.tz, base_now(b), final);
    const ship::ShipperStats &now = b.shipper.stats();
    std::atomic<uint64_t> *diag = b.seg.load(std::memory_order_relaxed)->diag;
    diag[uint32_t(shm::Diag::SnapshotsWritten)].fetch_add(now.snapshots - b.shipped.snapshots);
    diag[uint32_t(shm::Diag::SnapshotErrors)].fetch_add(now.errors - b.shipped.errors);
    diag[uint32_t(shm::Diag::SpoolMerges)].fetch_add(now.merges - b.shipped.merges);
    if (now.errors != b.shipped.errors) b.last_error = b.shipper.last_error();
    b.shipped = now;
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

namespace {

void after_fork_in_child() { forget_writers_after_fork(); }

// A free opening slot, or null; registry_mu held.
Opening *free_opening_locked() {
    for (Opening &o : g_openings)
        if (o.handle.load(std::memory_order_relaxed) == 0) return &o;
    return nullptr;
}

// The base's slot: the one already open for the same base, else an unused one (a closed
// base's slot is reused once its worker has finished the shutdown); registry_mu held. A base
// being closed is not joined again: its worker may be stuck on a file, and the new opening
// gets a slot (and a worker) of its own.
BaseState *base_slot_locked(const sonde_open_params &p, const std::string &shm_dir, bool *live) {
    BaseState *unused = nullptr;
    for (uint32_t i = 0; i < kMaxBases; ++i) {
        BaseState &b = g_bases[i];
        if (b.live.load(std::memory_order_acquire)) {
            if (!b.closing && b.base_id == p.base_id && b.shm_dir == shm_dir &&
                b.config_dir == p.config_dir) {
                *live = true;
                return &b;
            }
        } else if (!unused) {
            unused = &b;
        }
    }
    *live = false;
    return unused;
}

// The last opening of the base is closed: final snapshot, writers released, segment retired,
// slot ready for another base. The base's worker runs it, b.mu held.
void shut_base_locked(BaseState &b) {
    // A republish not settled yet: the other processes get a moment to leave the old mapping.
    for (int i = 0; i < 40 && b.moved_from.valid(); ++i) {
        settle_moved_from_locked(b, false);
        if (b.moved_from.valid()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    settle_moved_from_locked(b, true);
    ship_locked(b, /*final=*/true);  // the snapshot of a clean shutdown
    b.shipper.resign();
    if (b.recording.exchange(false, std::memory_order_seq_cst)) disarm_writers(b);
    for (Writer &w : g_writers)
        if (w.base.load(std::memory_order_relaxed) == &b &&
            w.handle.load(std::memory_order_acquire) != 0)
            release_writer(w);
    b.seg.store(nullptr, std::memory_order_release);
    if (b.segment.valid()) {
        {
            std::lock_guard lock(g_watch->retired_mu);
            g_watch->retired.push_back({&b.segment.header(), size_t(b.segment.size()),
                                        std::chrono::steady_clock::now() + kUnmapGrace});
        }
        platform::File file = b.segment.take_file();
        b.segment.leak();  // unmapped by unmap_retired; the descriptor goes now
        file.close();
    }
    b.refs = SegmentRefs{};
    b.retiring_users.clear();
    b.retiring_students.clear();
    b.next_open_retry = 0;
    b.shipper.~Shipper();  // not movable: a fresh one in place for the slot's next base
    new (&b.shipper) ship::Shipper();
    b.shipped = {};
    b.last_error.clear();
    b.live.store(0, std::memory_order_release);
}

// The base's worker: its first configuration read, then every 200 ms its calendar numbers and
// shipper step, every second its configuration, segment file, dead rows and table entries;
// at close the shutdown. Only this base's files are touched here.
void worker_loop(BaseState *base, std::shared_ptr<BaseWorker> self) {
    using namespace std::chrono_literals;
    BaseState &b = *base;
    platform::set_thread_name("sonde-base");
    {
        std::lock_guard guard(b.mu);
        refresh_locked(b);
    }
    {
        std::lock_guard lock(self->mu);
        self->ready = true;
    }
    self->cv.notify_all();
    auto next_config_check = std::chrono::steady_clock::now() + 1s;
    for (;;) {
        {
            std::unique_lock lock(self->mu);
            if (self->cv.wait_for(lock, 200ms, [&] { return self->stop; })) break;
        }
        const bool check_config = std::chrono::steady_clock::now() >= next_config_check;
        if (check_config) next_config_check = std::chrono::steady_clock::now() + 1s;
        std::lock_guard guard(b.mu);
        if (check_config) {
            refresh_locked(b);
            retry_segment_locked(b);
            check_segment_file_locked(b);
            reclaim_dead_rows_locked(b);
            reclaim_entries_locked(b);
        } else {
            update_stamps_locked(b);
        }
        if (b.manual_clock.load(std::memory_order_relaxed) == kSystemClock) ship_locked(b, false);
    }
    {
        std::lock_guard guard(b.mu);
        shut_base_locked(b);
    }
    {
        std::lock_guard lock(self->mu);
        self->done = true;
    }
    self->cv.notify_all();
}

// Starts the base's worker; registry_mu held. Also in a forked child, which inherits the
// parent's bases but not their threads (the parent's control block is left alone: its thread
// object belongs to the parent).
void start_worker_locked(BaseState &b) {
    auto w = std::make_shared<BaseWorker>();
    w->thread = new std::thread(worker_loop, &b, w);
    b.worker = std::move(w);
    b.worker_pid = platform::current_pid();
}

// Waits for the worker's flag until `limit`; then joins the thread if it is done, else leaves
// it to finish on its own (it keeps its control block; the base's slot stays taken until then).
bool wait_worker(BaseWorker &w, bool BaseWorker::*flag, std::chrono::steady_clock::duration limit,
                 bool join) {
    bool reached = false;
    {
        std::unique_lock lock(w.mu);
        reached = w.cv.wait_for(lock, limit, [&] { return w.*flag; });
    }
    if (!join) return reached;
    std::thread *t = nullptr;
    {
        std::lock_guard lock(w.mu);
        std::swap(t, w.thread);
    }
    if (t) {
        if (reached)
            t->join();
        else
            t->detach();
        delete t;
    }
    return reached;
}

}  // namespace

int open_base(const sonde_open_params &p, uintptr_t *handle) noexcept {
    try {
        shm::install_sigbus_guard();
        static std::once_flag fork_handler;
        std::call_once(fork_handler, [] { platform::at_fork_child(after_fork_in_child); });
        unmap_retired(false);
        std::shared_ptr<BaseWorker> started;
        {
            std::lock_guard registry(g_watch->registry_mu);
            const std::string shm_dir = p.shm_dir ? p.shm_dir : shm::default_segment_dir();
            Opening *opening = free_opening_locked();
            bool live = false;
            BaseState *slot = base_slot_locked(p, shm_dir, &live);
            if (!opening || !slot) return SONDE_E_NOMEM;
            if (live) {
                ++slot->open_count;
                if (slot->worker_pid != platform::current_pid())
                    start_worker_locked(*slot);  // forked child
            } else {
                self_identity();  // cache the process identity now: leasing later needs no syscall
                {
                    // The slot's previous worker released b.mu when it finished its shutdown.
                    std::lock_guard guard(slot->mu);
                    slot->base_id = p.base_id;
                    slot->config_dir = p.config_dir;
                    slot->shm_dir = shm_dir;
                    slot->config_file = config_path(slot->config_dir, slot->base_id);
                    slot->product = p.product;
                    slot->config = BaseConfig{};
                    slot->tz = time::TimeZone::load(slot->config.timezone, nullptr);
                    if (!slot->tz) slot->tz = time::TimeZone::utc();
                    slot->seen = {};
                    slot->seen.mtime_ns = -2;  // force the first read
                    slot->manual_clock.store(kSystemClock, std::memory_order_relaxed);
                    slot->stamps.store(0, std::memory_order_relaxed);
                }
                slot->open_count = 1;
                slot->closing = false;
                slot->live.store(1, std::memory_order_release);
                start_worker_locked(*slot);  // reads the configuration first
                started = slot->worker;
            }
            opening->base = slot;
            const uintptr_t h = new_handle(uint32_t(opening - g_openings));
            opening->handle.store(h, std::memory_order_release);
            *handle = h;
        }
        // A new base records from the first call if its configuration says so: wait for the
        // worker's first read, but never longer than kOpenWait (a configuration file that
        // hangs: the base then starts disabled and the worker applies the file when it answers).
        if (started) wait_worker(*started, &BaseWorker::ready, kOpenWait, false);
        return SONDE_OK;
    } catch (...) {
        return SONDE_E_NOMEM;
    }
}

int close_opening(Opening &o) noexcept {
    try {
        std::shared_ptr<BaseWorker> worker;
        {
            std::lock_guard registry(g_watch->registry_mu);
            const uintptr_t h = o.handle.exchange(0, std::memory_order_acq_rel);
            if (h == 0) return count_diag(nullptr, shm::Diag::BadHandle, SONDE_E_HANDLE);  // raced
            BaseState &b = *o.base;
            const uint16_t index = uint16_t(&o - g_openings);
            for (Writer &w : g_writers)  // this opening's writers, whichever thread has them
                if (w.handle.load(std::memory_order_acquire) != 0 && w.opening == index &&
                    w.base.load(std::memory_order_relaxed) == &b)
                    release_writer(w);
            if (--b.open_count == 0) {
                b.closing = true;
                if (b.worker_pid != platform::current_pid())
                    start_worker_locked(b);  // forked child
                worker = b.worker;
                {
                    std::lock_guard lock(worker->mu);
                    worker->stop = true;
                }
                worker->cv.notify_all();
            }
        }
        // The worker ships the final snapshot and frees the slot. A worker stuck on a file is
        // not waited for past kCloseWait: the host goes on, and the worker finishes the
        // shutdown when the file answers (the slot stays taken until then).
        if (worker) wait_worker(*worker, &BaseWorker::done, kCloseWait, true);
        unmap_retired(false);
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
