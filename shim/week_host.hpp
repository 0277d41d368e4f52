#pragma once
// One emulated server process of the week scenario (runs in a forked child). It loads the
// plugin itself (dlopen after fork, like a server starting), opens its base, takes a writer,
// and replays its share of each day, moving the plugin's clock as simulated time passes.
// Between hours it waits for the driver, which records the oracle's totals at each hour and
// checks the day's distinct users at each midnight meanwhile.

#include <cstdint>
#include <string>

#include "ledger.hpp"
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
    int to_driver;    // pipe: one byte when ready, two after each hour (done, clock moved)
    int from_driver;  // pipe: two bytes per hour (start, move the clock), one more to finish
    // Where the host starts: 0, 0 at the start of the week; after a simulated reboot, the
    // local hour it resumes at (it then declares nothing: levels and gauges are in the segment).
    uint32_t start_day = 0;
    size_t start_hour = 0;
    std::string boot_id;  // $SONDE_BOOT_ID of the simulated machine's current boot
};

// Returns the child's exit status.
int run_week_host(const WeekHost &host);

// The bytes of the protocol between the driver and its hosts.
// An hour barrier has two phases: every host finishes the local hour (kHourDone); once all
// have, each moves its clock to the start of the next local hour (kClockMoved). The shipper,
// whichever host it is, thus latches the new hour (and at midnight the new day) after every
// count of the old one and before any of the new one (docs/snapshot.md, "Replays").
inline constexpr char kReady = 'R', kHourDone = 'H', kClockMoved = 'M', kGo = 'G';
bool send_byte(int fd, char byte);
bool receive_byte(int fd, char *byte);  // false on EOF (the other side died) or error

}  // namespace sonde::shim
