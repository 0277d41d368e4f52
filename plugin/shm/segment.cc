#include "shm/segment.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/process.hpp"
#include "core/tables.hpp"
#include "platform/files.hpp"
#include "platform/mapping.hpp"
#include "platform/process.hpp"

namespace sonde::shm {

void install_sigbus_guard() noexcept { platform::install_truncation_guard(); }

bool take_sigbus_flag(const Mapping &m) noexcept {
    return m.valid() && platform::take_truncation_flag(&m.header());
}

struct MappingFactory {
    // `base` holds a validated header: its geometry is copied into process memory now.
    static Mapping make(void *base, uint64_t size, platform::File file, std::string path,
                        bool anonymous = false) {
        Mapping m;
        m.base_ = base;
        m.size_ = size;
        m.file_ = std::move(file);
        m.anonymous_ = anonymous;
        m.path_ = std::move(path);
        const Header &h = *static_cast<const Header *>(base);
        if (!anonymous) platform::guard_mapping(base, size, m.file_);
        Layout &l = m.layout_;
        l.row_count = h.row_count;
        l.user_slots = h.user_capacity;
        l.student_slots = h.student_capacity;
        l.users_capacity = h.user_stated_capacity;
        l.students_capacity = h.student_stated_capacity;
        l.g = geometry(l.row_count, l.user_slots, l.student_slots);
        l.generation = h.generation;
        l.creator_start_unix_ns = h.creator_start_unix_ns;
        l.product = h.product;
        std::memcpy(l.base_id, h.base_id, sizeof l.base_id);
        l.base_id[sizeof l.base_id - 1] = '\0';
        return m;
    }
};

Mapping::Mapping(Mapping &&o) noexcept { *this = std::move(o); }

Mapping &Mapping::operator=(Mapping &&o) noexcept {
    if (this != &o) {
        reset();  // not this->~Mapping(): that would end path_'s lifetime, then assign to it
        base_ = o.base_;
        size_ = o.size_;
        file_ = std::move(o.file_);
        anonymous_ = o.anonymous_;
        path_ = std::move(o.path_);
        layout_ = o.layout_;
        o.base_ = nullptr;
    }
    return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() noexcept {
    if (base_ && !anonymous_) platform::unguard_mapping(base_);
    if (base_) platform::unmap(base_, size_);
    file_.close();
    base_ = nullptr;
}

void Mapping::abandon() noexcept {
    base_ = nullptr;
    file_.release();
}

void Mapping::leak() noexcept {
    if (base_ && !anonymous_) platform::unguard_mapping(base_);
    base_ = nullptr;
    file_.release();
}

namespace {

uint32_t fnv1a(uint32_t h, const void *data, size_t len) {
    const auto *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < len; ++i) h = (h ^ p[i]) * 16777619u;
    return h;
}

std::string errno_text(const char *what, const std::string &path) {
    return std::string(what) + " " + path + ": " + std::strerror(errno);
}

uint64_t random_u64() {
    uint64_t v = 0;
    if (!platform::random_bytes(&v, sizeof v))
        v = uint64_t(platform::unix_now_ns() % 1000000000) * 0x9E3779B97F4A7C15ULL ^
            uint64_t(platform::current_pid());
    return v ? v : 1;
}

void initialise(void *base, const Geometry &g, const Capacities &caps, const std::string &base_id,
                uint32_t product) {
    // The file was allocated with zeroes: every counter, lease and table slot starts at 0.
    auto *h = new (base) Header{};
    h->magic = kMagic;
    h->byte_order = kByteOrderMark;
    h->layout_version = kLayoutVersion;
    h->schema_hash = catalog::kSchemaHash;
    h->size = g.size;
    h->creator_pid = int32_t(platform::current_pid());
    h->header_size = sizeof(Header);
    h->creator_start_unix_ns = platform::unix_now_ns();
    h->generation = random_u64();
    std::strncpy(h->base_id, base_id.c_str(), sizeof h->base_id - 1);
    h->product = product;
    h->level_slots = catalog::kLevelSlots;
    h->row_count = kRowCount;
    h->cells_per_row = catalog::kCounterCells;
    h->row_stride = g.row_stride;
    h->leases_offset = g.leases_offset;
    h->rows_offset = g.rows_offset;
    h->shared_row_offset = g.shared_row_offset;
    h->gauges_offset = g.gauges_offset;
    h->gauge_cells = catalog::kGaugeCells;
    h->user_capacity = table_slots(caps.users);
    h->users_offset = g.users_offset;
    h->student_capacity = table_slots(caps.students);
    h->tally_slots = catalog::kTallySlots;
    h->students_offset = g.students_offset;
    h->diag_offset = g.diag_offset;
    h->levels_offset = g.levels_offset;
    h->hour_latches_offset = g.hour_latches_offset;
    h->day_latches_offset = g.day_latches_offset;
    h->month_latches_offset = g.month_latches_offset;
    h->year_latches_offset = g.year_latches_offset;
    h->hour_latch_stride = g.hour_latch_stride;
    h->full_latch_stride = g.full_latch_stride;
    h->user_stated_capacity = caps.users;
    h->student_stated_capacity = caps.students;
    const BootId boot = current_boot_id();
    h->boot_id[0].store(boot.hi, std::memory_order_relaxed);
    h->boot_id[1].store(boot.lo, std::memory_order_relaxed);
    h->boots.store(1, std::memory_order_relaxed);
    h->header_checksum = header_checksum(*h);
    h->ready.store(1, std::memory_order_release);
}

bool set_aside_path(const std::string &path);

// Renames a bad segment aside so nobody writes to it again and an operator can inspect it.
// Only if the path still names the file we examined: another process may have done it first.
bool set_aside(const std::string &path, const platform::File &file) {
    platform::FileInfo mine, now;
    if (!file.info(mine) || !platform::path_info(path, now)) return false;
    if (!mine.same_file(now)) return false;
    return set_aside_path(path);
}

// The same for something we could not even open (a file of another user, a socket...).
bool set_aside_path(const std::string &path) {
    return platform::rename_replace(path, aside_path(path));
}

std::string dir_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Opens without following a symlink and without blocking on a FIFO or a device.
platform::File open_nofollow(const std::string &path, unsigned mode) {
    return platform::File::open(path, mode | platform::kNoFollow | platform::kNonBlock);
}

// A shared lock, retried while another process holds it exclusively for the microseconds of
// its fold (attach_locked): an attached process without it could have its leases folded.
void lock_shared(const platform::File &file) {
    for (int i = 0; i < 2000 && !file.lock(platform::Lock::Shared); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// A temp file next to `path`, sized, mapped; `fill` writes its contents; then published with
// rename_new() (link, or MoveFileEx without replacing). Nobody can ever see a half-initialised
// segment, and a creator that dies leaves only its temp file. lost_race: the path exists already.
template <typename Fill>
OpenResult make_and_publish(const std::string &path, uint64_t size, Fill fill, bool &lost_race) {
    OpenResult r;
    lost_race = false;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".init.%d.%016llx", int(platform::current_pid()),
                  static_cast<unsigned long long>(random_u64()));
    std::string tmp = path + suffix;
    platform::File file = open_nofollow(
        tmp, platform::kRead | platform::kWrite | platform::kCreate | platform::kExclusive);
    if (!file) {
        r.error = errno_text("cannot create", tmp);
        return r;
    }
    file.set_mode(0600);  // whatever the umask
    // The whole file now (never sparse): a full disk then fails here, at creation, instead of
    // a fault in the host on first touch of a page.
    if (int rc = file.allocate(size); rc != 0) {
        errno = rc;
        r.error = errno_text("cannot allocate", tmp);
        file.close();
        platform::remove_file(tmp);
        return r;
    }
    void *base = platform::map_file(file, size, true);
    if (!base) {
        r.error = errno_text("cannot map", tmp);
        file.close();
        platform::remove_file(tmp);
        return r;
    }
    fill(base);
    platform::sync_mapping(file, base, size);  // durable before anyone can find it
    if (!platform::rename_new(tmp, path)) {
        const int err = errno;
        platform::unmap(base, size);
        file.close();
        platform::remove_file(tmp);  // unmapped and closed first: Windows deletes it only then
        if (err == EEXIST) {
            lost_race = true;
        } else {
            errno = err;
            r.error = errno_text("cannot publish", path);
        }
        return r;
    }
    platform::sync_directory(dir_of(path));
    lock_shared(file);  // marks the segment as attached
    r.mapping = MappingFactory::make(base, size, std::move(file), path);
    r.created = true;
    return r;
}

OpenResult create_and_publish(const std::string &path, const std::string &base_id, uint32_t product,
                              const Capacities &caps, bool &lost_race) {
    const Geometry g = geometry_for(caps);
    return make_and_publish(
        path, g.size, [&](void *base) { initialise(base, g, caps, base_id, product); }, lost_race);
}

// Attaching to a valid segment: shared lock, which the OS drops when the process dies.
// When this process gets it exclusively first, nobody else has the segment open (in this
// boot: locks do not survive one), so every lease left is a dead process's: they are folded
// here, exactly like the watcher folds the rows of a process that crashed. The boot id then
// tells a reboot (counted) from a restart of every process within one boot.
void attach_locked(Mapping &m, OpenResult &r) {
    Header &h = m.header();
    const platform::File &file = m.file();
    bool alone = false;
    for (int i = 0; i < 200; ++i) {
        if (file.lock(platform::Lock::Exclusive)) {
            alone = true;
            break;
        }
        if (file.lock(platform::Lock::Shared)) return;  // others are attached
        // Someone holds it exclusively for the few microseconds of its own fold.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!alone) return;
    Lease *leases = m.leases();
    for (uint32_t i = 0; i < m.layout().row_count; ++i) {
        uint64_t owner = leases[i].owner.load(std::memory_order_acquire);
        if (owner != 0 &&
            leases[i].owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel))
            ++r.folded;
    }
    if (r.folded)
        m.diag()[uint32_t(Diag::RowsReclaimed)].fetch_add(r.folded, std::memory_order_relaxed);
    const BootId boot = current_boot_id();
    if (h.boot_id[0].load(std::memory_order_relaxed) != boot.hi ||
        h.boot_id[1].load(std::memory_order_relaxed) != boot.lo) {
        h.boot_id[0].store(boot.hi, std::memory_order_relaxed);
        h.boot_id[1].store(boot.lo, std::memory_order_relaxed);
        h.boots.fetch_add(1, std::memory_order_relaxed);
        m.diag()[uint32_t(Diag::SegmentReboots)].fetch_add(1, std::memory_order_relaxed);
        r.rebooted = true;
    }
    lock_shared(file);  // converted: from now on others may attach
}

}  // namespace

uint32_t header_checksum(const Header &h) noexcept {
    uint32_t c = fnv1a(2166136261u, &h, offsetof(Header, ready));
    const auto *p = reinterpret_cast<const char *>(&h) + offsetof(Header, base_id);
    return fnv1a(c, p, offsetof(Header, boot_id) - offsetof(Header, base_id));
}

std::string default_segment_dir() {
    const char *env = std::getenv("SONDE_SEGMENT_DIR");
    return env && *env ? std::string(env) : std::string(kDefaultSegmentDir);
}

std::string check_directory(const std::string &dir, bool create) {
    platform::FileInfo st;
    if (!platform::path_info(dir, st)) {
        if (errno != ENOENT || !create) return errno_text("cannot use", dir);
        // Parents as usual (0755), the directory itself private (0700).
        for (size_t at = 1; (at = dir.find('/', at)) != std::string::npos; ++at)
            platform::make_directory(dir.substr(0, at), 0755);
        if (!platform::make_directory(dir, 0700) && errno != EEXIST)
            return errno_text("cannot create", dir);
        if (!platform::path_info(dir, st)) return errno_text("cannot use", dir);
    }
    if (st.kind != platform::FileKind::Directory)
        return "refusing " + dir + ": not a directory (or a symlink)";
    if (st.sticky) return {};  // /dev/shm, /tmp: squatted names are refused file by file
    if (!st.owned_by_me)
        return "refusing " + dir + ": owned by uid " + std::to_string(st.owner) +
               ", not by this process's user";
    if (st.others_may_write)
        return "refusing " + dir + ": writable by other users (chmod go-w, or 0700)";
    return {};
}

std::string aside_path(const std::string &path) {
    return path + ".bad." + std::to_string(platform::unix_now()) + "." +
           std::to_string(platform::current_pid());
}

std::string segment_path(const std::string &shm_dir, const std::string &base_id) {
    return shm_dir + "/sonde." + base_id;
}

std::string validate(const Header &h, uint64_t file_size) {
    if (file_size < sizeof(Header)) return "file smaller than a header";
    if (h.magic != kMagic) return "bad magic";
    if (h.byte_order != kByteOrderMark) return "written with another byte order";
    if (h.layout_version != kLayoutVersion)
        return "layout version " + std::to_string(h.layout_version) + ", expected " +
               std::to_string(kLayoutVersion);
    if (h.schema_hash != catalog::kSchemaHash) return "catalogue schema differs from this build's";
    if (h.ready.load(std::memory_order_acquire) != 1) return "never finished initialising";
    if (h.header_size != sizeof(Header))
        return "header of " + std::to_string(h.header_size) + " bytes, expected " +
               std::to_string(sizeof(Header)) + " (another build of the same layout version)";
    if (h.header_checksum != header_checksum(h)) return "header checksum mismatch (corrupt)";
    if (h.size != file_size) return "recorded size differs from the file size";
    if (!valid_capacities({h.user_stated_capacity, h.student_stated_capacity}))
        return "stated table capacities out of range (corrupt)";
    if (h.user_capacity != table_slots(h.user_stated_capacity) ||
        h.student_capacity != table_slots(h.student_stated_capacity))
        return "table slots do not match the stated capacities (corrupt)";
    const Geometry g = geometry(h.row_count, h.user_capacity, h.student_capacity);
    if (h.row_count != kRowCount || h.level_slots != catalog::kLevelSlots ||
        h.cells_per_row != catalog::kCounterCells || h.gauge_cells != catalog::kGaugeCells ||
        h.tally_slots != catalog::kTallySlots || h.row_stride != g.row_stride ||
        h.leases_offset != g.leases_offset || h.rows_offset != g.rows_offset ||
        h.shared_row_offset != g.shared_row_offset || h.gauges_offset != g.gauges_offset ||
        h.users_offset != g.users_offset || h.students_offset != g.students_offset ||
        h.diag_offset != g.diag_offset || h.levels_offset != g.levels_offset ||
        h.hour_latches_offset != g.hour_latches_offset ||
        h.day_latches_offset != g.day_latches_offset ||
        h.month_latches_offset != g.month_latches_offset ||
        h.year_latches_offset != g.year_latches_offset ||
        h.hour_latch_stride != g.hour_latch_stride || h.full_latch_stride != g.full_latch_stride ||
        h.size != g.size)
        return "section table inconsistent (corrupt)";
    if (h.base_id[sizeof h.base_id - 1] != '\0') return "base id not terminated (corrupt)";
    return {};
}

OpenResult open_segment(const std::string &shm_dir, const std::string &base_id, uint32_t product) {
    return open_segment(shm_dir, base_id, product, Capacities{});
}

OpenResult open_segment(const std::string &shm_dir, const std::string &base_id, uint32_t product,
                        const Capacities &caps) {
    const std::string path = segment_path(shm_dir, base_id);
    OpenResult r;
    if (!valid_capacities(caps)) {
        r.error = "capacities out of range: " + std::to_string(caps.users) + " users (" +
                  std::to_string(kMinUserCapacity) + ".." + std::to_string(kMaxUserCapacity) +
                  "), " + std::to_string(caps.students) + " students (" +
                  std::to_string(kMinStudentCapacity) + ".." + std::to_string(kMaxStudentCapacity) +
                  ")";
        return r;
    }
    if (std::string why = check_directory(shm_dir, true); !why.empty()) {
        r.error = why;
        r.refused = true;
        return r;
    }
    platform::FileInfo dir_st;
    const bool sticky_dir = platform::path_info(shm_dir, dir_st, true) && dir_st.sticky;
    for (int attempt = 0; attempt < 8; ++attempt) {
        platform::File file = open_nofollow(path, platform::kRead | platform::kWrite);
        if (!file && errno == ENOENT) {
            bool lost_race = false;
            OpenResult c = create_and_publish(path, base_id, product, caps, lost_race);
            c.replaced = r.replaced;
            if (lost_race) continue;
            return c;
        }
        platform::FileInfo st;
        const bool regular_and_mine = file && file.info(st) &&
                                      st.kind == platform::FileKind::Regular && st.owned_by_me &&
                                      st.links > 0;
        if (!regular_and_mine) {
            // A symlink, a FIFO, a directory, another user's file: never used. In our own
            // directory it is set aside like a corrupt segment and a fresh one is created; in
            // a sticky directory (/dev/shm) we may not move it: refused, and retried later.
            const int err = errno;
            const bool opened = file.valid();
            file.close();
            if (!sticky_dir && set_aside_path(path)) {
                ++r.replaced;
                continue;
            }
            r.refused = true;
            r.error = !opened && err != ELOOP && err != EACCES && err != ENXIO
                          ? (errno = err, errno_text("cannot open", path))
                          : "refusing " + path +
                                ": not a regular file owned by this user (and it cannot be "
                                "set aside)";
            return r;
        }
        std::string why;
        void *base = nullptr;
        if (st.size < sizeof(Header)) {
            why = "file smaller than a header";
        } else {
            base = platform::map_file(file, st.size, true);
            if (!base) {
                r.error = errno_text("cannot map", path);
                return r;
            }
            why = validate(*static_cast<Header *>(base), st.size);
            if (why.empty() &&
                std::strncmp(static_cast<Header *>(base)->base_id, base_id.c_str(), 16) != 0)
                why = "segment belongs to another base";
        }
        if (why.empty()) {
            r.mapping = MappingFactory::make(base, st.size, std::move(file), path);
            attach_locked(r.mapping, r);
            return r;
        }
        // Never write to it: set it aside and start a fresh one.
        if (base) platform::unmap(base, st.size);
        if (set_aside(path, file)) ++r.replaced;
        file.close();
        r.error = path + ": " + why;
    }
    if (r.error.empty()) r.error = "could not open " + path + " after several attempts";
    return r;
}

OpenResult attach_segment(const std::string &path, Access access) {
    OpenResult r;
    const bool rw = access == Access::ReadWrite;
    platform::File file =
        open_nofollow(path, rw ? platform::kRead | platform::kWrite : platform::kRead);
    if (!file) {
        r.error = errno_text("cannot open", path);
        return r;
    }
    platform::FileInfo st;
    if (!file.info(st) || st.kind != platform::FileKind::Regular || st.size < sizeof(Header) ||
        st.size > (uint64_t{1} << 32)) {
        r.error = path + ": not a segment (not a regular file, or of an impossible size)";
        return r;
    }
    const uint64_t size = st.size;
    void *base = nullptr;
    if (access == Access::Copy) {
        // Private memory, filled with a copy of the file as the writers' mappings see it: a
        // later truncation or rewrite of the file cannot reach what this reader uses.
        base = platform::map_private(size);
        if (base) {
            if (!platform::copy_file(file, base, size)) {
                platform::unmap(base, size);
                r.error = path + ": shrank while being read";
                return r;
            }
        }
        file.close();
    } else {
        base = platform::map_file(file, size, rw);
    }
    if (!base) {
        r.error = errno_text("cannot map", path);
        return r;
    }
    std::string why = validate(*static_cast<Header *>(base), size);
    if (!why.empty()) {
        r.error = path + ": " + why;
        platform::unmap(base, size);
        return r;
    }
    r.mapping = MappingFactory::make(base, size, std::move(file), path, access == Access::Copy);
    return r;
}

bool flush(const Mapping &m, int64_t now_unix) noexcept {
    if (!m.valid()) return false;
    Header &h = m.header();
    h.flushed_unix.store(now_unix, std::memory_order_relaxed);
    h.flush_count.fetch_add(1, std::memory_order_relaxed);
    return platform::sync_mapping(m.file(), &h, m.size());
}

FileState check_file(const Mapping &m) noexcept {
    if (!m.valid() || !m.file()) return FileState::Ok;
    platform::FileInfo mine;
    if (!m.file().info(mine)) return FileState::Ok;
    if (mine.size < m.size()) return FileState::Truncated;
    if (mine.links == 0) return FileState::Deleted;
    platform::FileInfo now;
    if (!platform::path_info(m.path(), now)) return FileState::Deleted;  // renamed away
    if (!now.same_file(mine)) return FileState::Replaced;
    return FileState::Ok;
}

OpenResult republish(const Mapping &live, std::vector<uint64_t> *copy) {
    const std::string &path = live.path();
    if (copy) copy->clear();
    for (int attempt = 0; attempt < 4; ++attempt) {
        // Another process may have published the copy already: attach to it if it is ours.
        OpenResult existing = attach_segment(path, Access::ReadWrite);
        if (existing.mapping.valid()) {
            if (existing.mapping.layout().generation == live.layout().generation) {
                lock_shared(existing.mapping.file());
                return existing;
            }
            OpenResult r;
            r.error = path + " now holds another generation";
            return r;
        }
        bool lost_race = false;
        if (copy) copy->assign(live.size() / 8, 0);
        OpenResult c = make_and_publish(
            path, live.size(),
            [&](void *base) {
                // Word by word: the live segment keeps changing under the copy (atomics). The
                // publisher keeps what it copied: merge_after_copy adds what was recorded in
                // the live mapping after it.
                const auto *from = reinterpret_cast<const std::atomic<uint64_t> *>(&live.header());
                auto *to = static_cast<uint64_t *>(base);
                for (uint64_t i = 0; i < live.size() / 8; ++i) {
                    to[i] = from[i].load(std::memory_order_relaxed);
                    if (copy) (*copy)[i] = to[i];
                }
            },
            lost_race);
        if (!lost_race) {
            if (!c.mapping.valid() && copy) copy->clear();
            return c;
        }
        if (copy) copy->clear();
    }
    OpenResult r;
    r.error = "could not republish " + path;
    return r;
}

uint32_t free_copied_leases(const Mapping &to, const std::vector<uint32_t> &rows,
                            uint64_t self) noexcept {
    uint32_t freed = 0;
    for (const uint32_t i : rows) {
        if (i >= to.layout().row_count) continue;
        uint64_t expected = self;
        freed +=
            to.leases()[i].owner.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    }
    return freed;
}

void merge_marks(const Mapping &from, const Mapping &to) noexcept {
    // Distinct users marked in the old table after the copy: marks are a union, so every
    // process may merge them all, any number of times. Gauges set since: the later one wins.
    if (from.layout().user_slots == to.layout().user_slots) {
        const uint32_t slots = from.layout().user_slots;
        for (uint32_t i = 0; i < slots; ++i) {
            const UserEntry &e = from.users()[i];
            const uint64_t key = e.key.load(std::memory_order_acquire);
            if (!tables::live_key(key)) continue;
            UserEntry *into = nullptr;
            for (uint32_t w = 0; w < kWindows; ++w)
                for (const auto &slot : e.slot[w]) {
                    const uint64_t v = slot.load(std::memory_order_relaxed);
                    const uint64_t mask = v & kMaskMask;
                    if (!mask) continue;
                    if (!into && !(into = tables::find_or_insert(to.users(), slots, key))) break;
                    for (uint32_t b = 0; b < kMaskBits; ++b)
                        if (mask >> b & 1)
                            tables::mark_user(*into, Window(w), uint32_t(v >> kMaskBits),
                                              uint64_t{1} << b);
                }
        }
    }
    for (uint32_t g = 0; g < catalog::kGaugeCells; ++g) {
        const uint64_t mine = from.gauges()[g].load(std::memory_order_relaxed);
        uint64_t theirs = to.gauges()[g].load(std::memory_order_relaxed);
        while ((mine >> 32) > (theirs >> 32) &&
               !to.gauges()[g].compare_exchange_weak(theirs, mine, std::memory_order_relaxed)) {
        }
    }
}

void merge_after_copy(const Mapping &from, const std::vector<uint64_t> &copy,
                      const Mapping &to) noexcept {
    const Layout &l = from.layout();
    if (copy.size() != from.size() / 8 || to.size() != from.size() ||
        to.layout().row_count != l.row_count || to.layout().student_slots != l.student_slots)
        return;
    const char *origin = reinterpret_cast<const char *>(&from.header());
    auto copied = [&](const void *word) {
        return copy[uint64_t(static_cast<const char *>(word) - origin) / 8];
    };
    // Counters: what every row and the shared row gained in the old mapping after the copy,
    // whoever recorded it (a row leased, released or taken back since alike), goes to the
    // new shared row; the copy's values stay where they are.
    for (uint32_t c = 0; c < catalog::kCounterCells; ++c) {
        int64_t gained = 0;
        for (uint32_t i = 0; i <= l.row_count; ++i) {
            const std::atomic<int64_t> &cell =
                i < l.row_count ? from.row(i)[c] : from.shared_row()[c];
            gained += int64_t(uint64_t(cell.load(std::memory_order_relaxed)) - copied(&cell));
        }
        if (gained) to.shared_row()[c].fetch_add(gained, std::memory_order_relaxed);
    }
    // Student tallies: per entry of the old table, what its words gained since the copy (the
    // whole count if the entry or its school year is newer than the copy). Tally words are 32
    // bits, two to a copied word.
    auto copied32 = [&](const std::atomic<uint32_t> &word) {
        const auto offset = uint64_t(reinterpret_cast<const char *>(&word) - origin);
        return uint32_t(copy[offset / 8] >> (offset % 8 * 8));
    };
    for (uint32_t i = 0; i < l.student_slots; ++i) {
        const StudentEntry &e = from.students()[i];
        const uint64_t key = e.key.load(std::memory_order_acquire);
        if (!tables::live_key(key)) continue;
        const bool same_entry = copied(&e.key) == key;
        StudentEntry *into = nullptr;
        for (uint32_t p = 0; p < 2; ++p) {
            const uint32_t lw = e.level[p].load(std::memory_order_relaxed);
            if (lw == 0) continue;
            const uint32_t year = lw >> 16;
            for (uint32_t t = 0; t < catalog::kTallySlots; ++t) {
                const uint32_t now = e.tally[p][t].load(std::memory_order_relaxed);
                if (!tally_is_year(now, year)) continue;
                const uint32_t then = same_entry ? copied32(e.tally[p][t]) : 0;
                const int64_t gained =
                    int64_t(tally_count(now)) - (tally_is_year(then, year) ? tally_count(then) : 0);
                if (!gained) continue;
                if (!into && !(into = tables::find_or_insert(to.students(), l.student_slots, key)))
                    break;
                uint32_t level = into->level[p].load(std::memory_order_relaxed);
                while ((level >> 16) < year && !into->level[p].compare_exchange_weak(
                                                   level, lw, std::memory_order_relaxed)) {
                }
                tables::add_tally(into->tally[p][t], year, gained);
            }
        }
    }
    merge_marks(from, to);
}

}  // namespace sonde::shm
