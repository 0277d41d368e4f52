#include "week_snapshots.hpp"

#include <cstdio>
#include <map>

#include "cells.hpp"
#include "report.hpp"
#include "snapshot_check.hpp"
#include "snapshot_read.hpp"

namespace sonde::shim {
namespace {

namespace v1 = snapshot::v1;
using snapshot::IngestStore;

// A few console figures per day and the absences distribution, read back from the store.
struct ConsoleView {
    std::map<uint32_t, int64_t> connections, messages, users;  // per day number
    std::vector<uint64_t> absences;                            // per bin, all levels
    uint32_t absence_levels_suppressed = 0;
};

ConsoleView console_view(const IngestStore &store, const std::string &uai) {
    ConsoleView v;
    store.visit([&](const IngestStore::FigureView &f) {
        if (f.base != uai) return;
        const bool day = f.window_kind == v1::WINDOW_KIND_DAY;
        if (f.family == IngestStore::Family::Value && day) {
            // Suivi journalier: the day's total (profile, medium, access 0), not the breakdown.
            if (f.dims[0] == v1::MEASURE_KIND_CONNECTION && f.dims[3] == 0)
                v.connections[f.window_number] += f.value;
            if (f.dims[0] == v1::MEASURE_KIND_EVENT && f.dims[1] == SONDE_EV_MESSAGE_SENT)
                v.messages[f.window_number] += f.value;
        } else if (f.family == IngestStore::Family::Distinct && day &&
                   f.dims[0] == catalog::kDailyDistinctProfiles &&
                   f.dims[1] == catalog::kDailyDistinctMedia &&
                   f.dims[2] == catalog::kDailyDistinctAccesses) {  // Suivi journalier
            v.users[f.window_number] = f.value;
        } else if (f.family == IngestStore::Family::Distribution &&
                   f.dims[0] == SONDE_TALLY_ABSENCE_HALF_DAY) {
            v.absence_levels_suppressed += f.suppressed;
            v.absences.resize(std::max(v.absences.size(), f.bin_low.size()), 0);
            for (size_t b = 0; b < f.students.size(); ++b) v.absences[b] += f.students[b];
        }
    });
    return v;
}

// Connections hour by hour, as the console stores them and as the oracle counted them between
// the replay's hour barriers: one row per local hour of the week (for the demo's table).
nlohmann::json hour_connections(const IngestStore &store, const BaseRun &run) {
    std::map<int64_t, int64_t> console;
    store.visit([&](const IngestStore::FigureView &f) {
        if (f.base == run.school.uai && f.family == IngestStore::Family::Value &&
            f.window_kind == v1::WINDOW_KIND_HOUR && f.dims[0] == v1::MEASURE_KIND_CONNECTION)
            console[f.window_start] += f.value;
    });
    nlohmann::json rows = nlohmann::json::array();
    size_t index = 0;
    for (const SimDay &d : run.calendar->days())
        for (size_t h = 0; h < d.hours.size(); ++h, ++index) {
            if (index + 1 >= run.hour_cumulative.size()) break;
            int64_t oracle = 0;
            for (uint32_t c = 0; c < catalog::kConnectionCells; ++c)
                oracle += run.hour_cumulative[index + 1][c] - run.hour_cumulative[index][c];
            const std::string local = format_local(run.calendar->tz(), d.hours[h]);
            rows.push_back({{"date", d.date},
                            {"start_unix", d.hours[h]},
                            {"local", local.substr(11, 5) + local.substr(19)},
                            {"oracle", oracle},
                            {"console", console.count(d.hours[h]) ? console.at(d.hours[h]) : 0}});
        }
    return rows;
}

void print_console_view(const ConsoleView &v, const BaseRun &run) {
    std::printf("    console   day        connections  users  messages\n");
    for (const SimDay &d : run.calendar->days())
        std::printf(
            "    console   %s %11s %6s %9s\n", d.date.c_str(),
            thousands(v.connections.count(d.stamps.day) ? v.connections.at(d.stamps.day) : 0)
                .c_str(),
            thousands(v.users.count(d.stamps.day) ? v.users.at(d.stamps.day) : 0).c_str(),
            thousands(v.messages.count(d.stamps.day) ? v.messages.at(d.stamps.day) : 0).c_str());
    const catalog::TallyInfo &info = catalog::kTallies[SONDE_TALLY_ABSENCE_HALF_DAY];
    std::printf("    console   absences (half-days, school year):");
    for (size_t b = 0; b < v.absences.size() && b < info.bin_count; ++b)
        std::printf(" %u+: %s", info.bin_low[b], thousands(int64_t(v.absences[b])).c_str());
    std::printf(" students (%u levels suppressed by k)\n", v.absence_levels_suppressed);
}

}  // namespace

bool check_week_snapshots(CheckLog &log, const Options &o, std::vector<BaseRun> &runs,
                          nlohmann::json *section, std::string *error) {
    crypto::KeyPair console{};
    if (!load_console_key(o, console, error)) return false;
    std::printf("snapshots: console key %s\n", o.console_key.c_str());
    *section = nlohmann::json::array();
    for (uint32_t b = 0; b < runs.size(); ++b) {
        BaseRun &run = runs[b];
        const std::string &uai = run.school.uai;
        const size_t mismatches_before = log.mismatches().size();
        IngestStore store;
        const SpoolRead read =
            read_spool(log, uai, *run.snapshots, console, run.keys, run.calendar->tz(), store);
        const Expectation expected = merge_ledgers(run.school, run.ledgers);
        const SnapshotOracle oracle{&run.school,
                                    &*run.calendar,
                                    &expected,
                                    &run.cumulative,
                                    &run.hour_cumulative,
                                    run.config.snapshots.k_anonymity,
                                    run.config.snapshots.include_school_only,
                                    o.inject_snapshot_mismatch && b == 0,
                                    o.inject_hour_mismatch && b == 0};
        const SnapshotFigures figures = check_snapshots(log, uai, store, oracle);
        // One generation throughout (a reboot or a power cut continues it); the snapshots
        // after a reboot say so with segment_boots (issue 7).
        log.expect(uai, "snapshot segment generations", 1, int64_t(read.generations));
        log.expect(uai, "segment_boots of the first snapshot", 1, read.first_boots);
        log.expect(uai, "segment_boots of the last snapshot", o.reboot ? 2 : 1, read.last_boots);
        const size_t mismatches = log.mismatches().size() - mismatches_before;
        std::printf(
            "  %s: %s files, %s bytes, %s snapshots opened (sequences %llu..%llu), %s figures "
            "stored; %s compared, %s hidden and %s rounded by policy (k=%u, school-only %s), %s "
            "keys sampled, "
            "%zu mismatches\n",
            uai.c_str(), thousands(int64_t(read.files)).c_str(),
            thousands(int64_t(read.bytes)).c_str(), thousands(int64_t(read.opened)).c_str(),
            static_cast<unsigned long long>(read.first_sequence),
            static_cast<unsigned long long>(read.last_sequence),
            thousands(int64_t(store.figure_count())).c_str(),
            thousands(int64_t(figures.compared)).c_str(),
            thousands(int64_t(figures.suppressed)).c_str(),
            thousands(int64_t(figures.rounded)).c_str(), oracle.k_anonymity,
            oracle.include_school_only ? "included" : "withheld",
            thousands(int64_t(read.keys_sampled)).c_str(), mismatches);
        std::printf(
            "  %s: hours (%s): %s local hours, %s hour figures compared one by one, %s "
            "mismatched\n",
            uai.c_str(), run.calendar->tz().name().c_str(),
            thousands(int64_t(figures.hours)).c_str(),
            thousands(int64_t(figures.hour_figures)).c_str(),
            thousands(int64_t(figures.hour_mismatches)).c_str());
        print_console_view(console_view(store, uai), run);
        section->push_back({{"base", uai},
                            {"spool_dir", run.snapshots->spool_dir},
                            {"files", read.files},
                            {"bytes", read.bytes},
                            {"opened", read.opened},
                            {"plaintext_bytes", read.plaintext_bytes},
                            {"figures_stored", store.figure_count()},
                            {"figures_compared", figures.compared},
                            {"hidden_by_policy", figures.suppressed},
                            {"rounded_by_policy", figures.rounded},
                            {"hour_sums_skipped", figures.hour_sums_skipped},
                            {"timezone", run.calendar->tz().name()},
                            {"hours_checked", figures.hours},
                            {"hour_figures_compared", figures.hour_figures},
                            {"hour_figures_mismatched", figures.hour_mismatches},
                            {"keys_sampled", read.keys_sampled},
                            {"hour_connections", hour_connections(store, run)},
                            {"mismatches", mismatches}});
    }
    snapshot::wipe(console);
    return true;
}

}  // namespace sonde::shim
