#include "journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "files.hpp"
#include "log.hpp"
#include "snapshot/envelope.hpp"

namespace sonde::console {
namespace fs = std::filesystem;
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool full_pwrite(int fd, const uint8_t *p, size_t n, uint64_t at) {
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, p, n, off_t(at));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w;
        n -= size_t(w);
        at += uint64_t(w);
    }
    return true;
}

bool full_pread(int fd, uint8_t *p, size_t n, uint64_t at) {
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n, off_t(at));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r;
        n -= size_t(r);
        at += uint64_t(r);
    }
    return true;
}

bool segment_number(const std::string &name, uint64_t &out) {
    if (name.size() != 20 + 8 || !name.ends_with(".journal")) return false;
    const auto [p, ec] = std::from_chars(name.data(), name.data() + 20, out);
    return ec == std::errc() && p == name.data() + 20 && out > 0;
}

bool fail(std::string *error, const std::string &what, int e, int *errno_out = nullptr) {
    if (error) *error = what + ": " + std::strerror(e);
    if (errno_out) *errno_out = e;
    return false;
}

}  // namespace

uint32_t crc32c(uint32_t crc, const uint8_t *data, size_t size) {
    crc = ~crc;
    for (size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

Journal::Segment::~Segment() {
    if (fd >= 0) ::close(fd);
}

Journal::Journal(std::string dir, uint64_t segment_bytes, uint64_t max_record)
    : dir_(std::move(dir)), segment_bytes_(segment_bytes), max_record_(max_record) {}

Journal::~Journal() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Journal::path_of(uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.journal", static_cast<unsigned long long>(number));
    return dir_ + "/" + name;
}

bool Journal::open(std::vector<JournalRecord> &out, std::string *error) {
    if (!make_dirs(dir_, error)) return false;
    const std::string lock_path = dir_ + "/LOCK";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return fail(error, "cannot open " + lock_path, errno);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        ::close(lock_fd_);
        lock_fd_ = -1;
        if (e == EWOULDBLOCK) {
            if (error) *error = dir_ + " in use by another process";
            return false;
        }
        return fail(error, "cannot lock " + lock_path, e);
    }
    std::vector<uint64_t> numbers;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(dir_, ec)) {
        uint64_t n = 0;
        if (segment_number(f.path().filename().string(), n)) numbers.push_back(n);
    }
    if (ec) return fail(error, "cannot list " + dir_, ec.value());
    std::sort(numbers.begin(), numbers.end());
    std::lock_guard lock(mutex_);
    for (const uint64_t number : numbers) {
        const std::string path = path_of(number);
        auto seg = std::make_shared<Segment>();
        seg->number = number;
        seg->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (seg->fd < 0) return fail(error, "cannot open " + path, errno);
        struct stat st {};
        if (::fstat(seg->fd, &st) != 0) return fail(error, "cannot stat " + path, errno);
        const uint64_t size = uint64_t(st.st_size);
        uint64_t at = 0;
        std::vector<uint8_t> payload;
        std::string bad;
        while (at < size) {
            uint8_t h[kHeader];
            if (size - at < kHeader || !full_pread(seg->fd, h, kHeader, at)) {
                bad = "a truncated header";
                break;
            }
            const uint32_t length = get32(h + 4);
            JournalRecord r;
            r.base.assign(reinterpret_cast<const char *>(h + 24), 8);
            r.sequence = get64(h + 8);
            r.received_unix = int64_t(get64(h + 16));
            r.segment = number;
            r.offset = at + kHeader;
            r.length = length;
            r.crc = get32(h + 32);
            if (get32(h) != kMagic || length == 0 || length > max_record_ ||
                !snapshot::valid_base_id(r.base) || r.sequence == 0 || get32(h + 36) != 0) {
                bad = "a bad header";
                break;
            }
            if (size - r.offset < length) {
                bad = "a truncated record";
                break;
            }
            payload.resize(length);
            if (!full_pread(seg->fd, payload.data(), length, r.offset)) {
                bad = "an unreadable record";
                break;
            }
            if (crc32c(crc32c(0, h, 32), payload.data(), length) != r.crc) {
                bad = "a bad checksum";
                break;
            }
            at = r.offset + length;
            ++seg->records;
            if (index_.emplace(Key{r.base, r.sequence}, r).second) {
                out.push_back(r);
            } else {
                ++seg->applied;  // held twice: the first is the one applied
            }
        }
        if (at < size) {
            // Never acknowledged: a record is answered only once a sync covered it, and a
            // segment is sealed synced. So this is a crash during an append (or the disk's
            // damage to a sealed segment, which is logged as an error).
            const bool last = number == numbers.back();
            log(last ? Level::Warn : Level::Error,
                "journal: " + path + ": " + bad + " at byte " + std::to_string(at) + ", " +
                    std::to_string(size - at) + " bytes cut off" +
                    (last ? " (an append a crash interrupted, never acknowledged)" : ""));
            if (::ftruncate(seg->fd, off_t(at)) != 0 || ::fsync(seg->fd) != 0)
                return fail(error, "cannot truncate " + path, errno);
        } else if (::fdatasync(seg->fd) != 0) {
            // What a killed process wrote is in the page cache, maybe not on the disk: it is
            // made durable before a duplicate upload of it is answered.
            return fail(error, "cannot fdatasync " + path, errno);
        }
        seg->end = at;
        seg->sealed = true;  // appends go to a new segment
        bytes_ += at;
        segments_[number] = seg;
        next_number_ = number + 1;
    }
    return true;
}

