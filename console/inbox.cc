#include "inbox.hpp"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
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

Inbox::Inbox(std::string data_dir)
    : dir_(std::move(data_dir)),
      pending_sync_(std::make_unique<SharedDirSync>(dir_ + "/pending")) {}

Inbox::~Inbox() = default;

std::string Inbox::inbox_path(const std::string &base, uint64_t sequence) const {
    return dir_ + "/inbox/" + base + "/" + std::to_string(sequence) + ".sonde";
}

std::string Inbox::pending_path(const std::string &base, uint64_t sequence) const {
    return dir_ + "/pending/" + base + "." + std::to_string(sequence) + ".sonde";
}

bool Inbox::init(std::string *error) {
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
                      std::string *error, int *errno_out) {
    static std::atomic<uint64_t> counter{0};
    const std::string final_path = inbox_path(base, sequence);
    const std::string pending = pending_path(base, sequence);
    auto held = [&]() {
        if (!same_bytes(final_path, file)) return Put::Conflict;
        // Relinked in case a crash came between the two links of the first upload; applying a
        // file again is harmless.
        if (::link(final_path.c_str(), pending.c_str()) == 0) pending_sync_->sync(nullptr);
        return Put::Duplicate;
    };
    if (::access(final_path.c_str(), F_OK) == 0) return held();

    const std::string tmp = dir_ + "/tmp/" + base + "." + std::to_string(sequence) + "." +
                            std::to_string(::getpid()) + "." + std::to_string(++counter);
    if (!write_new_file(tmp, file, error, errno_out)) return Put::Failed;
    auto failed = [&](const std::string &what) {
        const int e = errno;
        if (errno_out) *errno_out = e;
        if (error) *error = what + ": " + std::strerror(e);
        ::unlink(tmp.c_str());
        return Put::Failed;
    };
    const std::string base_dir = dir_ + "/inbox/" + base;
    if (!make_dirs(base_dir, error)) return failed("cannot create " + base_dir);
    if (::link(tmp.c_str(), final_path.c_str()) != 0) {
        if (errno != EEXIST) return failed("cannot link " + final_path);
        ::unlink(tmp.c_str());
        return held();  // a concurrent upload of the same (base, sequence) won
    }
    if (::link(tmp.c_str(), pending.c_str()) != 0 && errno != EEXIST)
        return failed("cannot link " + pending);
    ::unlink(tmp.c_str());
    // The pending link is what the answer promises; the inbox link is settled by the ingestor.
    if (!pending_sync_->sync(error)) {
        if (errno_out) *errno_out = EIO;
        return Put::Failed;
    }
    return Put::Stored;
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
