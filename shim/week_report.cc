#include "week_report.hpp"

#include <cstdio>

#include "cells.hpp"
#include "compare.hpp"
#include "report.hpp"

namespace sonde::shim {

using nlohmann::json;

void print_week_base(const BaseRun &run, const Expectation &e, const sonde_diagnostics &diag) {
    const School &s = run.school;
    std::string levels;
    for (const ClassLevel &l : s.levels) levels += (levels.empty() ? "" : " ") + l.label;
    std::printf(
        "\n%s · %s (%s) · %s students, %s guardians, %s teachers, %s staff,"
        " %s support workers, %s other\n",
        s.uai.c_str(), s.kind_name().c_str(), levels.c_str(), thousands(s.students).c_str(),
        thousands(s.guardians).c_str(), thousands(s.teachers).c_str(), thousands(s.staff).c_str(),
        thousands(s.support_workers).c_str(), thousands(s.others).c_str());
    std::printf(
        "  day       users students guardians teachers staff support  connections"
        " mobile  ENT  events discipline\n");
    const size_t students = selection_index("student"), guardians = selection_index("guardian"),
                 teachers = selection_index("teacher"), staff = selection_index("staff"),
                 support = selection_index("support_worker");
    for (uint32_t d = 0; d < run.days.size(); ++d) {
        const DayRow &r = run.days[d];
        const NetShares net = net_shares(r.recorded);
        std::printf("  %-7s %7s %8s %9s %8s %5s %7s %12s %6s %4s %7s %10s\n",
                    run.calendar->days()[d].label.c_str(), thousands(r.users[0]).c_str(),
                    thousands(r.users[students]).c_str(), thousands(r.users[guardians]).c_str(),
                    thousands(r.users[teachers]).c_str(), thousands(r.users[staff]).c_str(),
                    thousands(r.users[support]).c_str(), thousands(r.recorded.connections).c_str(),
                    share(net.mobile, net.net).c_str(), share(net.ent, net.net).c_str(),
                    thousands(r.recorded.count_calls).c_str(),
                    thousands(r.recorded.student_calls).c_str());
    }
    std::string periods;
    for (const PeriodRow &p : run.periods)
        periods += (periods.empty() ? "" : " · ") + p.name + ": " + thousands(int64_t(p.users[0])) +
                   " users";
    std::printf("  %s\n", periods.c_str());
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
        const catalog::TallyInfo &info = catalog::kTallies[t];
        if (info.slot < 0) continue;
        for (uint32_t year : run.calendar->school_years()) {
            const reader::Distribution dist = run.view->distribution(t, year);
            std::string bins;
            for (uint32_t b = 0; b < dist.bin_count; ++b) {
                const bool last = b + 1 == dist.bin_count;
                const std::string range = last ? std::to_string(dist.bin_low[b]) + "+"
                                          : dist.bin_low[b] + 1 == dist.bin_low[b + 1]
                                              ? std::to_string(dist.bin_low[b])
                                              : std::to_string(dist.bin_low[b]) + "-" +
                                                    std::to_string(dist.bin_low[b + 1] - 1);
                bins += " " + range + ":" + thousands(int64_t(dist.total[b]));
            }
            std::printf("  %-17s %u:%s\n", info.key, year, bins.c_str());
        }
    }
    const LedgerHeader &t = e.totals;
    std::printf(
        "  recorded %s calls: %s connections, %s counts (sum of deltas %s), %s student events,"
        " %s gauges; %s clock_set\n",
        thousands(t.calls_ok).c_str(), thousands(t.connections).c_str(),
        thousands(t.count_calls).c_str(), thousands(t.count_units).c_str(),
        thousands(t.student_calls).c_str(), thousands(t.gauge_sets).c_str(),
        thousands(t.clock_sets).c_str());
    std::printf("  diagnostics: %s\n", diagnostics_line(diag).c_str());
}

json week_base_json(const BaseRun &run, const Expectation &e, const sonde_diagnostics &diag) {
    const School &s = run.school;
    json levels = json::array();
    for (const ClassLevel &l : s.levels)
        levels.push_back({{"slot", l.slot}, {"label", l.label}, {"students", l.students}});
    json days = json::array();
    for (uint32_t d = 0; d < run.days.size(); ++d) {
        const SimDay &sd = run.calendar->days()[d];
        const DayRow &r = run.days[d];
        days.push_back({{"date", sd.date},
                        {"day_number", sd.stamps.day},
                        {"start_unix", sd.start},
                        {"connections", r.recorded.connections},
                        {"count_calls", r.recorded.count_calls},
                        {"student_calls", r.recorded.student_calls},
                        {"users", users_json(r.users)}});
    }
    json counters = json::object(), gauges = json::object();
    for (uint32_t c = 0; c < catalog::kCounterCells; ++c)
        if (e.cells[c]) counters[counter_cell_name(c)] = e.cells[c];
    for (uint32_t g = 0; g < catalog::kGaugeCells; ++g)
        if (e.gauges[g].set) gauges[gauge_cell_name(g)] = e.gauges[g].value;
    json periods = json::array();
    for (const PeriodRow &p : run.periods)
        periods.push_back({{"window", p.window == shm::kMonth ? "month" : "school_year"},
                           {"name", p.name},
                           {"number", p.number},
                           {"users", users_json(p.users)}});
    json distributions = json::object();
    for (uint32_t t = 1; t <= catalog::kTallyCount; ++t) {
        const catalog::TallyInfo &info = catalog::kTallies[t];
        if (info.slot < 0) continue;
        for (uint32_t y = 0; y < run.calendar->school_years().size(); ++y) {
            const auto per_level = expected_distribution(s, e, t, y);
            json by_level = json::object();
            for (const ClassLevel &l : s.levels)
                by_level[l.label] = std::vector<uint64_t>(
                    per_level[l.slot].begin(), per_level[l.slot].begin() + info.bin_count);
            distributions[info.key][std::to_string(run.calendar->school_years()[y])] = by_level;
        }
    }
    return {{"uai", s.uai},
            {"kind", s.kind_name()},
            {"levels", levels},
            {"population",
             {{"students", s.students},
              {"guardians", s.guardians},
              {"teachers", s.teachers},
              {"staff", s.staff},
              {"support_workers", s.support_workers},
              {"others", s.others}}},
            {"timezone", run.calendar->tz().name()},
            {"days", days},
            {"calls",
             {{"ok", e.totals.calls_ok},
              {"failed", e.totals.calls_failed},
              {"connections", e.totals.connections},
              {"count_calls", e.totals.count_calls},
              {"count_units", e.totals.count_units},
              {"student_calls", e.totals.student_calls},
              {"gauge_sets", e.totals.gauge_sets},
              {"clock_sets", e.totals.clock_sets}}},
            {"expected",
             {{"counters", counters}, {"gauges", gauges}, {"distributions", distributions}}},
            {"periods", periods},
            {"diagnostics", diagnostics_json(diag)}};
}

}  // namespace sonde::shim