bool Journal::start_segment(std::string *error) {
    const uint64_t number = next_number_;
    const std::string path = path_of(number);
    auto seg = std::make_shared<Segment>();
    seg->number = number;
    seg->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (seg->fd < 0) return fail(error, "cannot create " + path, errno);
    // The new file's directory entry is durable before any record in it is acknowledged.
    if (!sync_dir(dir_, error)) {
        ::unlink(path.c_str());
        return false;
    }
    ++next_number_;
    segments_[number] = seg;
    current_ = seg;
    return true;
}

bool Journal::seal_current(std::string *error) {
    if (!current_) return true;
    ++syncs_;
    if (::fdatasync(current_->fd) != 0) {
        failed_ = true;
        failure_ = "cannot fdatasync " + path_of(current_->number) + ": " + std::strerror(errno);
        if (error) *error = failure_;
        synced_cv_.notify_all();
        return false;
    }
    synced_ = std::max(synced_, current_->last_ticket);
    current_->sealed = true;
    current_.reset();
    synced_cv_.notify_all();
    return true;
}

Journal::Put Journal::append(const std::string &base, uint64_t sequence, int64_t received_unix,
                             std::span<const uint8_t> bytes, const std::function<bool()> &elsewhere,
                             std::string *error, int *errno_out) {
    Put put;
    if (bytes.empty() || bytes.size() > max_record_ || !snapshot::valid_base_id(base)) {
        fail(error, "journal: record refused", EINVAL, errno_out);
        return put;
    }
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(Key{base, sequence}); it != index_.end()) {
        put.kind = Put::Journaled;
        put.record = it->second;
        put.ticket = appended_;  // a sync covering everything appended so far covers it
        return put;
    }
    if (elsewhere()) {
        put.kind = Put::Elsewhere;
        return put;
    }
    if (failed_) {
        fail(error, "journal: " + failure_, EIO, errno_out);
        return put;
    }
    if (current_ && current_->end > 0 && current_->end + kHeader + bytes.size() > segment_bytes_ &&
        !seal_current(error)) {
        if (errno_out) *errno_out = EIO;
        return put;
    }
    if (!current_ && !start_segment(error)) {
        if (errno_out) *errno_out = errno ? errno : EIO;
        return put;
    }
    Segment &seg = *current_;
    uint8_t h[kHeader] = {};
    put32(h, kMagic);
    put32(h + 4, uint32_t(bytes.size()));
    put64(h + 8, sequence);
    put64(h + 16, uint64_t(received_unix));
    std::memcpy(h + 24, base.data(), 8);
    const uint32_t crc = crc32c(crc32c(0, h, 32), bytes.data(), bytes.size());
    put32(h + 32, crc);
    // One write of header and payload: a crash leaves a prefix of the record, which open()
    // cuts off. A failed write leaves the same, overwritten by the next append.
    std::vector<uint8_t> rec;
    rec.reserve(kHeader + bytes.size());
    rec.insert(rec.end(), h, h + kHeader);
    rec.insert(rec.end(), bytes.begin(), bytes.end());
    if (!full_pwrite(seg.fd, rec.data(), rec.size(), seg.end)) {
        fail(error, "cannot write " + path_of(seg.number), errno, errno_out);
        return put;
    }
    JournalRecord r{
        base, sequence, received_unix, seg.number, seg.end + kHeader, uint32_t(bytes.size()), crc};
    seg.end += rec.size();
    bytes_ += rec.size();
    ++seg.records;
    seg.last_ticket = ++appended_;
    seg.last_append = steady_seconds();
    index_.emplace(Key{base, sequence}, r);
    put.kind = Put::Appended;
    put.record = std::move(r);
    put.ticket = appended_;
    return put;
}

