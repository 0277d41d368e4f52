#pragma once
// The command line of sonde-shim.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sonde::shim {

enum class Scenario { Week, Crash };
enum class HostRole { None, WeekHost, CrashWriter };

struct Options {
    std::string lib;         // libsonde.so to dlopen
    std::string config_dir;  // <UAI>.conf files; a temporary directory when not given
    std::string shm_dir;     // sonde.<UAI> segments; a temporary directory when not given
    uint32_t bases = 2;
    uint32_t processes = 0;  // per base; 0 = the scenario's default (week 3, crash 4)
    uint32_t students = 1500;
    uint32_t days = 7;
    std::string start = "2026-11-16";  // first simulated day (local date of the base)
    uint64_t seed = 1;
    Scenario scenario = Scenario::Week;
    uint32_t kills = 48;           // crash: SIGKILLs per base (48 rows: enough to force reclaims)
    bool check = false;            // compare with the oracle, exit 1 on any mismatch
    bool inject_mismatch = false;  // corrupt the oracle on purpose: --check must then fail
    std::string json;              // write the report (with the oracle) there
    // Week: ship sealed snapshots into <snapshots>/spool and check them against the oracle.
    std::string snapshots;             // empty = off
    std::string console_key;           // console private key (default <snapshots>/keys/console.key)
    bool include_school_only = false;  // for the [snapshots] sections the shim writes
    bool inject_snapshot_mismatch = false;  // corrupt one expected day figure (self-test)
    bool inject_hour_mismatch = false;      // corrupt one expected hour figure (self-test)
    // Time zone of each base in order (the last one repeats); empty = Europe/Paris. Only for
    // configurations the shim writes.
    std::vector<std::string> timezones;
    // A school year (docs/privacy.md): French zone C holidays of 2025-2026 and the summer are
    // days without school (no absences, late arrivals or discipline; weekend-like connections),
    // and collèges get small-class levels (6EME SEGPA, 5EME SEGPA, ULIS of 10 to 16 pupils),
    // lycées an ULIS. --days may then go up to 366.
    bool school_year = false;
    uint32_t snapshot_interval = 15;  // minutes, for the [snapshots] sections the shim writes
    bool verbose = false;
    // Week: every host process of every base is SIGKILLed at local hour `reboot_hour` of day
    // `reboot_day` (0-based; a barrier between hours), the segment directory is kept, and
    // hosts are started again as after a reboot (new boot id). With power_cut, the hosts
    // record that hour first, then the machine loses power: each segment file is rolled back
    // to its state at the last snapshot (snapshots every 60 minutes, at hour boundaries) and
    // the hosts start again at the next hour. The oracle forgets the events of the lost hour.
    bool reboot = false, power_cut = false;
    uint32_t reboot_day = 0, reboot_hour = 0;

    // A host process (the shim started again by its driver, process_runner.hpp): the driver's
    // own arguments, then its directories, then the role's. The host rebuilds the scenario
    // from them (school, calendar and plan are deterministic) and writes its share of the
    // oracle at `arena_offset` in the file-backed arena `arena` (shared_arena.hpp).
    HostRole role = HostRole::None;
    std::string arena;
    uint64_t arena_offset = 0;
    uint32_t host_base = 0, host_index = 0;    // week: base, process; crash: base, incarnation
    uint32_t resume_day = 0, resume_hour = 0;  // week: where the host starts (after a reboot)
    int64_t clock = 0;                         // crash: the instant the writers record at
    // The command line after the program's name, as given (the driver passes it to its hosts).
    std::vector<std::string> args;
};

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitMismatch = 1;  // --check found a difference with the oracle
inline constexpr int kExitSetup = 2;     // bad command line, unusable library or directory

// nullopt with *error set on a bad command line; nullopt with an empty *error after --help.
std::optional<Options> parse_options(int argc, char **argv, std::string *error);
std::string usage();

}  // namespace sonde::shim
