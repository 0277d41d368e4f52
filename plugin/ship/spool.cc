#include "ship/spool.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>
#include <string_view>

#include "platform/files.hpp"
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
        if (error) *error = std::string(what) + " " + tmp + ": " + platform::error_text(errno);
        platform::remove_file(tmp);
        return false;
    };
    platform::File file =
        platform::File::open(tmp, platform::kWrite | platform::kCreate | platform::kTruncate, 0600);
    if (!file) return fail("cannot create");
    if (!file.write_all(data, size)) {
        const int err = errno;
        file.close();
        errno = err;
        return fail("cannot write");
    }
    if (!file.sync()) {
        const int err = errno;
        file.close();
        errno = err;
        return fail("cannot fsync");
    }
    file.close();
    if (before_rename) before_rename();
    if (!platform::rename_replace(tmp, path)) return fail("cannot rename");
    if (!platform::sync_directory(dir_)) {  // the rename itself must survive a power cut
        if (error) *error = "cannot fsync " + dir_ + ": " + platform::error_text(errno);
        return false;
    }
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
    platform::DirectoryLock lock;
    if (!lock.acquire(dir_, 50)) {
        if (error)
            *error = errno == EWOULDBLOCK
                         ? "spool " + dir_ + " busy: its state is locked by another process"
                         : "cannot open " + dir_ + ": " + platform::error_text(errno);
        return false;
    }
    SpoolState state;
    bool ok = load_state(state, error);
    if (ok) {
        change(state);
        ok = save_state(state, error);
    }
    lock = {};  // drops the lock
    if (ok) out = state;
    return ok;
}

void Spool::save_status(const std::string &text) const {
    const std::string path = status_path(), tmp = path + ".tmp";
    platform::File file = platform::File::open(
        tmp, platform::kWrite | platform::kCreate | platform::kTruncate | platform::kNoFollow,
        0600);
    if (!file) return;
    const bool ok = file.write_all(text.data(), text.size());
    file.close();
    if (!ok || !platform::rename_replace(tmp, path)) platform::remove_file(tmp);
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
    platform::File file =
        platform::File::open(tmp, platform::kWrite | platform::kCreate | platform::kTruncate, 0600);
    if (!file) return;
    char text[64];
    const int n = std::snprintf(text, sizeof text, "fingerprint %016" PRIx64 "\n", fingerprint);
    const bool ok = n > 0 && file.write_all(text, size_t(n));
    if (file.close() && ok && platform::rename_replace(tmp, path)) return;
    platform::remove_file(tmp);
}

std::vector<SpoolEntry> Spool::pending() const {
    std::vector<SpoolEntry> out;
    std::vector<std::string> names;
    if (!platform::list_directory(dir_, names)) return out;
    const std::string prefix = base_id_ + "-";
    for (const std::string &name : names) {
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
    platform::FileInfo st;
    if (!platform::path_info(path, st) && errno == ENOENT)
        platform::remove_file(receipt_path(path));
    return false;
}

bool Spool::remove(const SpoolEntry &entry) const {
    const bool removed = platform::remove_file(entry.path);
    if (removed || errno == ENOENT) platform::remove_file(receipt_path(entry.path));
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
    std::vector<std::string> names;
    if (!platform::list_directory(dir_, names)) return 0;
    const std::string prefix = base_id_ + "-";
    const auto ends_with = [](const std::string &name, std::string_view suffix) {
        return name.size() > suffix.size() &&
               name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    std::vector<std::string> receipts;
    for (const std::string &name : names) {
        if (name.rfind(prefix, 0) != 0) continue;
        if (ends_with(name, ".tmp"))
            removed += platform::remove_file(dir_ + "/" + name);
        else if (ends_with(name, ".receipt"))
            receipts.push_back(name);
    }
    // A receipt whose .sonde is gone: a crash between the two renames of write(), or the
    // uplink removed the file and not yet its receipt. Only old ones: a shipper that believes
    // it is elected while another does (docs/snapshot.md, a replaced lock file) may be between
    // its two renames right now.
    const int64_t now = platform::unix_now();
    for (const std::string &name : receipts) {
        const std::string path = dir_ + "/" + name;
        const std::string sonde = path.substr(0, path.size() - 8) + ".sonde";
        platform::FileInfo st;
        if (platform::path_info(sonde, st) || errno != ENOENT) continue;
        if (!platform::path_info(path, st) || now - st.modified_unix < min_age_seconds) continue;
        removed += platform::remove_file(path);
    }
    return removed;
}

}  // namespace sonde::ship
