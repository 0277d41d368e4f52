// `sonde-ctl enable` / `disable`: write the per-base configuration file that running servers
// watch. The secret of an existing file is always kept: a new one would hash the same people
// to new keys and double them in the distinct-user counts.

#include <cctype>
#include <cstdio>
#include <optional>

#include "args.hpp"
#include "command.hpp"
#include "core/config.hpp"
#include "platform/files.hpp"
#include "secret.hpp"
#include "shm/layout.hpp"
#include "time/timezone.hpp"
#include "uplink.hpp"

namespace sonde::ctl {
namespace {

using enum ValueKind;
constexpr OptionSpec kEnableOptions[] = {
    {"config-dir", "DIR", "directory of the <BASE>.conf files (required)", Path},
    {"timezone", "TZ", "IANA time zone of the school (default: kept, or Europe/Paris)", Text},
    {"school-year-start", "MM-DD", "first day of the school year (default: kept, or 09-01)", Text},
    {"users", "N",
     "distinct users guaranteed to fit (default: kept, or 24576); applies when the segment is "
     "next created",
     Number, shm::kMinUserCapacity, shm::kMaxUserCapacity},
    {"students", "N",
     "distinct students guaranteed to fit (default: kept, or 8192); applies when the segment "
     "is next created",
     Number, shm::kMinStudentCapacity, shm::kMaxStudentCapacity},
    {"spool-dir", "DIR", "turn snapshots on: where sealed snapshots are written (absolute)", Path},
    {"console-key", "FILE", "the console's public key (absolute; with --spool-dir)", Path},
    {"sender-key", "FILE", "this server's private key (absolute; with --spool-dir)", Path},
    {"interval", "MINUTES", "minutes between snapshots (default: kept, or 15)", Number, 1, 1440},
    {"k-anonymity", "K", "social figures from 1 to K-1 are suppressed (default: kept, or 5)",
     Number, 1, 1000},
    {"include-school-only", "yes|no",
     "ship the 'Établissements seuls' indicators (default: kept, or no)", Choice},
    {"no-snapshots", "", "turn snapshots off"},
};
constexpr OptionSpec kDisableOptions[] = {
    {"config-dir", "DIR", "directory of the <BASE>.conf files (required)", Path},
};

// Options whose value is written into the configuration file: they must read back as given.
constexpr std::string_view kSnapshotOptions[] = {"console-key", "sender-key", "interval",
                                                 "k-anonymity", "include-school-only"};

// A value that goes into the file: refused (usage error) if the file could not hold it as is.
bool writable(const ParsedArgs &parsed, std::string_view option, bool absolute, Io io) {
    if (!parsed.has(option)) return true;
    const std::string value = parsed.get(option);
    std::string why;
    if (!valid_config_value(value, &why)) {
        io.err << "sonde-ctl: --" << option << " cannot be written to the configuration: it " << why
               << " (got '" << printable(value) << "')\n";
        return false;
    }
    if (absolute && !uplink::absolute_path(value)) {
        io.err << "sonde-ctl: --" << option
               << " must be an absolute path: servers do not run in this directory (got '"
               << printable(value) << "')\n";
        return false;
    }
    return true;
}

struct Target {
    std::string base, path;
};

// Checks the base id and the config dir shared by both commands; nullopt after reporting.
std::optional<Target> target_of(const ParsedArgs &parsed, Io io, int &status) {
    status = kExitUsage;
    if (parsed.positional.size() != 1) {
        io.err << "sonde-ctl: expected exactly one BASE (a UAI such as 0310001A)\n";
        return std::nullopt;
    }
    const std::string &base = parsed.positional[0];
    if (!valid_base_id(base.c_str())) {
        io.err << "sonde-ctl: '" << base << "' is not a UAI (7 digits and 1 uppercase letter)\n";
        return std::nullopt;
    }
    if (!parsed.has("config-dir") || parsed.get("config-dir").empty()) {
        io.err << "sonde-ctl: --config-dir DIR is required\n";
        return std::nullopt;
    }
    const std::string dir = parsed.get("config-dir");
    platform::FileInfo st;
    if (!platform::path_info(dir, st, /*follow=*/true) ||
        st.kind != platform::FileKind::Directory) {
        io.err << "sonde-ctl: configuration directory " << dir << " does not exist\n";
        status = kExitFailure;
        return std::nullopt;
    }
    return Target{base, config_path(dir, base)};
}

std::string start_text(const time::SchoolYearStart &s) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02u-%02u", unsigned(s.month), unsigned(s.day));
    return buf;
}

std::optional<ParsedArgs> parse_or_report(const Args &args, std::span<const OptionSpec> options,
                                          Io io) {
    std::string error;
    auto parsed = parse_args(args, options, &error);
    if (!parsed) io.err << "sonde-ctl: " << error << " (see --help)\n";
    return parsed;
}

}  // namespace

