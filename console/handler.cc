#include "handler.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "civil.hpp"
#include "ingestor.hpp"
#include "log.hpp"
#include "snapshot/console.hpp"

namespace sonde::console {
namespace {

constexpr std::string_view kUploadPrefix = "/v1/bases/";
constexpr std::string_view kSnapshots = "/snapshots/";
constexpr std::string_view kContentType = "application/vnd.sonde.snapshot";

std::string json_answer(const char *status, const std::string *reason, const std::string *receipt) {
    nlohmann::json j = {{"status", status}};
    if (reason) j["reason"] = *reason;
    if (receipt) j["receipt"] = *receipt;
    return j.dump();
}

std::string name_of(const std::string &base, uint64_t sequence) {
    return base + "/" + std::to_string(sequence);
}

}  // namespace

bool parse_upload_path(std::string_view t, std::string &base, uint64_t &sequence) {
    if (!t.starts_with(kUploadPrefix)) return false;
    t.remove_prefix(kUploadPrefix.size());
    if (t.size() < 8 || !snapshot::valid_base_id(t.substr(0, 8))) return false;
    base = std::string(t.substr(0, 8));
    t.remove_prefix(8);
    if (!t.starts_with(kSnapshots)) return false;
    t.remove_prefix(kSnapshots.size());
    if (t.empty() || t.size() > 20 || t[0] == '0') return false;
    for (char c : t)
        if (c < '0' || c > '9') return false;
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), sequence);
    return ec == std::errc() && p == t.data() + t.size();
}

Handler::Handler(const Config &config, const Keyring &keyring, const KeyRegistry &registry,
                 Inbox &inbox, Metrics &metrics, Ingestor *ingestor)
    : config_(config),
      keyring_(keyring),
      registry_(registry),
      inbox_(inbox),
      metrics_(metrics),
      ingestor_(ingestor),
      limiter_(config.rate_limit_per_base, config.rate_limit_burst,
               size_t(config.rate_limit_clients)) {}

Answer Handler::rejected(unsigned status, const std::string &name, const std::string &text,
                         const Head &head, bool close) {
    // Texts of the envelope's errors already start with their name: one is enough.
    const std::string reason = text.starts_with(name + ": ") ? text : name + ": " + text;
    metrics_.upload(Metrics::Upload::Rejected);
    metrics_.rejected(name);
    // Per establishment, for the pages' État des remontées: only bases that were enrolled, so
    // that junk uploads for made-up UAIs add no rows to the database.
    std::string base;
    uint64_t sequence = 0;
    if (ingestor_ && parse_upload_path(head.target, base, sequence) && registry_.enrolled(base))
        ingestor_->rejected(base, name, reason, int64_t(std::time(nullptr)));
    log(Level::Warn, "rejected " + std::string(head.method) + " " + std::string(head.target) +
                         " from " + std::string(head.peer) + ": " + reason);
    return {status, json_answer("rejected", &reason, nullptr), "application/json", 0, close};
}

Answer Handler::retry(unsigned status, const std::string &reason, unsigned retry_after) {
    metrics_.upload(Metrics::Upload::Retry);
    log(Level::Warn, "asked to retry: " + reason);
    return {status, json_answer("retry", &reason, nullptr), "application/json",
            retry_after ? retry_after : config_.retry_after, true};
}