bool Journal::sync(uint64_t ticket, std::string *error) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (synced_ >= ticket) return true;
        if (failed_) {
            if (error) *error = failure_;
            return false;
        }
        if (syncing_) {
            synced_cv_.wait(lock);
            continue;
        }
        // Tickets up to `covers` are in the current segment or in sealed ones (synced when
        // sealed).
        const uint64_t covers = appended_;
        const std::shared_ptr<Segment> seg = current_;
        if (!seg) {
            synced_ = std::max(synced_, covers);
            continue;
        }
        syncing_ = true;
        lock.unlock();
        const bool ok = ::fdatasync(seg->fd) == 0;
        const int e = errno;
        lock.lock();
        syncing_ = false;
        ++syncs_;
        if (ok) {
            synced_ = std::max(synced_, covers);
        } else {
            failed_ = true;
            failure_ = "cannot fdatasync " + path_of(seg->number) + ": " + std::strerror(e);
            log(Level::Error, "journal: " + failure_ + "; every upload is refused until restart");
        }
        synced_cv_.notify_all();
    }
}

bool Journal::read(const JournalRecord &r, std::vector<uint8_t> &out, std::string *error) const {
    std::shared_ptr<Segment> seg;
    {
        std::lock_guard lock(mutex_);
        const auto it = segments_.find(r.segment);
        if (it != segments_.end()) seg = it->second;
    }
    if (!seg) {
        if (error) *error = "journal: no segment " + std::to_string(r.segment);
        return false;
    }
    uint8_t h[kHeader];
    out.resize(r.length);
    if (r.offset < kHeader || !full_pread(seg->fd, h, kHeader, r.offset - kHeader) ||
        !full_pread(seg->fd, out.data(), r.length, r.offset))
        return fail(error, "cannot read " + path_of(r.segment), errno ? errno : EIO);
    if (get32(h) != kMagic || get32(h + 4) != r.length ||
        crc32c(crc32c(0, h, 32), out.data(), out.size()) != r.crc) {
        if (error)
            *error = path_of(r.segment) + ": record at byte " + std::to_string(r.offset - kHeader) +
                     " fails its checksum";
        return false;
    }
    return true;
}

void Journal::applied(const JournalRecord &r) {
    std::lock_guard lock(mutex_);
    const auto it = segments_.find(r.segment);
    if (it != segments_.end() && it->second->applied < it->second->records) ++it->second->applied;
}

int Journal::retire(int64_t idle_seconds, const std::function<bool(std::string *)> &make_durable,
                    std::string *error) {
    std::vector<std::shared_ptr<Segment>> done;
    {
        std::lock_guard lock(mutex_);
        if (idle_seconds >= 0 && current_ && current_->records > 0 &&
            current_->applied == current_->records &&
            steady_seconds() - current_->last_append >= idle_seconds && !seal_current(error))
            return -1;
        for (const auto &[number, seg] : segments_)
            if (seg->sealed && seg->applied == seg->records) done.push_back(seg);
    }
    if (done.empty()) return 0;
    if (!make_durable(error)) return -1;
    for (const auto &seg : done)
        if (::unlink(path_of(seg->number).c_str()) != 0 && errno != ENOENT) {
            fail(error, "cannot remove " + path_of(seg->number), errno);
            return -1;
        }
    if (!sync_dir(dir_, error)) return -1;
    std::lock_guard lock(mutex_);
    for (const auto &seg : done) {
        for (auto it = index_.begin(); it != index_.end();)
            it = it->second.segment == seg->number ? index_.erase(it) : std::next(it);
        bytes_ -= std::min(bytes_, seg->end);
        segments_.erase(seg->number);
        ++retired_;
    }
    return int(done.size());
}

Journal::Stats Journal::stats() const {
    std::lock_guard lock(mutex_);
    Stats s;
    s.segments = segments_.size();
    s.bytes = bytes_;
    s.records = index_.size();
    s.appended = appended_;
    s.syncs = syncs_;
    s.retired = retired_;
    s.failed = failed_;
    return s;
}

}  // namespace sonde::console