int cmd_enable(const Args &args, Io io) {
    auto parsed = parse_or_report(args, kEnableOptions, io);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out << "usage: sonde-ctl enable BASE --config-dir DIR [options]\n"
                  "Enables statistics for a base: writes DIR/BASE.conf (mode 0600) with a fresh\n"
                  "128-bit secret, or keeps the secret of an existing file. Running servers pick\n"
                  "the change up within about a second.\n\n"
               << options_help(kEnableOptions);
        return kExitOk;
    }
    // Every value is checked before anything is read or written.
    if (!writable(*parsed, "timezone", false, io) || !writable(*parsed, "spool-dir", true, io) ||
        !writable(*parsed, "console-key", true, io) || !writable(*parsed, "sender-key", true, io))
        return kExitUsage;
    if (parsed->has("no-snapshots")) {
        for (std::string_view other : {"spool-dir", "console-key", "sender-key", "interval",
                                       "k-anonymity", "include-school-only"})
            if (parsed->has(other)) {
                io.err << "sonde-ctl: --no-snapshots cannot be combined with --" << other << "\n";
                return kExitUsage;
            }
    }
    int status = kExitOk;
    auto target = target_of(*parsed, io, status);
    if (!target) return status;

    BaseConfig config;
    std::string error;
    const ConfigLoad loaded = load_config(target->path, config, &error);
    if (loaded == ConfigLoad::Malformed) {
        // Overwriting would lose its secret: the operator must look at it first.
        io.err << "sonde-ctl: " << error
               << "\nsonde-ctl: not overwriting it; fix or remove the file\n";
        return kExitFailure;
    }
    const bool new_secret =
        loaded == ConfigLoad::Missing || (config.secret.k0 == 0 && config.secret.k1 == 0);
    const bool was_enabled = loaded == ConfigLoad::Ok && config.enabled;

    if (parsed->has("timezone")) {
        const std::string tz = parsed->get("timezone");
        if (!time::TimeZone::load(tz, &error)) {
            io.err << "sonde-ctl: --timezone: " << error << "\n";
            return kExitUsage;
        }
        config.timezone = tz;
    }
    if (parsed->has("school-year-start") &&
        !time::parse_school_year_start(parsed->get("school-year-start"),
                                       config.school_year_start)) {
        io.err << "sonde-ctl: --school-year-start must be MM-DD, e.g. 09-01\n";
        return kExitUsage;
    }
    SnapshotConfig &sc = config.snapshots;
    if (parsed->has("no-snapshots")) sc = SnapshotConfig{};
    if (parsed->has("spool-dir")) sc.spool_dir = parsed->get("spool-dir");
    if (parsed->has("console-key")) sc.console_public_key = parsed->get("console-key");
    if (parsed->has("sender-key")) sc.sender_key = parsed->get("sender-key");
    // Numbers and choices were validated by parse_args against their specs.
    sc.interval_minutes = uint32_t(parsed->number("interval", sc.interval_minutes));
    sc.k_anonymity = uint32_t(parsed->number("k-anonymity", sc.k_anonymity));
    if (parsed->has("include-school-only"))
        sc.include_school_only = parsed->get("include-school-only") == "yes";
    config.users_capacity = uint32_t(parsed->number("users", config.users_capacity));
    config.students_capacity = uint32_t(parsed->number("students", config.students_capacity));
    if (sc.spool_dir.empty()) {
        // Without a spool the [snapshots] section is not written: these would be dropped.
        for (std::string_view option : kSnapshotOptions)
            if (parsed->has(option)) {
                io.err << "sonde-ctl: --" << option
                       << " needs snapshots on: give --spool-dir (with --console-key and "
                          "--sender-key) or enable a base whose snapshots are already on\n";
                return kExitUsage;
            }
    } else if (sc.console_public_key.empty() || sc.sender_key.empty()) {
        io.err << "sonde-ctl: --spool-dir needs --console-key and --sender-key\n";
        return kExitUsage;
    }
    if (new_secret) {
        auto secret = generate_secret(&error);
        if (!secret) {
            io.err << "sonde-ctl: cannot generate a secret: " << error << "\n";
            return kExitFailure;
        }
        config.secret = *secret;
    }
    config.enabled = true;
    if (!save_config(target->path, config, &error)) {
        io.err << "sonde-ctl: cannot write the configuration: " << error << "\n";
        return kExitFailure;
    }
    io.out << (was_enabled ? "base " + target->base + " was already enabled; rewrote "
                           : "enabled base " + target->base + ": wrote ")
           << target->path << "\n"
           << "  secret: " << (new_secret ? "new (128-bit, from getrandom)" : "kept") << "\n"
           << "  timezone: " << config.timezone << "\n"
           << "  school year starts: " << start_text(config.school_year_start) << "\n"
           << "  capacity: " << capacities_of(config).users << " users, "
           << capacities_of(config).students << " students (from the next segment created)\n"
           << "  snapshots: "
           << (sc.spool_dir.empty() ? std::string("off")
                                    : "every " + std::to_string(sc.interval_minutes) + " min to " +
                                          sc.spool_dir + ", k = " + std::to_string(sc.k_anonymity) +
                                          (sc.include_school_only ? ", school-only included" : ""))
           << "\n"
           << "Running servers pick it up within about a second.\n";
    return kExitOk;
}