std::optional<Answer> Handler::before_body(const Head &head) {
    const bool get = head.method == "GET" || head.method == "HEAD";  // HEAD: no body sent
    if (get && head.target == "/healthz") {
        if (inbox_.free_bytes() < config_.min_free_bytes) {
            const std::string reason = "inbox disk nearly full";
            return Answer{503, json_answer("retry", &reason, nullptr), "application/json",
                          config_.retry_after, false};
        }
        return Answer{200, json_answer("ok", nullptr, nullptr)};
    }
    if (get && head.target == "/metrics")
        return Answer{200, metrics_.render(std::time(nullptr)),
                      "application/openmetrics-text; version=1.0.0; charset=utf-8"};
    std::string base;
    uint64_t sequence = 0;
    const bool upload_path = parse_upload_path(head.target, base, sequence);
    const bool close = head.content_length.value_or(0) > 0 || head.chunked;
    if (!upload_path)
        return rejected(404, "bad path",
                        "no such resource (uploads go to "
                        "/v1/bases/{UAI}/snapshots/{sequence})",
                        head, close);
    if (head.method != "PUT") return rejected(405, "bad method", "uploads are PUT", head, close);
    // Per (client address, UAI): a hosting farm's 500 bases behind one address each have their
    // own bucket, and nobody at another address can spend a school's tokens.
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    if (const unsigned wait = limiter_.take(head.peer, base, now_ms)) {
        metrics_.rate_limited();
        return retry(429,
                     "rate limit: over " + std::to_string(config_.rate_limit_per_base) +
                         " uploads a minute for " + base + " from " + std::string(head.peer),
                     wait);
    }
    if (head.chunked || !head.content_length)
        return rejected(411, "no length", "Content-Length is required", head, true);
    if (*head.content_length > config_.max_body_bytes)
        return rejected(413, "too large",
                        "body of " + std::to_string(*head.content_length) + " bytes, over " +
                            std::to_string(config_.max_body_bytes),
                        head, true);
    if (head.content_type != kContentType)
        return rejected(415, "bad content type",
                        "Content-Type must be " + std::string(kContentType), head, true);
    if (ingestor_ && ingestor_->backlog() >= config_.max_backlog)
        return retry(503, "ingest backlog over " + std::to_string(config_.max_backlog) + " files");
    if (inbox_.free_bytes() < config_.min_free_bytes + *head.content_length)
        return retry(503, "inbox disk nearly full");
    return std::nullopt;
}

namespace {
constexpr const char *kWeekdays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
constexpr const char *kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
}  // namespace

std::optional<int64_t> parse_http_date(std::string_view t) {
    // "Sun, 06 Nov 1994 08:49:37 GMT": 29 characters exactly.
    if (t.size() != 29 || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
        t[19] != ':' || t[22] != ':' || t.substr(25) != " GMT")
        return std::nullopt;
    auto number = [&](size_t at, size_t n, int64_t &out) {
        out = 0;
        for (size_t i = at; i < at + n; ++i) {
            if (t[i] < '0' || t[i] > '9') return false;
            out = out * 10 + (t[i] - '0');
        }
        return true;
    };
    int64_t day, year, h, m, sec;
    if (!number(5, 2, day) || !number(12, 4, year) || !number(17, 2, h) || !number(20, 2, m) ||
        !number(23, 2, sec))
        return std::nullopt;
    unsigned month = 0;
    for (unsigned i = 0; i < 12; ++i)
        if (t.substr(8, 3) == kMonths[i]) month = i + 1;
    static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!month || day < 1 || day > kDays[month - 1] || h > 23 || m > 59 || sec > 60)
        return std::nullopt;
    const int64_t days = days_from_civil(year, month, unsigned(day));
    // 29 February of a year that has none, and a weekday that is not the date's.
    int64_t yy = 0;
    unsigned mm = 0, dd = 0;
    civil_from_days(days, yy, mm, dd);
    if (mm != month || t.substr(0, 3) != kWeekdays[((days % 7) + 7) % 7]) return std::nullopt;
    return days * 86400 + h * 3600 + m * 60 + std::min<int64_t>(sec, 59);
}

std::string format_http_date(int64_t unix) {
    const int64_t days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400;
    const int64_t secs = unix - days * 86400;
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02lld:%02lld:%02lld GMT",
                  kWeekdays[((days % 7) + 7) % 7], d, kMonths[m - 1], static_cast<long long>(y),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs % 3600 / 60),
                  static_cast<long long>(secs % 60));
    return buf;
}

