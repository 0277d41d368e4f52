#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

#ifndef SONDE_SHIM_DEFAULT_LIB
#define SONDE_SHIM_DEFAULT_LIB "libsonde.so"
#endif

namespace sonde::shim {
namespace {

template <typename T>
bool parse_number(std::string_view text, T &out, T min, T max) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        return false;
    out = value;
    return true;
}

bool valid_date(const std::string &s) {
    return s.size() == 10 && s[4] == '-' && s[7] == '-' &&
           std::strspn(s.c_str(), "0123456789-") == s.size();
}

}  // namespace

std::string usage() {
    return "usage: sonde-shim [options]\n"
           "An emulated PRONOTE/EDT host: starts host processes that load libsonde.so "
           "(sonde.dll),\n"
           "replay a deterministic school scenario through the C ABI, and compares the segments\n"
           "with an oracle. Each host is this program started again in a role; it loads the\n"
           "library itself, like a server starting; the driver loads it only once its hosts are\n"
           "done (diagnostics).\n\n"
           "  --lib PATH          libsonde.so to load (default: " SONDE_SHIM_DEFAULT_LIB
           ")\n"
           "  --config-dir DIR    <UAI>.conf files; an existing enabled file is kept (default: "
           "temp dir)\n"
           "  --shm-dir DIR       where the sonde.<UAI> segments live (default: temp dir)\n"
           "  --bases N           number of bases: 0310001A, 0310002B, ... (default 2)\n"
           "  --processes P       host processes per base (default: week 3, crash 4)\n"
           "  --students N        students per base (default 1500)\n"
           "  --days D            simulated days (default 7)\n"
           "  --start YYYY-MM-DD  first simulated day (default 2026-11-16, a Monday)\n"
           "  --seed S            scenario seed (default 1)\n"
           "  --scenario week|crash\n"
           "  --kills K           crash: SIGKILLs per base (default 48)\n"
           "  --check             compare with the oracle; exit 1 on any mismatch\n"
           "  --inject-mismatch   corrupt the oracle on purpose (self-test of --check)\n"
           "  --snapshots DIR     week: keys in DIR/keys, snapshots in DIR/spool (a base's own\n"
           "                      [snapshots] section is kept); check the decrypted snapshots\n"
           "  --console-key FILE  console private key to open them (default DIR/keys/console.key)\n"
           "  --include-school-only  ship the \"school only\" indicators (written sections only)\n"
           "  --inject-snapshot-mismatch  corrupt one expected day figure (self-test)\n"
           "  --inject-hour-mismatch  corrupt one expected hour figure of the snapshots "
           "(self-test)\n"
           "  --timezones TZ,...  time zone of each base in order, the last one repeating\n"
           "                      (default Europe/Paris; for configurations the shim writes)\n"
           "  --school-year       zone C holidays 2025-2026 and summer without school, small\n"
           "                      SEGPA/ULIS levels, --days up to 366 (privacy audit run)\n"
           "  --snapshot-interval MIN  minutes between snapshots (default 15; written sections)\n"
           "  --json FILE         write the report and the oracle as JSON\n"
           "  --reboot-at D:H     week: kill every host at local hour H of day D (0-based) and\n"
           "                      start them again as after a reboot (segments kept)\n"
           "  --power-cut-at D:H  the same after hour H was recorded, with each segment file\n"
           "                      rolled back to its last snapshot (hourly snapshots)\n"
           "  --verbose           print every mismatch and per-process details\n"
           "Internal (the driver starts its hosts with them): --role week-host|crash-writer,\n"
           "  --arena FILE, --arena-offset N, --host B:P, --resume D:H, --clock T.\n";
}

