#pragma once
// The state of one base during the week replay, as the driver sees it between days.

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "ledger.hpp"
#include "options.hpp"
#include "reader/view.hpp"
#include "scenario.hpp"
#include "school.hpp"
#include "shm/layout.hpp"
#include "sim_calendar.hpp"
#include "snapshot_setup.hpp"

namespace sonde::shim {

// Running totals of what the hosts of a base have recorded so far (read at each barrier).
struct Totals {
    uint64_t connections = 0, count_calls = 0, student_calls = 0;
    std::array<int64_t, catalog::kConnectionCells> combination{};
};

struct DayRow {
    Totals recorded;              // during that day only
    std::vector<uint64_t> users;  // per user_selections(), as read from the segment
};

// The distinct users of a month or school year, checked when it closed.
struct PeriodRow {
    shm::Window window;
    uint32_t number;
    std::string name;             // "month 2026-11", "school year 2026"
    std::vector<uint64_t> users;  // per user_selections(), as read from the segment
};

struct BaseRun {
    School school;
    BaseConfig config;
    std::optional<SimCalendar> calendar;
    BasePlan plan;
    std::vector<std::string> keys;
    std::vector<Ledger> ledgers;
    std::optional<reader::SegmentView> view;
    Totals at_last_barrier;
    std::vector<DayRow> days;
    std::vector<PeriodRow> periods;
    std::string config_note;
    std::optional<SnapshotChannel> snapshots;      // --snapshots
    std::vector<std::vector<int64_t>> cumulative;  // counter totals at each barrier (ready, days)
    // Counter totals at each hour barrier: [0] when ready, then after each local hour of each
    // day in order (SimDay::hours), so hour i of the week is [i + 1] - [i].
    std::vector<std::vector<int64_t>> hour_cumulative;
    bool stale_segment_removed = false;
};

// What the driver and each host of a base derive alike from the options, the school and the
// base's configuration (run.school, run.config set): the calendar, the plan, the user keys.
bool plan_base_run(const Options &options, BaseRun &run, std::string *error);
// The size of one host's ledger of that base in the arena.
LedgerShape ledger_shape(const Options &options, const BaseRun &run);

Totals totals_of(const BaseRun &run);
Totals minus(const Totals &a, const Totals &b);

// Connections through web or mobile, of which mobile, of which via the ENT.
struct NetShares {
    uint64_t net = 0, mobile = 0, ent = 0;
};
NetShares net_shares(const Totals &t);

size_t selection_index(const std::string &name);                 // in user_selections()
nlohmann::json users_json(const std::vector<uint64_t> &counts);  // per user_selections() name

}  // namespace sonde::shim
