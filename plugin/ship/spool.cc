#include "ship/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>
#include <string_view>

#include "platform/read_file.hpp"

namespace sonde::ship {

Spool::Spool(std::string dir, std::string base_id)
    : dir_(std::move(dir)), base_id_(std::move(base_id)) {}

std::string Spool::file_name(const SpoolEntry &m) const {
    char name[128];
    std::snprintf(name, sizeof name, "%s-%020" PRIu64 "-%" PRId64 "-%" PRId64 ".sonde",
                  base_id_.c_str(), m.sequence, m.first_hour, m.created);
    return name;
}

bool Spool::write_durably(const std::string &path, const void *data, size_t size,
                          std::string *error) const {
    const std::string tmp = path + ".tmp";
    auto fail = [&](const char *what) {
        if (error) *error = std::string(what) + " " + tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    };
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot create");
    const char *p = static_cast<const char *>(data);
    for (size_t done = 0; done < size;) {
        const ssize_t n = ::write(fd, p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            return fail("cannot write");
        }
        done += size_t(n);
    }
    if (::fsync(fd) != 0) {
        ::close(fd);
        return fail("cannot fsync");
    }
    ::close(fd);
    if (before_rename) before_rename();
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename");
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {  // the rename itself must survive a power cut
        if (dfd >= 0) ::close(dfd);
        if (error) *error = "cannot fsync " + dir_ + ": " + std::strerror(errno);
        return false;
    }
    ::close(dfd);
    return true;
}

bool Spool::load_state(SpoolState &out, std::string *error) const {
    const std::string path = dir_ + "/" + base_id_ + ".state";
    // Never blocks (a FIFO put there) and never follows a link.
    std::string text;
    const platform::ReadResult r = platform::read_file(path, 4096, text);
    if (r.error == platform::ReadError::Missing) {
        out = {};
        return true;
    }
    if (r.error == platform::ReadError::Open || r.error == platform::ReadError::Read) {
        out = {};
        if (error) *error = path + ": " + std::strerror(r.err);
        return false;
    }
    if (!r) {
        if (error) *error = path + ": not a regular file of at most 4096 bytes";
        return false;
    }
    SpoolState s;
    char key[32];
    long long value;
    unsigned long long uvalue;
    bool ok = true;
    const char *at = text.c_str();
    int used = 0;
    // Whitespace-separated "name value" pairs; %n: how far each scan went.
    auto next = [&](const char *format, auto *field) {
        used = 0;
        const bool got = std::sscanf(at, format, field, &used) == 1;
        at += used;
        return got;
    };
    while (ok && next("%31s%n", key)) {
        if (!std::strcmp(key, "sequence"))
            ok = next("%llu%n", &uvalue), s.sequence = uvalue;
        else if (!std::strcmp(key, "next_hour_start"))
            ok = next("%lld%n", &value), s.next_hour_start = value;
        else if (!std::strcmp(key, "generation"))
            ok = next("%llu%n", &uvalue), s.generation = uvalue;
        else
            ok = false;
    }
    if (!ok) {
        if (error) *error = path + ": malformed";
        return false;
    }
    out = s;
    return true;
}

bool Spool::save_state(const SpoolState &s, std::string *error) const {
    std::ostringstream text;
    text << "sequence " << s.sequence << "\nnext_hour_start " << s.next_hour_start
         << "\ngeneration " << s.generation << "\n";
    const std::string body = text.str();
    return write_durably(dir_ + "/" + base_id_ + ".state", body.data(), body.size(), error);
}

bool Spool::update_state(const std::function<void(SpoolState &)> &change, SpoolState &out,
                         std::string *error) const {
    const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (error) *error = "cannot open " + dir_ + ": " + std::strerror(errno);
        return false;
    }
    bool locked = false;
    for (int attempt = 0; attempt < 50 && !locked; ++attempt) {
        locked = ::flock(dfd, LOCK_EX | LOCK_NB) == 0;
        if (!locked) ::usleep(1000);
    }
    if (!locked) {
        ::close(dfd);
        if (error) *error = "spool " + dir_ + " busy: its state is locked by another process";
        return false;
    }
    SpoolState state;
    bool ok = load_state(state, error);
    if (ok) {
        change(state);
        ok = save_state(state, error);
    }
    ::close(dfd);  // drops the flock
    if (ok) out = state;
    return ok;
}

void Spool::save_status(const std::string &text) const {
    const std::string path = status_path(), tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return;
    const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

uint64_t Spool::load_fingerprint() const {
    // Never blocks (a FIFO put there) and never follows a link: anything odd reads as unknown.
    const std::string path = dir_ + "/" + base_id_ + ".last";
    std::string text;
    unsigned long long value = 0;
    if (!platform::read_file(path, 63, text) ||
        std::sscanf(text.c_str(), "fingerprint %llx", &value) != 1)
        return 0;
    return value;
}

void Spool::save_fingerprint(uint64_t fingerprint) const {
    const std::string path = dir_ + "/" + base_id_ + ".last", tmp = path + ".tmp";
    // 0600 like the snapshots: the fingerprint is a hash of a plaintext.
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    FILE *f = ::fdopen(fd, "w");
    if (!f) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return;
    }
    const bool ok = std::fprintf(f, "fingerprint %016" PRIx64 "\n", fingerprint) > 0;
    if (std::fclose(f) == 0 && ok && ::rename(tmp.c_str(), path.c_str()) == 0) return;
    ::unlink(tmp.c_str());
}