std::optional<Options> parse_options(int argc, char **argv, std::string *error) {
    Options o;
    o.lib = SONDE_SHIM_DEFAULT_LIB;
    o.args.assign(argv + 1, argv + argc);
    auto fail = [&](const std::string &why) -> std::optional<Options> {
        *error = why;
        return std::nullopt;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            error->clear();
            return std::nullopt;
        }
        if (arg == "--school-year") {
            o.school_year = true;
            continue;
        }
        if (arg == "--check") {
            o.check = true;
            continue;
        }
        if (arg == "--inject-mismatch") {
            o.inject_mismatch = true;
            continue;
        }
        if (arg == "--include-school-only") {
            o.include_school_only = true;
            continue;
        }
        if (arg == "--inject-snapshot-mismatch") {
            o.inject_snapshot_mismatch = true;
            continue;
        }
        if (arg == "--inject-hour-mismatch") {
            o.inject_hour_mismatch = true;
            continue;
        }
        if (arg == "--verbose") {
            o.verbose = true;
            continue;
        }
        if (i + 1 >= argc) return fail("unknown option or missing value: " + std::string(arg));
        const std::string value = argv[++i];
        bool ok = true;
        if (arg == "--lib")
            o.lib = value;
        else if (arg == "--config-dir")
            o.config_dir = value;
        else if (arg == "--shm-dir")
            o.shm_dir = value;
        else if (arg == "--bases")
            ok = parse_number<uint32_t>(value, o.bases, 1, 26);
        else if (arg == "--processes")
            ok = parse_number<uint32_t>(value, o.processes, 1, 40);
        else if (arg == "--students")
            ok = parse_number<uint32_t>(value, o.students, 10, 4000);
        else if (arg == "--days")
            ok = parse_number<uint32_t>(value, o.days, 1, 366);
        else if (arg == "--snapshot-interval")
            ok = parse_number<uint32_t>(value, o.snapshot_interval, 1, 1440);
        else if (arg == "--start")
            ok = valid_date(o.start = value);
        else if (arg == "--timezones") {
            o.timezones.clear();
            for (size_t from = 0; from <= value.size();) {
                const size_t comma = std::min(value.find(',', from), value.size());
                o.timezones.push_back(value.substr(from, comma - from));
                ok = ok && !o.timezones.back().empty();
                from = comma + 1;
            }
        } else if (arg == "--seed")
            ok = parse_number<uint64_t>(value, o.seed, 0, UINT64_MAX);
        else if (arg == "--kills")
            ok = parse_number<uint32_t>(value, o.kills, 0, 1000);
        else if (arg == "--snapshots")
            o.snapshots = value;
        else if (arg == "--console-key")
            o.console_key = value;
        else if (arg == "--json")
            o.json = value;
        else if (arg == "--reboot-at" || arg == "--power-cut-at") {
            const size_t colon = value.find(':');
            ok = colon != std::string::npos &&
                 parse_number<uint32_t>(value.substr(0, colon), o.reboot_day, 0, 61) &&
                 parse_number<uint32_t>(value.substr(colon + 1), o.reboot_hour, 0, 24);
            o.reboot = true;
            o.power_cut = arg == "--power-cut-at";
        } else if (arg == "--role") {
            if (value == "week-host")
                o.role = HostRole::WeekHost;
            else if (value == "crash-writer")
                o.role = HostRole::CrashWriter;
            else
                ok = false;
        } else if (arg == "--arena")
            o.arena = value;
        else if (arg == "--arena-offset")
            ok = parse_number<uint64_t>(value, o.arena_offset, 0, UINT64_MAX);
        else if (arg == "--host" || arg == "--resume") {
            const size_t colon = value.find(':');
            uint32_t &first = arg == "--host" ? o.host_base : o.resume_day;
            uint32_t &second = arg == "--host" ? o.host_index : o.resume_hour;
            ok = colon != std::string::npos &&
                 parse_number<uint32_t>(value.substr(0, colon), first, 0, UINT32_MAX) &&
                 parse_number<uint32_t>(value.substr(colon + 1), second, 0, UINT32_MAX);
        } else if (arg == "--clock")
            ok = parse_number<int64_t>(value, o.clock, 0, INT64_MAX);
        else if (arg == "--scenario") {
            if (value == "week")
                o.scenario = Scenario::Week;
            else if (value == "crash")
                o.scenario = Scenario::Crash;
            else
                ok = false;
        } else
            return fail("unknown option " + std::string(arg));
        if (!ok) return fail("bad value for " + std::string(arg) + ": '" + value + "'");
    }
    if (!o.snapshots.empty() && o.console_key.empty())
        o.console_key = o.snapshots + "/keys/console.key";
    if (o.processes == 0) o.processes = o.scenario == Scenario::Week ? 3 : 4;
    if (o.reboot && o.scenario != Scenario::Week)
        return fail("--reboot-at and --power-cut-at replay a week (--scenario week)");
    if (o.reboot && o.reboot_day >= o.days) return fail("--reboot-at: day past the last day");
    if (o.power_cut && o.snapshots.empty())
        return fail("--power-cut-at needs --snapshots: the loss is bounded by the last one");
    if (o.days > 62 && !o.school_year) return fail("--days above 62 needs --school-year");
    if (o.role != HostRole::None && (o.arena.empty() || o.config_dir.empty() || o.shm_dir.empty()))
        return fail("--role needs --arena, --config-dir and --shm-dir");
    if (o.role == HostRole::WeekHost && (o.host_base >= o.bases || o.host_index >= o.processes))
        return fail("--host: no such base or process");
    return o;
}

}  // namespace sonde::shim
