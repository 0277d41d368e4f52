#include "shm/segment.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

namespace sonde::shm {

struct MappingFactory {
    static Mapping make(void *base, uint64_t size, int fd, std::string path) {
        Mapping m;
        m.base_ = base;
        m.size_ = size;
        m.fd_ = fd;
        m.path_ = std::move(path);
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
        path_ = std::move(o.path_);
        o.base_ = nullptr;
        o.fd_ = -1;
    }
    return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() noexcept {
    if (base_) ::munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
}

void Mapping::leak() noexcept {
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
    // ftruncate gave us zeroed pages: every counter, lease and table slot starts at 0.
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
    h->header_checksum = header_checksum(*h);
    h->ready.store(1, std::memory_order_release);
}

// Renames a bad segment aside so nobody writes to it again and an operator can inspect it.
// Only if the path still names the file we examined: another process may have done it first.
bool set_aside(const std::string &path, int fd) {
    struct stat mine {
    }, now{};
    if (::fstat(fd, &mine) != 0 || ::stat(path.c_str(), &now) != 0) return false;
    if (mine.st_ino != now.st_ino || mine.st_dev != now.st_dev) return false;
    std::string aside =
        path + ".bad." + std::to_string(::time(nullptr)) + "." + std::to_string(::getpid());
    return ::rename(path.c_str(), aside.c_str()) == 0;
}

OpenResult create_and_publish(const std::string &path, const std::string &base_id, uint32_t product,
                              const Capacities &caps, bool &lost_race) {
    OpenResult r;
    lost_race = false;
    const Geometry g = geometry_for(caps);
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".init.%d.%016llx", int(::getpid()),
                  static_cast<unsigned long long>(random_u64()));
    std::string tmp = path + suffix;
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r.error = errno_text("cannot create", tmp);
        return r;
    }
    ::fchmod(fd, 0600);  // whatever the umask
    if (::ftruncate(fd, off_t(g.size)) != 0) {
        r.error = errno_text("cannot size", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return r;
    }
    void *base = ::mmap(nullptr, g.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        r.error = errno_text("cannot map", tmp);
        ::close(fd);
        ::unlink(tmp.c_str());
        return r;
    }
    initialise(base, g, caps, base_id, product);
    // Publishing is a link(): atomic, and it fails if another process published first. Nobody
    // can ever see a half-initialised segment, and a creator that dies leaves only its temp file.
    int rc = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
        ::munmap(base, g.size);
        ::close(fd);
        if (err == EEXIST) {
            lost_race = true;
        } else {
            errno = err;
            r.error = errno_text("cannot publish", path);
        }
        return r;
    }
    ::flock(fd, LOCK_SH | LOCK_NB);  // marks the segment as attached, for the operator tool
    r.mapping = MappingFactory::make(base, g.size, fd, path);
    r.created = true;
    return r;
}

}  // namespace

uint32_t header_checksum(const Header &h) noexcept {
    uint32_t c = fnv1a(2166136261u, &h, offsetof(Header, ready));
    const auto *p = reinterpret_cast<const char *>(&h) + offsetof(Header, base_id);
    return fnv1a(c, p, sizeof(Header) - offsetof(Header, base_id));
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
    const Geometry g = geometry(h.row_count, h.user_capacity, h.student_capacity);
    if (h.header_size != sizeof(Header) || h.level_slots != catalog::kLevelSlots ||
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
    if (!valid_capacities({h.user_stated_capacity, h.student_stated_capacity}))
        return "stated table capacities out of range (corrupt)";
    if (h.user_capacity != table_slots(h.user_stated_capacity) ||
        h.student_capacity != table_slots(h.student_stated_capacity))
        return "table slots do not match the stated capacities (corrupt)";
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
    for (int attempt = 0; attempt < 8; ++attempt) {
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ENOENT) {
            bool lost_race = false;
            OpenResult c = create_and_publish(path, base_id, product, caps, lost_race);
            c.replaced = r.replaced;
            if (lost_race) continue;
            return c;
        }
        if (fd < 0) {
            r.error = errno_text("cannot open", path);
            return r;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
            r.error = "refusing " + path + ": not a regular file owned by this user";
            ::close(fd);
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
            ::flock(fd, LOCK_SH | LOCK_NB);
            r.mapping = MappingFactory::make(base, uint64_t(st.st_size), fd, path);
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
    int fd = ::open(path.c_str(), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r.error = errno_text("cannot open", path);
        return r;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) < sizeof(Header)) {
        r.error = path + ": not a segment (too small or not a regular file)";
        ::close(fd);
        return r;
    }
    void *base = ::mmap(nullptr, size_t(st.st_size), rw ? PROT_READ | PROT_WRITE : PROT_READ,
                        MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        r.error = errno_text("cannot map", path);
        ::close(fd);
        return r;
    }
    std::string why = validate(*static_cast<Header *>(base), uint64_t(st.st_size));
    if (!why.empty()) {
        r.error = path + ": " + why;
        ::munmap(base, size_t(st.st_size));
        ::close(fd);
        return r;
    }
    r.mapping = MappingFactory::make(base, uint64_t(st.st_size), fd, path);
    return r;
}

}  // namespace sonde::shm
