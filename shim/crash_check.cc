#include "crash_check.hpp"

#include <cstdio>
#include <optional>
#include <set>

#include "cells.hpp"
#include "report.hpp"

namespace sonde::shim {

using nlohmann::json;

namespace {

// Subset sums of the in-flight deltas of a cell: each killed call counted or not.
std::vector<int64_t> possible_totals(int64_t base_value, const std::vector<int64_t> &pending) {
    std::set<int64_t> sums{0};
    for (int64_t d : pending) {
        std::set<int64_t> next = sums;
        for (int64_t s : sums) next.insert(s + d);
        sums.swap(next);
    }
    std::vector<int64_t> out;
    for (int64_t s : sums) out.push_back(base_value + s);
    return out;
}

// How many of the in-flight calls of a cell the plugin counted, when the cell's excess over the
// committed value tells it unambiguously (every subset with that sum has the same size).
std::optional<uint32_t> calls_counted(const std::vector<int64_t> &pending, int64_t excess) {
    if (pending.size() > 16) return std::nullopt;
    std::optional<uint32_t> counted;
    for (uint32_t subset = 0; subset < (1u << pending.size()); ++subset) {
        int64_t sum = 0;
        for (size_t i = 0; i < pending.size(); ++i)
            if (subset & (1u << i)) sum += pending[i];
        if (sum != excess) continue;
        const auto size = uint32_t(__builtin_popcount(subset));
        if (counted && *counted != size) return std::nullopt;
        counted = size;
    }
    return counted;
}

}  // namespace

json check_crash_base(CheckLog &log, CrashBase &s, uint32_t b,
                      const std::vector<Incarnation> &incarnations, const reader::SegmentView &view,
                      const sonde_diagnostics &diag, const Options &options) {
    std::vector<int64_t> committed(catalog::kCounterCells, 0);
    std::vector<std::vector<int64_t>> pending(catalog::kCounterCells);
    std::vector<uint64_t> users(kCrashUsers / 64, 0), maybe_users(kCrashUsers / 64, 0);
    uint64_t calls = 0, connections = 0, failed = 0;
    for (const Incarnation &inc : incarnations) {
        if (inc.base != b) continue;
        const Journal &j = *inc.journal;
        const bool in_flight = inc.killed && j.pending.load(std::memory_order_acquire);
        const uint32_t cell = j.pending_cell.load(std::memory_order_relaxed);
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c)
            committed[c] += in_flight && c == cell
                                ? j.pending_before.load(std::memory_order_relaxed)
                                : j.committed[c].load(std::memory_order_relaxed);
        for (uint32_t w = 0; w < users.size(); ++w)
            users[w] |= j.users[w].load(std::memory_order_relaxed);
        if (in_flight) {
            ++s.killed_in_flight;
            pending[cell].push_back(j.pending_delta.load(std::memory_order_relaxed));
            const uint32_t user = j.pending_user.load(std::memory_order_relaxed);
            if (user != kNoUser) maybe_users[user / 64] |= uint64_t{1} << (user % 64);
        }
        calls += j.calls.load(std::memory_order_relaxed);
        connections += j.connections.load(std::memory_order_relaxed);
        failed += j.failed.load(std::memory_order_relaxed);
    }
    if (options.inject_mismatch && b == 0)
        committed[event_cell(SONDE_EV_MESSAGE_SENT, 1)] += 1000000;

    const std::vector<int64_t> actual = view.cells();
    for (uint32_t c = 0; c < catalog::kCounterCells; ++c) {
        log.expect_one_of(s.uai, counter_cell_name(c), possible_totals(committed[c], pending[c]),
                          actual[c]);
        if (const auto counted = calls_counted(pending[c], actual[c] - committed[c])) {
            s.in_flight_counted += *counted;
            s.in_flight_not_counted += uint32_t(pending[c].size()) - *counted;
        }
        if (options.verbose && !pending[c].empty()) {
            std::string deltas;
            for (int64_t d : pending[c]) {  // not " " + ...: GCC 12 -O3 -Wrestrict false positive
                deltas += ' ';
                deltas += std::to_string(d);
            }
            std::printf("  in flight at a kill: %s %s, deltas%s: committed %lld, segment %lld\n",
                        s.uai.c_str(), counter_cell_name(c).c_str(), deltas.c_str(),
                        static_cast<long long>(committed[c]), static_cast<long long>(actual[c]));
        }
    }
    log.expect(s.uai, "failed calls", 0, int64_t(failed));

    uint64_t sure = 0, possible = 0;
    for (uint32_t w = 0; w < users.size(); ++w) {
        sure += uint64_t(__builtin_popcountll(users[w]));
        possible += uint64_t(__builtin_popcountll(users[w] | maybe_users[w]));
    }
    const uint64_t all = reader::connection_mask(0, 0, 0);
    const uint64_t day_users = view.distinct(shm::kDay, s.stamps.day, all);
    log.expect_between(s.uai, "distinct users day", int64_t(sure), int64_t(possible),
                       int64_t(day_users));
    log.expect_between(s.uai, "distinct users month", int64_t(sure), int64_t(possible),
                       int64_t(view.distinct(shm::kMonth, s.stamps.month, all)));
    log.expect_between(s.uai, "distinct users school year", int64_t(sure), int64_t(possible),
                       int64_t(view.distinct(shm::kSchoolYear, s.stamps.school_year, all)));

    check_diagnostics(log, s.uai, diag);
    // More writers died holding a row than there were rows to spare: some row must have
    // been taken back from a dead process (by the watcher or by writer_get).
    const bool must_reclaim = s.killed + options.processes > diag.rows_total;
    if (must_reclaim)
        log.expect_between(s.uai, "rows reclaimed from dead writers", 1, INT64_MAX,
                           int64_t(diag.rows_reclaimed));

    std::printf("\n%s: %u writers started, %u killed, %u survived\n", s.uai.c_str(), s.started,
                s.killed, s.started - s.killed);
    std::printf(
        "  kills during a call: %u (the plugin counted it: %u, did not: %u, undecidable: %u)\n",
        s.killed_in_flight, s.in_flight_counted, s.in_flight_not_counted,
        s.killed_in_flight - s.in_flight_counted - s.in_flight_not_counted);
    std::printf("  %s calls journaled (%s connections), %s rows reclaimed%s\n",
                thousands(int64_t(calls)).c_str(), thousands(int64_t(connections)).c_str(),
                thousands(int64_t(diag.rows_reclaimed)).c_str(),
                must_reclaim ? " (required: more writers died than rows were free)" : "");
    std::printf("  distinct users today: %s (journals: %s sure, %s possible)\n",
                thousands(int64_t(day_users)).c_str(), thousands(int64_t(sure)).c_str(),
                thousands(int64_t(possible)).c_str());
    std::printf("  diagnostics: %s\n", diagnostics_line(diag).c_str());
    return {{"uai", s.uai},
            {"writers_started", s.started},
            {"killed", s.killed},
            {"killed_in_flight", s.killed_in_flight},
            {"in_flight_counted", s.in_flight_counted},
            {"in_flight_not_counted", s.in_flight_not_counted},
            {"calls", calls},
            {"connections", connections},
            {"distinct_users_day", day_users},
            {"journal_users_sure", sure},
            {"journal_users_possible", possible},
            {"rows_reclaim_required", must_reclaim},
            {"diagnostics", diagnostics_json(diag)}};
}

}  // namespace sonde::shim
