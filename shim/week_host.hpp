#pragma once
// One emulated server process of the week scenario (runs in a forked child). It loads the
// plugin itself (dlopen after fork, like a server starting), opens its base, takes a writer,
// and replays its share of each day, moving the plugin's clock as simulated time passes.
// Between days it waits for the driver, which checks the day's distinct users meanwhile.

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
    int to_driver;    // pipe: one byte when ready and after each day
    int from_driver;  // pipe: one byte to start each day, one more to finish
};

// Returns the child's exit status.
int run_week_host(const WeekHost &host);

// The bytes of the protocol between the driver and its hosts.
inline constexpr char kReady = 'R', kDayDone = 'D', kGo = 'G';
bool send_byte(int fd, char byte);
bool receive_byte(int fd, char *byte);  // false on EOF (the other side died) or error

}  // namespace sonde::shim
