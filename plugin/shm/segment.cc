#include "shm/segment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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

namespace sonde::shm {

namespace {

// Registered file mappings, for the SIGBUS guard: read in a signal handler, so plain atomics.
struct GuardedRange {
    std::atomic<uintptr_t> start{0}, end{0};
    std::atomic<int> fd{-1};
    std::atomic<uint32_t> faulted{0};
};
constexpr uint32_t kGuardedRanges = 1024;
GuardedRange g_ranges[kGuardedRanges];

void guard_range(void *base, uint64_t size, int fd) noexcept {
    for (GuardedRange &r : g_ranges) {
        uintptr_t expected = 0;
        if (r.start.load(std::memory_order_relaxed) == 0 &&
            r.start.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
            r.end.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_relaxed);
            r.fd.store(fd, std::memory_order_relaxed);
            r.faulted.store(0, std::memory_order_relaxed);
            r.start.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
            return;
        }
    }
}

void unguard_range(void *base) noexcept {
    for (GuardedRange &r : g_ranges)
        if (r.start.load(std::memory_order_acquire) == reinterpret_cast<uintptr_t>(base)) {
            r.fd.store(-1, std::memory_order_relaxed);
            r.start.store(0, std::memory_order_release);
            return;
        }
}

struct sigaction g_previous_sigbus;

void on_sigbus(int sig, siginfo_t *info, void *context) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr);
    for (GuardedRange &r : g_ranges) {
        const uintptr_t start = r.start.load(std::memory_order_acquire);
        if (start <= 1 || at < start || at >= r.end.load(std::memory_order_relaxed)) continue;
        const int fd = r.fd.load(std::memory_order_relaxed);
        if (fd >= 0 && ::ftruncate(fd, off_t(r.end.load(std::memory_order_relaxed) - start)) == 0) {
            r.faulted.store(1, std::memory_order_relaxed);
            return;  // the faulting access runs again, on a page of the file
        }
        break;
    }
    // Not ours: whatever was there before.
    if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
        if (g_previous_sigbus.sa_sigaction)
            return g_previous_sigbus.sa_sigaction(sig, info, context);
    } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
        return g_previous_sigbus.sa_handler(sig);
    }
    ::signal(SIGBUS, SIG_DFL);  // the access faults again and the process dies as it would have
}

}  // namespace

void install_sigbus_guard() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
    });
}

bool take_sigbus_flag(const Mapping &m) noexcept {
    if (!m.valid()) return false;
    const uintptr_t base = reinterpret_cast<uintptr_t>(&m.header());
    for (GuardedRange &r : g_ranges)
        if (r.start.load(std::memory_order_acquire) == base)
            return r.faulted.exchange(0, std::memory_order_relaxed) != 0;
    return false;
}

