#pragma once
// The crash scenario seen after the fact: which writers ran, which were killed, and the check
// of a base's segment against their journals.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compare.hpp"
#include "crash_journal.hpp"
#include "host_process.hpp"
#include "options.hpp"
#include "reader/view.hpp"
#include "sonde.h"
#include "time/calendar.hpp"

namespace sonde::shim {

// One writer process: its base, its journal, and how it ended.
struct Incarnation {
    uint32_t base;
    Journal *journal;
    std::unique_ptr<HostProcess> process;  // the shim in --role crash-writer; null once ended
    bool killed = false;
};

// A base of the crash scenario and what happened to its writers.
struct CrashBase {
    std::string uai;
    time::CalendarStamps stamps{};
    uint32_t started = 0, killed = 0, killed_in_flight = 0, in_flight_counted = 0,
             in_flight_not_counted = 0;
};

// Checks one base (every counter cell, distinct users, failures, diagnostics, reclaimed rows),
// prints its summary and returns its JSON record.
nlohmann::json check_crash_base(CheckLog &log, CrashBase &base, uint32_t base_index,
                                const std::vector<Incarnation> &incarnations,
                                const reader::SegmentView &view, const sonde_diagnostics &diag,
                                const Options &options);

}  // namespace sonde::shim
