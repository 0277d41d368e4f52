#include "uplink.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/config.hpp"
#include "pacing.hpp"
#include "platform/files.hpp"
#include "platform/process.hpp"
#include "platform/read_file.hpp"

namespace sonde::uplink {
namespace {

using Json = nlohmann::ordered_json;

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string(s);
}

std::string errno_text(const std::string &what, const std::string &path) {
    return what + " " + path + ": " + platform::error_text(errno);
}

// Reads at most `cap` bytes of a regular file, without following a link or blocking on a
// FIFO. ENOENT is reported through *missing.
bool read_small_file(const std::string &path, size_t cap, std::string &out, bool *missing,
                     std::string *error) {
    const platform::ReadResult r = platform::read_file(path, cap, out);
    if (missing) *missing = r.error == platform::ReadError::Missing;
    std::string why;
    switch (r.error) {
        case platform::ReadError::None:
            if (r.stat_size == out.size()) return true;
            why = path + ": changed while being read";
            break;
        case platform::ReadError::Missing:
        case platform::ReadError::Open:
            why = "cannot open " + path + ": " + std::strerror(r.err);
            break;
        case platform::ReadError::Read:
            why = "cannot read " + path + ": " + std::strerror(r.err);
            break;
        default:
            why = path + ": not a regular file of at most " + std::to_string(cap) + " bytes";
    }
    if (error) *error = why;
    return false;
}

bool write_atomically(const std::string &path, const std::string &text, std::string *error) {
    const std::string tmp = path + ".tmp";
    platform::File file = platform::File::open(
        tmp, platform::kWrite | platform::kCreate | platform::kTruncate | platform::kNoFollow,
        0640);
    if (!file) {
        if (error) *error = errno_text("cannot create", tmp);
        return false;
    }
    bool ok = file.write_all(text.data(), text.size());
    ok = file.close() && ok;
    if (!ok || !platform::rename_replace(tmp, path)) {
        if (error) *error = errno_text("cannot write", path);
        platform::remove_file(tmp);
        return false;
    }
    return true;
}

}  // namespace

bool absolute_path(const std::string &path) {
    if (!path.empty() && path.front() == '/') return true;
#ifdef _WIN32
    if (path.size() >= 3 && std::isalpha(static_cast<unsigned char>(path[0])) && path[1] == ':' &&
        (path[2] == '/' || path[2] == '\\'))
        return true;
    if (path.starts_with("\\\\")) return true;  // \\server\share
#endif
    return false;
}