int cmd_disable(const Args &args, Io io) {
    auto parsed = parse_or_report(args, kDisableOptions, io);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out << "usage: sonde-ctl disable BASE --config-dir DIR\n"
                  "Stops recording for a base: sets enabled = false in DIR/BASE.conf and keeps\n"
                  "everything else (the secret too, for a later enable). Counters already in the\n"
                  "segment stay readable.\n\n"
               << options_help(kDisableOptions);
        return kExitOk;
    }
    int status = kExitOk;
    auto target = target_of(*parsed, io, status);
    if (!target) return status;

    BaseConfig config;
    std::string error;
    switch (load_config(target->path, config, &error)) {
        case ConfigLoad::Missing:
            io.err << "sonde-ctl: unknown base " << target->base << ": no " << target->path << "\n";
            return kExitFailure;
        case ConfigLoad::Malformed:
            io.err << "sonde-ctl: " << error
                   << "\nsonde-ctl: not overwriting it; fix or remove the file\n";
            return kExitFailure;
        case ConfigLoad::Ok:
            break;
    }
    const bool was_enabled = config.enabled;
    config.enabled = false;
    if (!save_config(target->path, config, &error)) {
        io.err << "sonde-ctl: cannot write the configuration: " << error << "\n";
        return kExitFailure;
    }
    io.out << (was_enabled ? "disabled base " : "base ") << target->base
           << (was_enabled ? ": wrote " : " was already disabled; rewrote ") << target->path << "\n"
           << "Running servers stop recording within about a second.\n";
    return kExitOk;
}

}  // namespace sonde::ctl
