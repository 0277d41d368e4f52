#pragma once
// The per-base configuration file written by `sonde-ctl enable` (INI, parsed with
// Boost.PropertyTree):
//
//   [base]
//   enabled = true
//   secret = 32 hex digits       (128-bit SipHash key; pseudonymises user and student keys)
//   timezone = Europe/Paris
//   school_year_start = 09-01
//   users_capacity = 24576       (optional: distinct users guaranteed to fit in the segment)
//   students_capacity = 8192     (optional: distinct students guaranteed to fit)
//
// Comments: a line whose first non-blank character is ';' or '#', or the end of a line from a
// ';' or '#' that follows a blank. A control character anywhere (but tab, line feed, and CR
// before a line feed) makes the file malformed.
//
//   [snapshots]                   (optional: without it nothing is shipped)
//   spool_dir = /var/spool/sonde
//   console_public_key = /etc/sonde/console.pub
//   sender_key = /etc/sonde/server.key
//   interval_minutes = 15
//   aead = chacha20poly1305       (or aes256gcm)
//   k_anonymity = 5               (social figures from 1 to k-1 are suppressed)
//   include_school_only = false   ("Établissements seuls" indicators stay at the school)
//   spool_max_files = 2000

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/siphash.hpp"
#include "shm/layout.hpp"
#include "time/calendar.hpp"

namespace sonde {

struct SnapshotConfig {
    std::string spool_dir;  // empty: snapshots off
    std::string console_public_key;
    std::string sender_key;
    uint32_t interval_minutes = 15;
    bool chacha20 = true;
    uint32_t k_anonymity = 5;
    bool include_school_only = false;
    uint32_t spool_max_files = 2000;
    bool operator==(const SnapshotConfig &) const = default;
};

struct BaseConfig {
    bool enabled = false;
    SipKey secret{};
    std::string timezone = "Europe/Paris";
    time::SchoolYearStart school_year_start{};
    SnapshotConfig snapshots{};
    // Capacities of the segment's tables, used when a segment is created; 0 = the default
    // (shm::kDefaultUserCapacity, shm::kDefaultStudentCapacity). Validated ranges: see
    // shm::kMin/kMax*Capacity.
    uint32_t users_capacity = 0;
    uint32_t students_capacity = 0;
};

// The capacities a segment created for this configuration gets (defaults filled in).
inline shm::Capacities capacities_of(const BaseConfig &c) {
    return {c.users_capacity ? c.users_capacity : shm::kDefaultUserCapacity,
            c.students_capacity ? c.students_capacity : shm::kDefaultStudentCapacity};
}

std::string config_path(const std::string &config_dir, const std::string &base_id);

enum class ConfigLoad { Ok, Missing, Malformed };
// Missing file = a base nobody enabled: disabled, no error. Malformed: *error says why.
ConfigLoad load_config(const std::string &path, BaseConfig &out, std::string *error);
// The same parser on text in memory (`origin` prefixes the error). Never Missing.
ConfigLoad parse_config(const std::string &text, const std::string &origin, BaseConfig &out,
                        std::string *error);
inline constexpr size_t kMaxConfigBytes = 64 * 1024;

// Whether `text` can be written as a value: no control character, no leading or trailing
// space, no ' ;' or ' #' (they would start a comment). *why says what is wrong.
bool valid_config_value(std::string_view text, std::string *why);

// A whole decimal number: digits only (no sign, no blank, no suffix), no overflow.
std::optional<uint64_t> parse_decimal(std::string_view text);

// Writes atomically (temp file, fsync, rename) with mode 0600: the file holds the secret.
bool save_config(const std::string &path, const BaseConfig &config, std::string *error);

bool parse_secret(const std::string &hex, SipKey &out);
std::string format_secret(const SipKey &key);
bool valid_base_id(const char *id);  // UAI: 7 digits + 1 letter

}  // namespace sonde