struct MappingFactory {
    // `base` holds a validated header: its geometry is copied into process memory now.
    static Mapping make(void *base, uint64_t size, int fd, std::string path,
                        bool anonymous = false) {
        Mapping m;
        m.base_ = base;
        m.size_ = size;
        m.fd_ = fd;
        m.anonymous_ = anonymous;
        m.path_ = std::move(path);
        const Header &h = *static_cast<const Header *>(base);
        if (!anonymous) guard_range(base, size, fd);
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
        fd_ = o.fd_;
        anonymous_ = o.anonymous_;
        path_ = std::move(o.path_);
        layout_ = o.layout_;
        o.base_ = nullptr;
        o.fd_ = -1;
    }
    return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() noexcept {
    if (base_ && !anonymous_) unguard_range(base_);
    if (base_) ::munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
}

void Mapping::abandon() noexcept {
    base_ = nullptr;
    fd_ = -1;
}

void Mapping::leak() noexcept {
    if (base_ && !anonymous_) unguard_range(base_);
    base_ = nullptr;
    fd_ = -1;
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
    if (::getrandom(&v, sizeof v, 0) != sizeof v) {
        timespec ts{};
        ::clock_gettime(CLOCK_REALTIME, &ts);
        v = uint64_t(ts.tv_nsec) * 0x9E3779B97F4A7C15ULL ^ uint64_t(::getpid());
    }
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
    h->creator_pid = int32_t(::getpid());
    h->header_size = sizeof(Header);
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    h->creator_start_unix_ns = int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
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

// Renames a bad segment aside so nobody writes to it again and an operator can inspect it.
// Only if the path still names the file we examined: another process may have done it first.
bool set_aside(const std::string &path, int fd) {
    struct stat mine {
    }, now{};
    if (::fstat(fd, &mine) != 0 || ::lstat(path.c_str(), &now) != 0) return false;
    if (mine.st_ino != now.st_ino || mine.st_dev != now.st_dev) return false;
    std::string aside =
        path + ".bad." + std::to_string(::time(nullptr)) + "." + std::to_string(::getpid());
    return ::rename(path.c_str(), aside.c_str()) == 0;
}

// The same for something we could not even open (a file of another user, a socket...).
bool set_aside_path(const std::string &path) {
    std::string aside =
        path + ".bad." + std::to_string(::time(nullptr)) + "." + std::to_string(::getpid());
    return ::rename(path.c_str(), aside.c_str()) == 0;
}

std::string dir_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

void fsync_dir(const std::string &dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// Opens without following a symlink and without blocking on a FIFO or a device.
int open_nofollow(const std::string &path, int mode) {
    return ::open(path.c_str(), mode | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
}

// Allocates the whole file now (never sparse): a full disk then fails here, at creation,
// instead of a SIGBUS in the host on first touch of a page.
int allocate(int fd, uint64_t size) {
    int rc = ::posix_fallocate(fd, 0, off_t(size));
    if (rc == EOPNOTSUPP || rc == EINVAL) rc = ::ftruncate(fd, off_t(size)) == 0 ? 0 : errno;
    return rc;
}

// A shared flock, retried while another process holds it exclusively for the microseconds of
// its fold (attach_locked): an attached process without it could have its leases folded.
void lock_shared(int fd) {
    for (int i = 0; i < 2000 && ::flock(fd, LOCK_SH | LOCK_NB) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// A temp file next to `path`, sized, mapped; `fill` writes its contents; then published with
// link(). Nobody can ever see a half-initialised segment, and a creator that dies leaves only
// its temp file. lost_race: the path exists already.
template <typename Fill>
OpenResult make_and_publish(const std::string &path, uint64_t size, Fill fill, bool &lost_race) {
    OpenResult r;
    lost_race = false;
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".init.%d.%016llx", int(::getpid()),
                  static_cast<unsigned long long>(random_u64()));
    std::string tmp = path + suffix;
    int fd = open_nofollow(tmp, O_RDWR | O_CREAT | O_EXCL);
    if (fd < 0) {
        r.error = errno_text("cannot create", tmp);
        return r;
    }
    ::fchmod(fd, 0600);  // whatever the umask
    if (int rc = allocate(fd, size); rc != 0) {
        errno = rc;
        r.error = errno_text("cannot allocate", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return r;
    }
    void *base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        r.error = errno_text("cannot map", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return r;
    }
    fill(base);
    ::msync(base, size, MS_SYNC);  // durable before anyone can find it
    int rc = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
        ::munmap(base, size);
        ::close(fd);
        if (err == EEXIST) {
            lost_race = true;
        } else {
            errno = err;
            r.error = errno_text("cannot publish", path);
        }
        return r;
    }
    fsync_dir(dir_of(path));
    lock_shared(fd);  // marks the segment as attached
    r.mapping = MappingFactory::make(base, size, fd, path);
    r.created = true;
    return r;
}

OpenResult create_and_publish(const std::string &path, const std::string &base_id, uint32_t product,
                              const Capacities &caps, bool &lost_race) {
    const Geometry g = geometry_for(caps);
    return make_and_publish(
        path, g.size, [&](void *base) { initialise(base, g, caps, base_id, product); }, lost_race);
}

// Attaching to a valid segment: shared flock, which the kernel drops when the process dies.
// When this process gets it exclusively first, nobody else has the segment open (in this
// boot: locks do not survive one), so every lease left is a dead process's: they are folded
// here, exactly like the watcher folds the rows of a process that crashed. The boot id then
// tells a reboot (counted) from a restart of every process within one boot.
void attach_locked(Mapping &m, OpenResult &r) {
    Header &h = m.header();
    const int fd = m.fd();
    bool alone = false;
    for (int i = 0; i < 200; ++i) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            alone = true;
            break;
        }
        if (::flock(fd, LOCK_SH | LOCK_NB) == 0) return;  // others are attached
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
    lock_shared(fd);  // converted: from now on others may attach
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
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT || !create) return errno_text("cannot use", dir);
        // Parents as usual (0755), the directory itself private (0700).
        for (size_t at = 1; (at = dir.find('/', at)) != std::string::npos; ++at)
            ::mkdir(dir.substr(0, at).c_str(), 0755);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return errno_text("cannot create", dir);
        if (::lstat(dir.c_str(), &st) != 0) return errno_text("cannot use", dir);
    }
    if (!S_ISDIR(st.st_mode)) return "refusing " + dir + ": not a directory (or a symlink)";
    const bool sticky = (st.st_mode & S_ISVTX) != 0;
    if (sticky) return {};  // /dev/shm, /tmp: squatted names are refused file by file
    if (st.st_uid != ::geteuid())
        return "refusing " + dir + ": owned by uid " + std::to_string(st.st_uid) +
               ", not by this process's user (" + std::to_string(::geteuid()) + ")";
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return "refusing " + dir + ": writable by other users (chmod go-w, or 0700)";
    return {};
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
    struct stat dir_st {};
    const bool sticky_dir = ::stat(shm_dir.c_str(), &dir_st) == 0 && (dir_st.st_mode & S_ISVTX);
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = open_nofollow(path, O_RDWR);
        if (fd < 0 && errno == ENOENT) {
            bool lost_race = false;
            OpenResult c = create_and_publish(path, base_id, product, caps, lost_race);
            c.replaced = r.replaced;
            if (lost_race) continue;
            return c;
        }
        struct stat st {};
        const bool regular_and_mine = fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                                      st.st_uid == ::geteuid() && st.st_nlink > 0;
        if (!regular_and_mine) {
            // A symlink, a FIFO, a directory, another user's file: never used. In our own
            // directory it is set aside like a corrupt segment and a fresh one is created; in
            // a sticky directory (/dev/shm) we may not move it: refused, and retried later.
            const int err = errno;
            if (fd >= 0) ::close(fd);
            if (!sticky_dir && set_aside_path(path)) {
                ++r.replaced;
                continue;
            }
            r.refused = true;
            r.error = fd < 0 && err != ELOOP && err != EACCES && err != ENXIO
                          ? (errno = err, errno_text("cannot open", path))
                          : "refusing " + path +
                                ": not a regular file owned by this user (and it cannot be "
                                "set aside)";
            return r;
        }
        std::string why;
        void *base = MAP_FAILED;
        if (uint64_t(st.st_size) < sizeof(Header)) {
            why = "file smaller than a header";
        } else {
            base = ::mmap(nullptr, size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (base == MAP_FAILED) {
                r.error = errno_text("cannot map", path);
                ::close(fd);
                return r;
            }
            why = validate(*static_cast<Header *>(base), uint64_t(st.st_size));
            if (why.empty() &&
                std::strncmp(static_cast<Header *>(base)->base_id, base_id.c_str(), 16) != 0)
                why = "segment belongs to another base";
        }
        if (why.empty()) {
            r.mapping = MappingFactory::make(base, uint64_t(st.st_size), fd, path);
            attach_locked(r.mapping, r);
            return r;
        }
        // Never write to it: set it aside and start a fresh one.
        if (base != MAP_FAILED) ::munmap(base, size_t(st.st_size));
        if (set_aside(path, fd)) ++r.replaced;
        ::close(fd);
        r.error = path + ": " + why;
    }
    if (r.error.empty()) r.error = "could not open " + path + " after several attempts";
    return r;
}

OpenResult attach_segment(const std::string &path, Access access) {
    OpenResult r;
    const bool rw = access == Access::ReadWrite;
    int fd = open_nofollow(path, rw ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        r.error = errno_text("cannot open", path);
        return r;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) < sizeof(Header) ||
        uint64_t(st.st_size) > (uint64_t{1} << 32)) {
        r.error = path + ": not a segment (not a regular file, or of an impossible size)";
        ::close(fd);
        return r;
    }
    const size_t size = size_t(st.st_size);
    void *base = MAP_FAILED;
    if (access == Access::Copy) {
        // Private memory, filled with pread: a later truncation or rewrite of the file cannot
        // reach what this reader uses.
        base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base != MAP_FAILED) {
            size_t got = 0;
            while (got < size) {
                const ssize_t n =
                    ::pread(fd, static_cast<char *>(base) + got, size - got, off_t(got));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                got += size_t(n);
            }
            if (got < size) {
                ::munmap(base, size);
                r.error = path + ": shrank while being read";
                ::close(fd);
                return r;
            }
        }
        ::close(fd);
        fd = -1;
    } else {
        base = ::mmap(nullptr, size, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    }
    if (base == MAP_FAILED) {
        r.error = errno_text("cannot map", path);
        if (fd >= 0) ::close(fd);
        return r;
    }
    std::string why = validate(*static_cast<Header *>(base), uint64_t(size));
    if (!why.empty()) {
        r.error = path + ": " + why;
        ::munmap(base, size);
        if (fd >= 0) ::close(fd);
        return r;
    }
    r.mapping = MappingFactory::make(base, uint64_t(size), fd, path, access == Access::Copy);
    return r;
}

bool flush(const Mapping &m, int64_t now_unix) noexcept {
    if (!m.valid()) return false;
    Header &h = m.header();
    h.flushed_unix.store(now_unix, std::memory_order_relaxed);
    h.flush_count.fetch_add(1, std::memory_order_relaxed);
    return ::msync(&h, size_t(m.size()), MS_SYNC) == 0;
}

FileState check_file(const Mapping &m) noexcept {
    if (!m.valid() || m.fd() < 0) return FileState::Ok;
    struct stat mine {};
    if (::fstat(m.fd(), &mine) != 0) return FileState::Ok;
    if (uint64_t(mine.st_size) < m.size()) return FileState::Truncated;
    if (mine.st_nlink == 0) return FileState::Deleted;
    struct stat now {};
    if (::lstat(m.path().c_str(), &now) != 0) return FileState::Deleted;  // renamed away
    if (now.st_ino != mine.st_ino || now.st_dev != mine.st_dev) return FileState::Replaced;
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
                lock_shared(existing.mapping.fd());
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
