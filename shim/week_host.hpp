#pragma once
// One emulated server process of the week scenario: the shim started again by the driver with
// --role week-host (process_runner.hpp). It rebuilds its base's school, calendar and plan from
// the driver's arguments, loads the plugin itself (like a server starting), opens its base,
// takes a writer,
// and replays its share of each day, moving the plugin's clock as simulated time passes.
// Between hours it waits for the driver, which records the oracle's totals at each hour and
// checks the day's distinct users at each midnight meanwhile.

#include <cstdint>
#include <string>

#include "ledger.hpp"
#include "options.hpp"
#include "scenario.hpp"
#include "school.hpp"
#include "sim_calendar.hpp"

namespace sonde::shim {

struct WeekHost {
    std::string lib, config_dir, shm_dir;
    const School *school;
    const SimCalendar *calendar;
    const BasePlan *plan;
    const std::vector<std::string> *user_keys;
    uint32_t process;  // 0 declares levels and inventory
    Ledger ledger;
    // Where the host starts: 0, 0 at the start of the week; after a simulated reboot, the
    // local hour it resumes at (it then declares nothing: levels and gauges are in the segment).
    // The driver sets $SONDE_BOOT_ID to the simulated machine's current boot.
    uint32_t start_day = 0;
    size_t start_hour = 0;
};

// Talks to the driver over stdin and stdout: one line when ready, two after each hour (done,
// clock moved); it reads two lines per hour (start, move the clock) and one more to finish.
// Returns the host's exit status.
int run_week_host(const WeekHost &host);

// --role week-host: the host of base `host_base`, process `host_index`, its ledger at
// `arena_offset` in `arena`, starting at `resume_day`:`resume_hour`.
int run_week_host_role(const Options &options);

// The lines of the protocol between the driver and its hosts (one letter each).
// An hour barrier has two phases: every host finishes the local hour (kHourDone); once all
// have, each moves its clock to the start of the next local hour (kClockMoved). The shipper,
// whichever host it is, thus latches the new hour (and at midnight the new day) after every
// count of the old one and before any of the new one (docs/snapshot.md, "Replays").
inline constexpr char kReady = 'R', kHourDone = 'H', kClockMoved = 'M', kGo = 'G';

}  // namespace sonde::shim
