#pragma once
// The per-base configuration file written by `sonde-ctl enable` (INI, parsed with
// Boost.PropertyTree):
//
//   [base]
//   enabled = true
//   secret = 32 hex digits       (128-bit SipHash key; pseudonymises user and student keys)
//   timezone = Europe/Paris
//   school_year_start = 09-01

#include <string>

#include "core/siphash.hpp"
#include "time/calendar.hpp"

namespace sonde {

struct BaseConfig {
    bool enabled = false;
    SipKey secret{};
    std::string timezone = "Europe/Paris";
    time::SchoolYearStart school_year_start{};
};

std::string config_path(const std::string &config_dir, const std::string &base_id);

enum class ConfigLoad { Ok, Missing, Malformed };
// Missing file = a base nobody enabled: disabled, no error. Malformed: *error says why.
ConfigLoad load_config(const std::string &path, BaseConfig &out, std::string *error);

// Writes atomically (temp file, fsync, rename) with mode 0600: the file holds the secret.
bool save_config(const std::string &path, const BaseConfig &config, std::string *error);

bool parse_secret(const std::string &hex, SipKey &out);
std::string format_secret(const SipKey &key);
bool valid_base_id(const char *id);  // UAI: 7 digits + 1 letter

}  // namespace sonde
