#include "expectation.hpp"

namespace sonde::shim {

uint64_t count_users(const std::vector<uint64_t> &masks, uint64_t mask) {
    uint64_t n = 0;
    for (uint64_t m : masks) n += (m & mask) != 0;
    return n;
}

std::vector<int64_t> merge_cells(std::span<const Ledger> ledgers) {
    std::vector<int64_t> out(catalog::kCounterCells, 0);
    for (const Ledger &l : ledgers)
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c) out[c] += l.head().cells[c];
    return out;
}

std::vector<uint64_t> merge_day_masks(std::span<const Ledger> ledgers, uint32_t day) {
    std::vector<uint64_t> out(ledgers.empty() ? 0 : ledgers[0].shape().users, 0);
    for (const Ledger &l : ledgers)
        for (uint32_t u = 0; u < out.size(); ++u) out[u] |= l.mask(day, u);
    return out;
}

uint64_t Expectation::distinct(std::span<const uint32_t> days, uint64_t mask) const {
    if (day_masks.empty()) return 0;
    uint64_t n = 0;
    for (size_t u = 0; u < day_masks[0].size(); ++u) {
        uint64_t m = 0;
        for (uint32_t d : days) m |= day_masks[d][u];
        n += (m & mask) != 0;
    }
    return n;
}

Expectation merge_ledgers(const School &school, std::span<const Ledger> ledgers) {
    static constexpr const char *kKinds[] = {"none", "connection", "count", "student", "gauge_set"};
    Expectation e;
    e.cells.assign(catalog::kCounterCells, 0);
    e.gauges.assign(catalog::kGaugeCells, GaugeRecord{});
    e.labels.assign(catalog::kLevelSlots, "");
    const LedgerShape &shape = ledgers[0].shape();
    for (uint32_t d = 0; d < shape.days; ++d) e.day_masks.push_back(merge_day_masks(ledgers, d));
    e.tallies.assign(shape.school_years,
                     std::vector<StudentTallies>(shape.students, StudentTallies{}));

    for (size_t p = 0; p < ledgers.size(); ++p) {
        const Ledger &l = ledgers[p];
        const LedgerHeader &h = l.head();
        for (uint32_t c = 0; c < catalog::kCounterCells; ++c) e.cells[c] += h.cells[c];
        for (uint32_t g = 0; g < catalog::kGaugeCells; ++g)
            if (h.gauges[g].set) e.gauges[g] = h.gauges[g];  // one process sets gauges
        for (const ClassLevel &level : school.levels)
            if (h.labels_declared & (1u << level.slot)) e.labels[level.slot] = level.label;
        for (uint32_t y = 0; y < shape.school_years; ++y)
            for (uint32_t s = 0; s < shape.students; ++s)
                for (uint32_t k = 0; k < catalog::kTallySlots; ++k)
                    e.tallies[y][s][k] += l.tally(y, s, k);
        e.totals.calls_ok += h.calls_ok;
        e.totals.calls_failed += h.calls_failed;
        e.totals.clock_sets += h.clock_sets;
        e.totals.connections += h.connections;
        e.totals.count_calls += h.count_calls;
        e.totals.count_units += h.count_units;
        e.totals.student_calls += h.student_calls;
        e.totals.gauge_sets += h.gauge_sets;
        if (h.calls_failed)
            e.failures.push_back("process " + std::to_string(p) + ": " +
                                 std::to_string(h.calls_failed) + " calls failed (first: " +
                                 kKinds[h.first_failure_kind < 5 ? h.first_failure_kind : 0] +
                                 " -> status " + std::to_string(h.first_failure_status) + ")");
    }
    return e;
}

}  // namespace sonde::shim
