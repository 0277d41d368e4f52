#include "inbox.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "files.hpp"
#include "snapshot/envelope.hpp"

namespace sonde::console {
namespace fs = std::filesystem;

namespace {

bool parse_sequence(std::string_view text, uint64_t &out) {
    if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size();
}

int64_t mtime(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? int64_t(st.st_mtim.tv_sec) : 0;
}

bool same_bytes(const std::string &path, std::span<const uint8_t> file) {
    std::vector<uint8_t> held;
    return read_file(path, held, file.size()) &&
           std::equal(held.begin(), held.end(), file.begin(), file.end());
}

}  // namespace

Inbox::Inbox(std::string data_dir, uint64_t segment_bytes, uint64_t max_record)
    : dir_(std::move(data_dir)), journal_(dir_ + "/journal", segment_bytes, max_record) {}

Inbox::~Inbox() = default;

std::string Inbox::inbox_path(const std::string &base, uint64_t sequence) const {
    return dir_ + "/inbox/" + base + "/" + std::to_string(sequence) + ".sonde";
}

std::string Inbox::pending_path(const std::string &base, uint64_t sequence) const {
    return dir_ + "/pending/" + base + "." + std::to_string(sequence) + ".sonde";
}

bool Inbox::init(std::string *error, bool journal) {
    for (const char *sub : {"/inbox", "/pending", "/tmp", "/keys"})
        if (!make_dirs(dir_ + sub, error)) return false;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(dir_ + "/tmp", ec)) fs::remove(f.path(), ec);
    std::set<std::string> relinked;
    for (const FileRef &ref : pending()) {
        const std::string final_path = inbox_path(ref.base, ref.sequence);
        if (::access(final_path.c_str(), F_OK) == 0) continue;
        const std::string base_dir = dir_ + "/inbox/" + ref.base;
        if (!make_dirs(base_dir, error)) return false;
        if (::link(pending_path(ref.base, ref.sequence).c_str(), final_path.c_str()) != 0 &&
            errno != EEXIST) {
            if (error) *error = "cannot link " + final_path + ": " + std::strerror(errno);
            return false;
        }
        relinked.insert(base_dir);
    }
    for (const std::string &d : relinked)
        if (!sync_dir(d, error)) return false;
    if (!journal) return true;
    std::vector<JournalRecord> records;
    if (!journal_.open(records, error)) return false;
    journaled_.clear();
    for (const JournalRecord &r : records)
        journaled_.push_back(
            {r.base, r.sequence, r.received_unix, r.segment, r.offset, r.length, r.crc});
    return true;
}

bool Inbox::settle(const std::vector<FileRef> &refs, std::string *error) const {
    std::set<std::string> bases;
    for (const FileRef &ref : refs) bases.insert(ref.base);
    for (const std::string &b : bases)
        if (!sync_dir(dir_ + "/inbox/" + b, error)) return false;
    return true;
}

Inbox::Put Inbox::put(const std::string &base, uint64_t sequence, std::span<const uint8_t> file,
                      std::string *error, int *errno_out, FileRef *stored) {
    if (!journal_.is_open()) {
        if (error) *error = "the journal is not open";
        if (errno_out) *errno_out = EIO;
        return Put::Failed;
    }
    const std::string final_path = inbox_path(base, sequence);
    // Under the journal's lock, so that two uploads of one file cannot both append it, and a
    // record cannot leave the journal (retired: its archive durable) between the two checks.
    const auto archived = [&] { return ::access(final_path.c_str(), F_OK) == 0; };
    const Journal::Put p = journal_.append(base, sequence, int64_t(std::time(nullptr)), file,
                                           archived, error, errno_out);
    const auto durable = [&](uint64_t ticket) {
        if (journal_.sync(ticket, error)) return true;
        if (errno_out) *errno_out = EIO;
        return false;
    };
    switch (p.kind) {
        case Journal::Put::Appended:
            if (!durable(p.ticket)) return Put::Failed;
            if (stored)
                *stored = {base,
                           sequence,
                           p.record.received_unix,
                           p.record.segment,
                           p.record.offset,
                           p.record.length,
                           p.record.crc};
            return Put::Stored;
        case Journal::Put::Journaled: {
            std::vector<uint8_t> held;
            if (!journal_.read(p.record, held, error)) {
                if (errno_out) *errno_out = EIO;
                return Put::Failed;
            }
            if (!std::equal(held.begin(), held.end(), file.begin(), file.end()))
                return Put::Conflict;
            // Held, but perhaps not durable yet (a concurrent upload of the same file).
            return durable(p.ticket) ? Put::Duplicate : Put::Failed;
        }
        case Journal::Put::Elsewhere:
            return same_bytes(final_path, file) ? Put::Duplicate : Put::Conflict;
        case Journal::Put::Failed:
            break;
    }
    return Put::Failed;
}

