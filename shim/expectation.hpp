#pragma once
// What a base's segment must contain, merged from the ledgers of all its host processes.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ledger.hpp"
#include "school.hpp"

namespace sonde::shim {

using StudentTallies = std::array<int32_t, catalog::kTallySlots>;

struct Expectation {
    std::vector<int64_t> cells;                        // [counter cell]
    std::vector<GaugeRecord> gauges;                   // [gauge cell]
    std::vector<std::string> labels;                   // [level slot], empty = undeclared
    std::vector<std::vector<uint64_t>> day_masks;      // [day][user]
    std::vector<std::vector<StudentTallies>> tallies;  // [school-year slot][student]
    LedgerHeader totals{};                             // call counters summed (cells unused)
    std::vector<std::string> failures;                 // "process 1: 3 calls failed (first: ...)"

    // Users whose combinations on the selected days intersect `mask`.
    uint64_t distinct(std::span<const uint32_t> days, uint64_t mask) const;
};

// Merges the masks of one day only (the driver checks each day while it is still readable).
std::vector<uint64_t> merge_day_masks(std::span<const Ledger> ledgers, uint32_t day);
// The counter totals of all the ledgers, as they stand (read at a barrier).
std::vector<int64_t> merge_cells(std::span<const Ledger> ledgers);
uint64_t count_users(const std::vector<uint64_t> &masks, uint64_t mask);

Expectation merge_ledgers(const School &school, std::span<const Ledger> ledgers);

}  // namespace sonde::shim