Answer Handler::upload(const Head &head, std::span<const uint8_t> body) {
    std::string base;
    uint64_t sequence = 0;
    parse_upload_path(head.target, base, sequence);  // before_body checked it

    // Cheap checks first: no cryptography for junk.
    snapshot::Header header;
    std::string why;
    if (const snapshot::OpenError e = snapshot::parse_header(body, header, &why);
        e != snapshot::OpenError::None)
        return rejected(422, snapshot::open_error_name(e), why, head, false);
    if (header.base() != base || header.sequence != sequence)
        return rejected(422, "path mismatch",
                        "path names " + name_of(base, sequence) + ", the file's header " +
                            name_of(header.base(), header.sequence),
                        head, false);
    const crypto::KeyPair *key = keyring_.find(header.recipient);
    if (!key)
        return rejected(
            422, "wrong recipient",
            "sealed to key " + snapshot::to_hex(header.recipient) + ", not to this console", head,
            false);
    snapshot::PublicKey sender;
    if (!registry_.lookup(base, header.sender, sender, false))
        return rejected(
            422, "unknown sender",
            "sender key " + snapshot::to_hex(header.sender) + " is not registered for " + base,
            head, false);

    // Open: authenticate, decrypt, decompress within the bound, parse.
    snapshot::OpenParams params;
    params.recipient = *key;
    snapshot::trust_sender(params, sender, base);
    params.max_uncompressed = size_t(config_.max_uncompressed_bytes);
    snapshot::Receipt receipt{};
    params.receipt = &receipt;
    // Parsed on an arena: a snapshot is about a thousand small messages, one free at the end.
    google::protobuf::Arena arena(parse_arena_options());
    auto *s = google::protobuf::Arena::CreateMessage<snapshot::v1::Snapshot>(&arena);
    const snapshot::OpenError e = snapshot::open_snapshot(body, params, *s, header, &why);
    if (e != snapshot::OpenError::None && e != snapshot::OpenError::SchemaMismatch) {
        if (e == snapshot::OpenError::Internal) return retry(503, why);
        return rejected(422, snapshot::open_error_name(e), why, head, false);
    }
    if (e == snapshot::OpenError::SchemaMismatch)
        log(Level::Warn, "accepting " + name_of(base, sequence) +
                             " of an unknown catalogue (kept, not applied): " + why);

    // Durable, then answered.
    int err = 0;
    FileRef stored;
    const Inbox::Put put = inbox_.put(base, sequence, body, &why, &err, &stored);
    const std::string receipt_hex = snapshot::to_hex(receipt);
    // The clock skew, once the file is the school's (authenticated) and kept: the console's
    // clock when the headers were in minus the sender's `Date` (docs/delivery.md#clock).
    if (put == Inbox::Put::Stored || put == Inbox::Put::Duplicate)
        if (const auto sent = parse_http_date(head.date); sent && ingestor_ && head.headers_unix)
            ingestor_->clock_measured(base, head.headers_unix - *sent, head.headers_unix);
    switch (put) {
        case Inbox::Put::Stored:
            metrics_.upload(Metrics::Upload::Stored);
            metrics_.accepted(base, sequence, header.created_unix);
            log(Level::Info, "stored " + name_of(base, sequence) + " " +
                                 std::to_string(body.size()) + " bytes from " +
                                 std::string(head.peer));
            if (ingestor_) ingestor_->enqueue(stored);
            return {200, json_answer("stored", nullptr, &receipt_hex)};
        case Inbox::Put::Duplicate:
            metrics_.upload(Metrics::Upload::Duplicate);
            log(Level::Info,
                "duplicate " + name_of(base, sequence) + " from " + std::string(head.peer));
            // Already queued (journaled) or applied (archived): nothing to enqueue.
            return {200, json_answer("duplicate", nullptr, &receipt_hex)};
        case Inbox::Put::Conflict:
            return rejected(422, "conflict",
                            "another file is already stored as " + name_of(base, sequence), head,
                            false);
        case Inbox::Put::Failed:
            break;
    }
    log(Level::Error, "inbox: " + why);
    return retry(503, err == ENOSPC || err == EDQUOT ? "inbox disk full" : "inbox write failed");
}

}  // namespace sonde::console