bool Inbox::read(const FileRef &ref, std::vector<uint8_t> &out, uint64_t limit,
                 std::string *error) const {
    if (ref.segment != 0)
        return journal_.read({ref.base, ref.sequence, ref.received_unix, ref.segment, ref.offset,
                              ref.length, ref.crc},
                             out, error);
    for (const std::string &path :
         {pending_path(ref.base, ref.sequence), inbox_path(ref.base, ref.sequence)})
        if (read_file(path, out, limit)) return true;
    if (error) *error = "cannot read " + inbox_path(ref.base, ref.sequence);
    return false;
}

bool Inbox::archive(const FileRef &ref, std::span<const uint8_t> file, std::string *error) const {
    if (ref.segment == 0) return true;
    const std::string final_path = inbox_path(ref.base, ref.sequence);
    if (same_bytes(final_path, file)) return true;  // archived before a crash
    const std::string base_dir = dir_ + "/inbox/" + ref.base;
    // No fsync: retire() syncs the whole file system before the journal record goes.
    if (::mkdir(base_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        if (error) *error = "cannot create " + base_dir + ": " + std::strerror(errno);
        return false;
    }
    const std::string tmp =
        dir_ + "/tmp/" + ref.base + "." + std::to_string(ref.sequence) + ".archive";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < file.size();) {
        const ssize_t n = ::write(fd, file.data() + done, file.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += size_t(n);
    }
    // The archive's time is the reception's (snapshots.received_unix, reingest).
    const struct timespec times[2] = {{ref.received_unix, 0}, {ref.received_unix, 0}};
    ok = ok && ::futimens(fd, times) == 0;
    const int e = errno;
    if (fd >= 0) ::close(fd);
    ok = ok && ::rename(tmp.c_str(), final_path.c_str()) == 0;
    if (!ok) {
        if (error) *error = "cannot write " + final_path + ": " + std::strerror(e ? e : errno);
        ::unlink(tmp.c_str());
    }
    return ok;
}

bool Inbox::done(const std::vector<FileRef> &refs, std::string *error) {
    std::vector<FileRef> legacy;
    for (const FileRef &ref : refs) {
        if (ref.segment != 0)
            journal_.applied(
                {ref.base, ref.sequence, 0, ref.segment, ref.offset, ref.length, ref.crc});
        else
            legacy.push_back(ref);
    }
    if (legacy.empty()) return true;
    // The inbox links must be durable before the pending links, which held the files, go.
    if (!settle(legacy, error)) return false;
    for (const FileRef &ref : legacy) applied(ref);
    return true;
}

int Inbox::retire(int64_t idle_seconds, std::string *error) {
    if (!journal_.is_open()) return 0;
    return journal_.retire(
        idle_seconds,
        [this](std::string *why) {
            // The archive files, their directories and the store's files (SQLite's WAL) of
            // the records about to leave the journal: on disk before the journal forgets them.
            const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0 || ::syncfs(fd) != 0) {
                if (why) *why = "cannot syncfs " + dir_ + ": " + std::strerror(errno);
                if (fd >= 0) ::close(fd);
                return false;
            }
            ::close(fd);
            return true;
        },
        error);
}

std::vector<FileRef> Inbox::pending() const {
    std::vector<FileRef> out;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(dir_ + "/pending", ec)) {
        const std::string name = f.path().filename().string();
        if (name.size() < 8 + 1 + 1 + 6 || name[8] != '.' || !name.ends_with(".sonde")) continue;
        FileRef ref{name.substr(0, 8), 0, 0};
        if (!snapshot::valid_base_id(ref.base) ||
            !parse_sequence(std::string_view(name).substr(9, name.size() - 9 - 6), ref.sequence))
            continue;
        ref.received_unix = mtime(f.path().string());
        out.push_back(ref);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<FileRef> Inbox::all() const {
    std::vector<FileRef> out;
    std::error_code ec;
    for (const auto &b : fs::directory_iterator(dir_ + "/inbox", ec)) {
        const std::string base = b.path().filename().string();
        if (!snapshot::valid_base_id(base)) continue;
        std::error_code ec2;
        for (const auto &f : fs::directory_iterator(b.path(), ec2)) {
            const std::string name = f.path().filename().string();
            FileRef ref{base, 0, 0};
            if (!name.ends_with(".sonde") ||
                !parse_sequence(std::string_view(name).substr(0, name.size() - 6), ref.sequence))
                continue;
            ref.received_unix = mtime(f.path().string());
            out.push_back(ref);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void Inbox::applied(const FileRef &ref) const {
    ::unlink(pending_path(ref.base, ref.sequence).c_str());
}

uint64_t Inbox::free_bytes() const {
    struct statvfs st {};
    if (::statvfs(dir_.c_str(), &st) != 0) return 0;
    return uint64_t(st.f_bavail) * st.f_frsize;
}

}  // namespace sonde::console
