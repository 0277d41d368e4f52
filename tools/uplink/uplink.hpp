#pragma once
// sonde-uplink's engine (docs/delivery.md#the-uplink): finds the complete .sonde files of the
// spools, uploads them one at a time per base, deletes a file only on a verified receipt,
// sets rejected files aside, paces itself, and reports per base. The clock is a parameter of
// step() and the random source is injected, so the tests run it without sleeping.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "snapshot/envelope.hpp"
#include "transport.hpp"

namespace sonde::uplink {

// ---- configuration (uplink.conf: "name = value" lines, '#' comments) ----

struct Config {
    TransportConfig transport;
    std::vector<std::string> spool_dirs;   // spool_dir = ... (repeatable)
    std::vector<std::string> config_dirs;  // config_dir = ...: the bases' configurations
    int64_t interval_ms = 15 * 60'000;     // interval_minutes
    std::string metrics_file;              // OpenMetrics text, rewritten as things change
    size_t max_file_bytes = (4u << 20) + (64u << 10);
};

bool parse_config(const std::string &text, Config &out, std::string *error);
// An absolute path: "/..." and, on Windows, also "C:\..." or "C:/..." and "\\server\share\...".
bool absolute_path(const std::string &path);
bool load_config(const std::string &path, Config &out, std::string *error);

// The spool directories to upload: the configured ones, plus the spool_dir of each base
// configured in config_dirs (read again at each scan, so a new base is picked up). Sorted,
// without duplicates.
std::vector<std::string> spool_dirs_of(const Config &config, std::vector<std::string> *problems);

// ---- spool files ----

struct SpoolFile {
    std::string dir, name;  // name = <UAI>-<sequence %020>-<first_hour>-<created>.sonde
    std::string uai;
    uint64_t sequence = 0;
    int64_t first_hour = 0, created = 0;
    uint64_t size = 0;
};

// Parses a complete spool file name (never .tmp); nullopt for anything else.
std::optional<SpoolFile> parse_spool_name(const std::string &name);
// The complete .sonde files of a directory (regular files only), by UAI then sequence. On the
// way, removes the receipts left without their .sonde once they are kOrphanReceiptAgeSeconds old.
inline constexpr int64_t kOrphanReceiptAgeSeconds = 60;
std::vector<SpoolFile> scan_spool(const std::string &dir, std::string *error);

struct Backlog {
    uint64_t files = 0, bytes = 0;
    int64_t oldest_created = 0;  // 0: none
};
Backlog backlog_of(const std::vector<SpoolFile> &files, const std::string &uai);

// ---- what an answer means ----

enum class Outcome {
    Stored,        // stored, receipt verified: file and sidecar deleted
    Duplicate,     // duplicate, receipt verified: file and sidecar deleted
    Unverified,    // stored/duplicate but no sidecar to check: moved to unverified/
    Rejected,      // moved to rejected/ with its reason
    Forged,        // 200 without a valid receipt: nothing deleted, retried with backoff
    Retry,         // 429/503: waited Retry-After
    NetworkError,  // no HTTP answer, or an answer that is not the protocol's
    Vanished,      // the shipper merged the file away before or during the upload
    LocalError,    // the file could not be read or moved
    Count_
};
const char *outcome_name(Outcome) noexcept;

// The receipt sidecar: 64 lowercase hex digits and a line feed.
std::optional<snapshot::Receipt> parse_receipt(std::string_view text) noexcept;
bool receipts_equal(const snapshot::Receipt &a, const snapshot::Receipt &b) noexcept;  // CT

struct Verdict {
    enum Kind { Delivered, Rejected, Retry, Forged, Failed } kind = Failed;
    bool duplicate = false;
    std::optional<snapshot::Receipt> receipt;  // Delivered: the console's receipt
    std::string reason;                        // Rejected: the console's reason; else a log text
    std::optional<int64_t> retry_after_s;
};
// Reads an answer against the protocol (docs/delivery.md#the-answer).
Verdict classify(const Answer &answer);

// ---- the engine ----

struct BaseStatus {
    std::string spool_dir, uai;
    Backlog backlog;
    int64_t last_success_ms = 0, last_attempt_ms = 0, last_error_ms = 0;
    std::string last_error;
    int64_t next_attempt_ms = 0;
    uint64_t counts[size_t(Outcome::Count_)] = {};
    uint64_t newest_sent = 0;  // the newest sequence that has left the spool
    uint32_t local_failures = 0;
};

class Engine {
  public:
    using Log = std::function<void(const std::string &)>;
    using Random = std::function<uint64_t()>;

    Engine(Config config, Transport &transport, Random random, Log log);

    // Uploads what is due at `now_ms` (one file per due base, round-robin) and returns the
    // time of the next thing to do. Loop it: while files are due it returns now_ms.
    int64_t step(int64_t now_ms);
    // `sonde-ctl upload`: everything now, each file at most once, no waiting; true if every
    // file left the spool with a verified receipt (nothing left, nothing set aside).
    bool run_once(int64_t now_ms);

    const std::map<std::string, BaseStatus> &bases() const { return bases_; }
    int64_t console_next_ms() const { return console_next_ms_; }
    uint32_t console_failures() const { return console_failures_; }
    void write_status(int64_t now_ms, bool force);

  private:
    void scan(int64_t now_ms);
    void console_failed(int64_t now_ms, std::optional<int64_t> retry_after_s);

    Config config_;
    Transport &transport_;
    Random random_;
    Log log_;
    std::map<std::string, BaseStatus> bases_;              // key: spool_dir + "/" + uai
    std::map<std::string, std::vector<SpoolFile>> files_;  // same key, by sequence
    std::map<std::string, int64_t> status_written_ms_;
    int64_t console_next_ms_ = 0;
    uint32_t console_failures_ = 0;
    int64_t metrics_written_ms_ = 0;
    bool once_ = false;
};

// Status file of a base: <spool_dir>/<UAI>.uplink (JSON, replaced atomically).
std::string status_path(const std::string &spool_dir, const std::string &uai);

}  // namespace sonde::uplink