namespace {

std::string stem_of(const std::string &name) { return name.substr(0, name.size() - 6); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::optional<snapshot::Receipt> parse_hex_receipt(std::string_view hex) {
    if (hex.size() != 2 * snapshot::kReceiptSize) return std::nullopt;
    snapshot::Receipt r{};
    for (size_t i = 0; i < r.size(); ++i) {
        const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        r[i] = uint8_t(hi << 4 | lo);
    }
    return r;
}

}  // namespace

// ---------------------------------------------------------------- configuration

bool parse_config(const std::string &text, Config &out, std::string *error) {
    Config c;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    auto fail = [&](const std::string &why) {
        if (error) *error = "line " + std::to_string(number) + ": " + why;
        return false;
    };
    while (std::getline(in, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        const size_t eq = t.find('=');
        if (eq == std::string::npos) return fail("expected name = value");
        const std::string name = trim(std::string_view(t).substr(0, eq));
        const std::string value = trim(std::string_view(t).substr(eq + 1));
        for (char ch : value)
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
                return fail("control character in the value of " + name);
        auto number_of = [&](uint64_t min, uint64_t max) -> std::optional<uint64_t> {
            const std::optional<uint64_t> v = parse_decimal(value);
            if (!v || *v < min || *v > max) return std::nullopt;
            return v;
        };
        if (name == "url") {
            c.transport.url = value;
        } else if (name == "pin") {
            c.transport.pin = value;
        } else if (name == "ca_file") {
            c.transport.ca_file = value;
        } else if (name == "proxy") {
            c.transport.proxy = value;
        } else if (name == "spool_dir") {
            if (!absolute_path(value)) return fail("spool_dir must be an absolute path");
            c.spool_dirs.push_back(value);
        } else if (name == "config_dir") {
            if (!absolute_path(value)) return fail("config_dir must be an absolute path");
            c.config_dirs.push_back(value);
        } else if (name == "metrics_file") {
            c.metrics_file = value;
        } else if (name == "interval_minutes") {
            const auto v = number_of(1, 1440);
            if (!v) return fail("interval_minutes takes 1 to 1440");
            c.interval_ms = int64_t(*v) * 60'000;
        } else if (name == "connect_timeout") {
            const auto v = number_of(1, 300);
            if (!v) return fail("connect_timeout takes 1 to 300 (seconds)");
            c.transport.connect_timeout_ms = int64_t(*v) * 1000;
        } else if (name == "transfer_timeout") {
            const auto v = number_of(1, 3600);
            if (!v) return fail("transfer_timeout takes 1 to 3600 (seconds)");
            c.transport.transfer_timeout_ms = int64_t(*v) * 1000;
        } else if (name == "max_file_bytes") {
            const auto v = number_of(4096, 64u << 20);
            if (!v) return fail("max_file_bytes takes 4096 to 67108864");
            c.max_file_bytes = size_t(*v);
        } else {
            return fail("unknown name '" + name + "'");
        }
    }
    if (c.transport.url.empty()) return fail("url is required");
    if (c.transport.pin.empty() && c.transport.ca_file.empty())
        return fail("pin or ca_file is required (the console must be authenticated)");
    if (c.spool_dirs.empty() && c.config_dirs.empty())
        return fail("spool_dir or config_dir is required");
    out = std::move(c);
    return true;
}

bool load_config(const std::string &path, Config &out, std::string *error) {
    std::string text;
    if (!read_small_file(path, 64 * 1024, text, nullptr, error)) return false;
    std::string why;
    if (!parse_config(text, out, &why)) {
        if (error) *error = path + ": " + why;
        return false;
    }
    return true;
}

std::vector<std::string> spool_dirs_of(const Config &config, std::vector<std::string> *problems) {
    std::set<std::string> dirs(config.spool_dirs.begin(), config.spool_dirs.end());
    for (const std::string &cdir : config.config_dirs) {
        std::vector<std::string> names;
        if (!platform::list_directory(cdir, names)) {
            if (problems) problems->push_back(errno_text("cannot read", cdir));
            continue;
        }
        std::vector<std::string> bases;
        for (const std::string &name : names) {
            if (name.size() == 13 && name.ends_with(".conf") &&
                valid_base_id(name.substr(0, 8).c_str()))
                bases.push_back(name.substr(0, 8));
        }
        for (const std::string &base : bases) {
            BaseConfig bc;
            std::string why;
            const ConfigLoad load = sonde::load_config(config_path(cdir, base), bc, &why);
            if (load == ConfigLoad::Malformed && problems) problems->push_back(why);
            if (load == ConfigLoad::Ok && !bc.snapshots.spool_dir.empty())
                dirs.insert(bc.snapshots.spool_dir);
        }
    }
    return {dirs.begin(), dirs.end()};
}

// ---------------------------------------------------------------- spool files

std::optional<SpoolFile> parse_spool_name(const std::string &name) {
    // <UAI 8>-<sequence 20 digits>-<first_hour>-<created>.sonde
    if (name.size() < 8 + 1 + 20 + 1 + 1 + 1 + 1 + 6 || !name.ends_with(".sonde"))
        return std::nullopt;
    SpoolFile f;
    f.name = name;
    f.uai = name.substr(0, 8);
    if (!valid_base_id(f.uai.c_str()) || name[8] != '-' || name[29] != '-') return std::nullopt;
    const std::optional<uint64_t> seq = parse_decimal(std::string_view(name).substr(9, 20));
    if (!seq || *seq == 0) return std::nullopt;
    f.sequence = *seq;
    const std::string rest = name.substr(30, name.size() - 30 - 6);
    const size_t dash = rest.find('-', 1);
    if (dash == std::string::npos) return std::nullopt;
    auto signed_of = [](std::string_view s) -> std::optional<int64_t> {
        const bool neg = !s.empty() && s[0] == '-';
        if (neg) s.remove_prefix(1);
        const std::optional<uint64_t> v = s.size() <= 18 ? parse_decimal(s) : std::nullopt;
        if (!v) return std::nullopt;
        return neg ? -int64_t(*v) : int64_t(*v);
    };
    const auto first = signed_of(std::string_view(rest).substr(0, dash));
    const auto created = signed_of(std::string_view(rest).substr(dash + 1));
    if (!first || !created) return std::nullopt;
    f.first_hour = *first;
    f.created = *created;
    return f;
}

// A receipt whose .sonde is gone: this process (or another uplink) was killed between the two
// unlinks of a delivered file, or the shipper between its two renames. The shipper sweeps them
// too, but a disabled base has no shipper. Only old ones: a shipper may be writing the .sonde
// of a fresh receipt right now (the same rule as Spool::remove_temporaries).
static void remove_orphan_receipts(const std::string &dir,
                                   const std::vector<std::string> &receipts) {
    const int64_t now = platform::unix_now();
    for (const std::string &name : receipts) {
        const std::string sonde = name.substr(0, name.size() - 8) + ".sonde";
        if (!parse_spool_name(sonde)) continue;  // not one of ours
        platform::FileInfo st;
        if (platform::path_info(dir + "/" + sonde, st) || errno != ENOENT) continue;
        if (!platform::path_info(dir + "/" + name, st) || st.kind != platform::FileKind::Regular ||
            now - st.modified_unix < kOrphanReceiptAgeSeconds)
            continue;
        platform::remove_file(dir + "/" + name);
    }
}

std::vector<SpoolFile> scan_spool(const std::string &dir, std::string *error) {
    std::vector<SpoolFile> files;
    std::vector<std::string> names;
    if (!platform::list_directory(dir, names)) {
        if (error) *error = errno_text("cannot read", dir);
        return files;
    }
    std::vector<std::string> receipts;
    for (const std::string &name : names) {
        std::optional<SpoolFile> f = parse_spool_name(name);
        if (!f) {
            if (name.ends_with(".receipt")) receipts.push_back(name);
            continue;
        }
        platform::FileInfo st;
        if (!platform::path_info(dir + "/" + name, st) || st.kind != platform::FileKind::Regular)
            continue;  // merged away meanwhile, or not a file
        f->dir = dir;
        f->size = st.size;
        files.push_back(std::move(*f));
    }
    remove_orphan_receipts(dir, receipts);
    std::sort(files.begin(), files.end(), [](const SpoolFile &a, const SpoolFile &b) {
        return a.uai != b.uai ? a.uai < b.uai : a.sequence < b.sequence;
    });
    return files;
}

Backlog backlog_of(const std::vector<SpoolFile> &files, const std::string &uai) {
    Backlog b;
    for (const SpoolFile &f : files) {
        if (f.uai != uai) continue;
        ++b.files;
        b.bytes += f.size;
        if (b.oldest_created == 0 || f.created < b.oldest_created) b.oldest_created = f.created;
    }
    return b;
}

// ---------------------------------------------------------------- answers

const char *outcome_name(Outcome o) noexcept {
    switch (o) {
        case Outcome::Stored:
            return "stored";
        case Outcome::Duplicate:
            return "duplicate";
        case Outcome::Unverified:
            return "unverified";
        case Outcome::Rejected:
            return "rejected";
        case Outcome::Forged:
            return "forged";
        case Outcome::Retry:
            return "retry";
        case Outcome::NetworkError:
            return "network_error";
        case Outcome::Vanished:
            return "vanished";
        case Outcome::LocalError:
            return "local_error";
        case Outcome::Count_:
            break;
    }
    return "?";
}

std::optional<snapshot::Receipt> parse_receipt(std::string_view text) noexcept {
    if (text.size() != 2 * snapshot::kReceiptSize + 1 || text.back() != '\n') return std::nullopt;
    return parse_hex_receipt(text.substr(0, text.size() - 1));
}

bool receipts_equal(const snapshot::Receipt &a, const snapshot::Receipt &b) noexcept {
    volatile uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff = diff | uint8_t(a[i] ^ b[i]);
    return diff == 0;
}

Verdict classify(const Answer &answer) {
    Verdict v;
    if (!answer.transport_ok) {
        v.kind = Verdict::Failed;
        v.reason = answer.transport_error;
        return v;
    }
    const long code = answer.http_status;
    Json body;
    try {
        body = Json::parse(answer.body);
    } catch (const std::exception &) {
        body = nullptr;
    }
    const std::string status =
        body.is_object() && body.contains("status") && body["status"].is_string()
            ? body["status"].get<std::string>()
            : std::string();
    const std::string what =
        "HTTP " + std::to_string(code) +
        (status.empty() ? std::string(" (not a console answer)") : " " + status);
    if (code == 429 || code == 503) {
        v.kind = Verdict::Retry;
        v.retry_after_s = answer.retry_after_s;
        v.reason = what;
        return v;
    }
    if (code == 200 && (status == "stored" || status == "duplicate")) {
        v.duplicate = status == "duplicate";
        if (body.contains("receipt") && body["receipt"].is_string())
            v.receipt = parse_hex_receipt(body["receipt"].get<std::string>());
        v.kind = v.receipt ? Verdict::Delivered : Verdict::Forged;
        v.reason = v.receipt ? what : what + " without a valid receipt";
        return v;
    }
    if ((code == 422 || code == 413 || code == 400 || code == 404 || code == 405 || code == 411 ||
         code == 415) &&
        status == "rejected") {
        v.kind = Verdict::Rejected;
        v.reason = body.contains("reason") && body["reason"].is_string()
                       ? body["reason"].get<std::string>()
                       : what;
        if (v.reason.size() > 512) v.reason.resize(512);
        for (char &c : v.reason)
            if (static_cast<unsigned char>(c) < 0x20) c = ' ';
        v.reason = "HTTP " + std::to_string(code) + ": " + v.reason;
        return v;
    }
    // A proxy's page, a 200 of another service, a 5xx: not the protocol, so not a decision.
    v.kind = code == 200 ? Verdict::Forged : Verdict::Failed;
    v.reason = what;
    return v;
}

// ---------------------------------------------------------------- engine

namespace {

std::string key_of(const std::string &dir, const std::string &uai) { return dir + "/" + uai; }

// Moves NAME.sonde (then its sidecar) to dir/sub/, with NAME.reason. False with *vanished
// when the file was merged away first.
bool set_aside(const SpoolFile &f, const char *sub, const std::string &reason, bool *vanished,
               std::string *error) {
    *vanished = false;
    const std::string target = f.dir + "/" + sub;
    if (!platform::make_directory(target, 0700) && errno != EEXIST) {
        *error = errno_text("cannot create", target);
        return false;
    }
    platform::FileInfo st;
    if (!platform::path_info(target, st) || st.kind != platform::FileKind::Directory) {
        *error = target + " is not a directory";
        return false;
    }
    const std::string from = f.dir + "/" + f.name;
    if (!platform::rename_replace(from, target + "/" + f.name)) {
        if (errno == ENOENT) {
            *vanished = true;
            return false;
        }
        *error = errno_text("cannot move", from);
        return false;
    }
    const std::string stem = stem_of(f.name);
    platform::rename_replace(f.dir + "/" + stem + ".receipt", target + "/" + stem + ".receipt");
    std::string why;
    write_atomically(target + "/" + stem + ".reason", reason + "\n", &why);
    return true;
}

// Newest first when it has not left yet (the console is fresh at once), then oldest first.
const SpoolFile *pick(const BaseStatus &b, const std::vector<const SpoolFile *> &files) {
    if (files.empty()) return nullptr;
    if (files.back()->sequence > b.newest_sent) return files.back();
    return files.front();
}

}  // namespace

Engine::Engine(Config config, Transport &transport, Random random, Log log)
    : config_(std::move(config)),
      transport_(transport),
      random_(std::move(random)),
      log_(std::move(log)) {}

void Engine::scan(int64_t now_ms) {
    std::vector<std::string> problems;
    const std::vector<std::string> dirs = spool_dirs_of(config_, &problems);
    for (const std::string &p : problems) log_("configuration: " + p);
    files_.clear();
    for (const std::string &dir : dirs) {
        std::string error;
        std::vector<SpoolFile> files = scan_spool(dir, &error);
        if (!error.empty()) log_(error);
        for (SpoolFile &f : files) {
            const std::string key = key_of(dir, f.uai);
            if (!bases_.count(key)) {
                BaseStatus b;
                b.spool_dir = dir;
                b.uai = f.uai;
                b.next_attempt_ms =
                    once_ ? now_ms
                          : next_slot_ms(now_ms, base_offset_ms(f.uai, config_.interval_ms),
                                         config_.interval_ms);
                bases_.emplace(key, std::move(b));
            }
            files_[key].push_back(std::move(f));
        }
    }
    for (auto &[key, b] : bases_) {
        auto it = files_.find(key);
        b.backlog = it == files_.end() ? Backlog{} : backlog_of(it->second, b.uai);
    }
}

void Engine::console_failed(int64_t now_ms, std::optional<int64_t> retry_after_s) {
    ++console_failures_;
    console_next_ms_ = now_ms + retry_delay_ms(console_failures_, random_(), retry_after_s);
}

namespace {

struct Attempt {
    Outcome outcome = Outcome::LocalError;
    std::string text;
    std::optional<int64_t> retry_after_s;
};

Attempt attempt(const SpoolFile &f, size_t max_bytes, Transport &transport) {
    Attempt a;
    const std::string path = f.dir + "/" + f.name;
    std::string content, error;
    bool missing = false;
    // The sidecar first: it exists before the .sonde appears.
    std::string receipt_text;
    bool receipt_missing = false;
    std::optional<snapshot::Receipt> kept;
    if (read_small_file(f.dir + "/" + stem_of(f.name) + ".receipt", 256, receipt_text,
                        &receipt_missing, &error)) {
        kept = parse_receipt(receipt_text);
        if (!kept) a.text = "malformed receipt sidecar (treated as none); ";
    }
    if (!read_small_file(path, max_bytes, content, &missing, &error)) {
        if (missing) {
            a.outcome = Outcome::Vanished;
            a.text = "merged away by the shipper before upload";
            return a;
        }
        a.outcome = Outcome::LocalError;
        a.text = error;
        return a;
    }
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t *>(content.data()),
                                         content.size());
    snapshot::Header header;
    std::string why;
    const snapshot::OpenError perr = snapshot::parse_header(bytes, header, &why);
    std::string local_reject;
    if (perr != snapshot::OpenError::None)
        local_reject = std::string("local: ") + snapshot::open_error_name(perr) + ": " + why;
    else if (header.base() != f.uai || header.sequence != f.sequence)
        local_reject = "local: the file's header names " + header.base() + "/" +
                       std::to_string(header.sequence) + ", not its file name";
    if (!local_reject.empty()) {
        bool vanished = false;
        if (set_aside(f, "rejected", local_reject, &vanished, &error)) {
            a.outcome = Outcome::Rejected;
            a.text = local_reject;
        } else {
            a.outcome = vanished ? Outcome::Vanished : Outcome::LocalError;
            a.text = vanished ? "merged away" : error;
        }
        return a;
    }
    const std::string url_path = "/v1/bases/" + f.uai + "/snapshots/" + std::to_string(f.sequence);
    const Answer answer = transport.put(url_path, bytes);
    const Verdict v = classify(answer);
    switch (v.kind) {
        case Verdict::Failed:
            a.outcome = Outcome::NetworkError;
            a.text += v.reason;
            return a;
        case Verdict::Retry:
            a.outcome = Outcome::Retry;
            a.retry_after_s = v.retry_after_s;
            a.text += v.reason + (v.retry_after_s
                                      ? ", Retry-After " + std::to_string(*v.retry_after_s) + " s"
                                      : std::string(", no Retry-After"));
            return a;
        case Verdict::Forged:
            a.outcome = Outcome::Forged;
            a.text += v.reason + ": nothing deleted";
            return a;
        case Verdict::Rejected: {
            bool vanished = false;
            if (set_aside(f, "rejected", v.reason, &vanished, &error)) {
                a.outcome = Outcome::Rejected;
                a.text += v.reason;
            } else {
                a.outcome = vanished ? Outcome::Vanished : Outcome::LocalError;
                a.text += vanished ? "rejected, and merged away meanwhile" : error;
            }
            return a;
        }
        case Verdict::Delivered:
            break;
    }
    if (!kept) {
        bool vanished = false;
        const std::string reason = std::string(v.duplicate ? "duplicate" : "stored") +
                                   " but no receipt sidecar to verify it: kept for the operator";
        if (set_aside(f, "unverified", reason, &vanished, &error)) {
            a.outcome = Outcome::Unverified;
            a.text += reason;
        } else {
            a.outcome = vanished ? Outcome::Vanished : Outcome::LocalError;
            a.text += vanished ? "merged away" : error;
        }
        return a;
    }
    if (!receipts_equal(*kept, *v.receipt)) {
        a.outcome = Outcome::Forged;
        a.text += "HTTP 200 with a receipt that is not the file's: nothing deleted";
        return a;
    }
    // Verified: the .sonde first, so a .sonde never lacks its sidecar.
    if (!platform::remove_file(path) && errno != ENOENT) {
        a.outcome = Outcome::LocalError;
        a.text = errno_text("delivered but cannot delete", path);
        return a;
    }
    platform::remove_file(f.dir + "/" + stem_of(f.name) + ".receipt");
    a.outcome = v.duplicate ? Outcome::Duplicate : Outcome::Stored;
    a.text += std::to_string(f.size) + " bytes, receipt verified";
    return a;
}

bool console_failure(Outcome o) {
    return o == Outcome::NetworkError || o == Outcome::Retry || o == Outcome::Forged;
}
bool left_spool(Outcome o) {
    return o == Outcome::Stored || o == Outcome::Duplicate || o == Outcome::Unverified ||
           o == Outcome::Rejected || o == Outcome::Vanished;
}

}  // namespace

int64_t Engine::step(int64_t now_ms) {
    scan(now_ms);
    for (auto &[key, b] : bases_) {
        if (now_ms < console_next_ms_) break;
        if (b.next_attempt_ms > now_ms) continue;
        auto it = files_.find(key);
        std::vector<const SpoolFile *> files;
        if (it != files_.end())
            for (const SpoolFile &f : it->second) files.push_back(&f);
        const SpoolFile *f = pick(b, files);
        if (!f) {
            b.next_attempt_ms = next_slot_ms(now_ms, base_offset_ms(b.uai, config_.interval_ms),
                                             config_.interval_ms);
            continue;
        }
        const Attempt a = attempt(*f, config_.max_file_bytes, transport_);
        ++b.counts[size_t(a.outcome)];
        b.last_attempt_ms = now_ms;
        log_(b.uai + "/" + std::to_string(f->sequence) + " " + outcome_name(a.outcome) + ": " +
             a.text);
        if (left_spool(a.outcome)) {
            b.newest_sent = std::max(b.newest_sent, f == files.back() ? f->sequence : 0);
            if (a.outcome != Outcome::Vanished) {
                --b.backlog.files;
                b.backlog.bytes -= std::min(b.backlog.bytes, f->size);
            }
        }
        if (a.outcome == Outcome::Stored || a.outcome == Outcome::Duplicate) {
            b.last_success_ms = now_ms;
            console_failures_ = 0;
            console_next_ms_ = 0;
        } else if (a.outcome != Outcome::Vanished) {
            b.last_error_ms = now_ms;
            b.last_error = std::string(outcome_name(a.outcome)) + ": " + a.text;
        }
        if (console_failure(a.outcome)) {
            console_failed(now_ms, a.retry_after_s);
            b.next_attempt_ms = now_ms;
        } else if (a.outcome == Outcome::LocalError) {
            ++b.local_failures;
            b.next_attempt_ms = now_ms + backoff_delay_ms(b.local_failures, random_());
        } else {
            b.local_failures = 0;
            // More to send: go on at once (one request in flight per base); else the next slot.
            b.next_attempt_ms =
                files.size() > 1 || a.outcome == Outcome::Vanished
                    ? now_ms
                    : next_slot_ms(now_ms, base_offset_ms(b.uai, config_.interval_ms),
                                   config_.interval_ms);
        }
    }
    int64_t next = INT64_MAX;
    for (auto &[key, b] : bases_) {
        b.next_attempt_ms = std::max(b.next_attempt_ms, int64_t(0));
        const bool has_files = files_.count(key) && !files_[key].empty();
        const int64_t due =
            has_files ? std::max(b.next_attempt_ms, console_next_ms_) : b.next_attempt_ms;
        next = std::min(next, due);
    }
    // Nothing known yet: look again within the interval.
    if (next == INT64_MAX) next = now_ms + config_.interval_ms;
    write_status(now_ms, false);
    return std::max(next, now_ms);
}

bool Engine::run_once(int64_t now_ms) {
    once_ = true;
    bool clean = true;
    std::set<std::string> tried;
    for (bool stop = false; !stop;) {
        scan(now_ms);
        bool did = false;
        for (auto &[key, b] : bases_) {
            auto it = files_.find(key);
            if (it == files_.end()) continue;
            std::vector<const SpoolFile *> files;
            for (const SpoolFile &f : it->second)
                if (!tried.count(key_of(f.dir, f.name))) files.push_back(&f);
            const SpoolFile *f = pick(b, files);
            if (!f) continue;
            tried.insert(key_of(f->dir, f->name));
            did = true;
            const Attempt a = attempt(*f, config_.max_file_bytes, transport_);
            ++b.counts[size_t(a.outcome)];
            b.last_attempt_ms = now_ms;
            log_(b.uai + "/" + std::to_string(f->sequence) + " " + outcome_name(a.outcome) + ": " +
                 a.text);
            if (left_spool(a.outcome) && f == files.back())
                b.newest_sent = std::max(b.newest_sent, f->sequence);
            if (a.outcome == Outcome::Stored || a.outcome == Outcome::Duplicate) {
                b.last_success_ms = now_ms;
            } else if (a.outcome != Outcome::Vanished) {
                clean = false;
                b.last_error_ms = now_ms;
                b.last_error = std::string(outcome_name(a.outcome)) + ": " + a.text;
            }
            if (console_failure(a.outcome)) {
                stop = true;  // the console is unreachable or lying: stop, leave the rest
                break;
            }
        }
        if (!did) break;
    }
    scan(now_ms);
    for (const auto &[key, files] : files_)
        if (!files.empty()) clean = false;
    write_status(now_ms, true);
    return clean;
}

std::string status_path(const std::string &spool_dir, const std::string &uai) {
    return spool_dir + "/" + uai + ".uplink";
}

void Engine::write_status(int64_t now_ms, bool force) {
    for (const auto &[key, b] : bases_) {
        int64_t &written = status_written_ms_[key];
        if (!force && written != 0 && now_ms - written < 1000) continue;
        written = now_ms;
        Json counts = Json::object();
        for (size_t o = 0; o < size_t(Outcome::Count_); ++o)
            counts[outcome_name(Outcome(o))] = b.counts[o];
        const bool has_files = b.backlog.files > 0;
        const Json j = {
            {"format", "sonde-uplink-status 1"},
            {"pid", int64_t(platform::current_pid())},
            {"updated", now_ms / 1000},
            {"base", b.uai},
            {"spool_dir", b.spool_dir},
            {"backlog_files", b.backlog.files},
            {"backlog_bytes", b.backlog.bytes},
            {"oldest_created", b.backlog.oldest_created},
            {"last_attempt", b.last_attempt_ms / 1000},
            {"last_success", b.last_success_ms / 1000},
            {"last_error_at", b.last_error_ms / 1000},
            {"last_error", b.last_error},
            {"next_attempt",
             (has_files ? std::max(b.next_attempt_ms, console_next_ms_) : b.next_attempt_ms) /
                 1000},
            {"console_failures", console_failures_},
            {"counts", counts},
        };
        std::string error;
        if (!write_atomically(status_path(b.spool_dir, b.uai),
                              j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n", &error))
            log_(error);
    }
    if (config_.metrics_file.empty() || (!force && now_ms - metrics_written_ms_ < 1000)) return;
    metrics_written_ms_ = now_ms;
    std::string m;
    auto family = [&](const char *name, const char *type, const char *help) {
        m += std::string("# TYPE ") + name + " " + type + "\n# HELP " + name + " " + help + "\n";
    };
    auto label = [](const BaseStatus &b) {
        std::string dir;
        for (char c : b.spool_dir) {
            if (c == '\\' || c == '"') dir += '\\';
            dir += c == '\n' ? ' ' : c;
        }
        return "{base=\"" + b.uai + "\",spool=\"" + dir + "\"";
    };
    family("sonde_uplink_backlog_files", "gauge", "Complete .sonde files waiting in the spool.");
    for (const auto &[k, b] : bases_)
        m +=
            "sonde_uplink_backlog_files" + label(b) + "} " + std::to_string(b.backlog.files) + "\n";
    family("sonde_uplink_backlog_bytes", "gauge", "Bytes of those files.");
    for (const auto &[k, b] : bases_)
        m +=
            "sonde_uplink_backlog_bytes" + label(b) + "} " + std::to_string(b.backlog.bytes) + "\n";
    family("sonde_uplink_oldest_created_seconds", "gauge",
           "Creation time of the oldest waiting file (0: none).");
    for (const auto &[k, b] : bases_)
        m += "sonde_uplink_oldest_created_seconds" + label(b) + "} " +
             std::to_string(b.backlog.oldest_created) + "\n";
    family("sonde_uplink_last_success_seconds", "gauge", "Time of the last verified delivery.");
    for (const auto &[k, b] : bases_)
        m += "sonde_uplink_last_success_seconds" + label(b) + "} " +
             std::to_string(b.last_success_ms / 1000) + "\n";
    family("sonde_uplink_last_error_seconds", "gauge", "Time of the last error.");
    for (const auto &[k, b] : bases_)
        m += "sonde_uplink_last_error_seconds" + label(b) + "} " +
             std::to_string(b.last_error_ms / 1000) + "\n";
    family("sonde_uplink_uploads", "counter", "Upload attempts by outcome.");
    for (const auto &[k, b] : bases_)
        for (size_t o = 0; o < size_t(Outcome::Count_); ++o)
            m += "sonde_uplink_uploads_total" + label(b) + ",outcome=\"" +
                 outcome_name(Outcome(o)) + "\"} " + std::to_string(b.counts[o]) + "\n";
    m += "# EOF\n";
    std::string error;
    if (!write_atomically(config_.metrics_file, m, &error)) log_(error);
}

}  // namespace sonde::uplink
