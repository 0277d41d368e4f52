#pragma once
// The deterministic scenario of a base: for each simulated day, every call the school's
// servers make, in time order, each one assigned to the host process that serves it (like a
// load balancer would). The driver and each host build it alike from the same options (a host
// is the shim started again, process_runner.hpp); each host replays its share.

#include <cstdint>
#include <vector>

#include "school.hpp"
#include "sim_calendar.hpp"

namespace sonde::shim {

enum class ActionKind : uint8_t { Connect, Count, Student, Gauge };

struct Action {
    int64_t at;        // unix seconds
    uint32_t subject;  // user (Connect) or student (Student)
    int32_t delta;     // Count/Student delta; Gauge value
    uint16_t process;  // host process of the base that makes the call
    ActionKind kind;
    uint8_t what;    // sonde_profile | sonde_event | sonde_tally | sonde_gauge
    uint8_t medium;  // Connect only
    uint8_t access;  // Connect only
    uint8_t level;   // Count/Student/Gauge
};

struct BasePlan {
    int64_t setup_at = 0;  // process 0 declares levels and inventory then
    std::vector<GaugeSetting> inventory;
    std::vector<std::vector<Action>> days;  // [day] sorted by time
    uint64_t total_actions() const;
};

BasePlan plan_base(const School &school, const SimCalendar &calendar, uint32_t processes,
                   uint64_t seed);

}  // namespace sonde::shim