std::vector<SpoolEntry> Spool::pending() const {
    std::vector<SpoolEntry> out;
    DIR *d = ::opendir(dir_.c_str());
    if (!d) return out;
    const std::string prefix = base_id_ + "-";
    while (dirent *e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0 || name.size() < 6 ||
            name.compare(name.size() - 6, 6, ".sonde") != 0)
            continue;
        SpoolEntry entry;
        unsigned long long seq;
        long long first, created;
        if (std::sscanf(name.c_str() + prefix.size(), "%llu-%lld-%lld.sonde", &seq, &first,
                        &created) != 3)
            continue;
        entry.sequence = seq;
        entry.first_hour = first;
        entry.created = created;
        entry.path = dir_ + "/" + name;
        out.push_back(entry);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(),
              [](const SpoolEntry &a, const SpoolEntry &b) { return a.sequence < b.sequence; });
    return out;
}

std::string Spool::receipt_path(const std::string &sonde_path) {
    static constexpr std::string_view kSonde = ".sonde";
    const bool named =
        sonde_path.size() >= kSonde.size() &&
        sonde_path.compare(sonde_path.size() - kSonde.size(), kSonde.size(), kSonde) == 0;
    return (named ? sonde_path.substr(0, sonde_path.size() - kSonde.size()) : sonde_path) +
           ".receipt";
}

bool Spool::write(const SpoolEntry &meta, const std::vector<uint8_t> &file, const Receipt &receipt,
                  std::string *error) const {
    const std::string path = dir_ + "/" + file_name(meta);
    // 64 lowercase hex digits and a line feed, durable before the .sonde is renamed into place.
    static constexpr char kDigits[] = "0123456789abcdef";
    char text[2 * sizeof(Receipt) + 1];
    for (size_t i = 0; i < receipt.size(); ++i) {
        text[2 * i] = kDigits[receipt[i] >> 4];
        text[2 * i + 1] = kDigits[receipt[i] & 15];
    }
    text[sizeof text - 1] = '\n';
    if (!write_durably(receipt_path(path), text, sizeof text, error)) return false;
    if (write_durably(path, file.data(), file.size(), error)) return true;
    // Not renamed into place (a rename that happened but whose directory fsync failed keeps
    // its receipt): the receipt would be a leftover.
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) ::unlink(receipt_path(path).c_str());
    return false;
}

bool Spool::remove(const SpoolEntry &entry) const {
    const bool removed = ::unlink(entry.path.c_str()) == 0;
    if (removed || errno == ENOENT) ::unlink(receipt_path(entry.path).c_str());
    return removed;
}

bool Spool::read_receipt(const SpoolEntry &entry, Receipt &out) const {
    std::string text;  // 64 hex digits and a line feed, nothing else
    if (!platform::read_file(receipt_path(entry.path), 2 * sizeof(Receipt) + 1, text) ||
        text.size() != 2 * sizeof(Receipt) + 1 || text[2 * sizeof(Receipt)] != '\n')
        return false;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = uint8_t(hi << 4 | lo);
    }
    return true;
}

int Spool::remove_temporaries(int64_t min_age_seconds) const {
    int removed = 0;
    DIR *d = ::opendir(dir_.c_str());
    if (!d) return 0;
    const std::string prefix = base_id_ + "-";
    const auto ends_with = [](const std::string &name, std::string_view suffix) {
        return name.size() > suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    std::vector<std::string> receipts;
    while (dirent *e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0) continue;
        if (ends_with(name, ".tmp"))
            removed += ::unlink((dir_ + "/" + name).c_str()) == 0;
        else if (ends_with(name, ".receipt"))
            receipts.push_back(name);
    }
    ::closedir(d);
    // A receipt whose .sonde is gone: a crash between the two renames of write(), or the
    // uplink removed the file and not yet its receipt. Only old ones: a shipper that believes
    // it is elected while another does (docs/snapshot.md, a replaced lock file) may be between
    // its two renames right now.
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    for (const std::string &name : receipts) {
        const std::string path = dir_ + "/" + name;
        const std::string sonde = path.substr(0, path.size() - 8) + ".sonde";
        struct stat st {};
        if (::lstat(sonde.c_str(), &st) == 0 || errno != ENOENT) continue;
        if (::lstat(path.c_str(), &st) != 0 || int64_t(now.tv_sec) - st.st_mtime < min_age_seconds)
            continue;
        removed += ::unlink(path.c_str()) == 0;
    }
    return removed;
}

}  // namespace sonde::ship
