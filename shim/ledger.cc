#include "ledger.hpp"

#include "shm/layout.hpp"

namespace sonde::shim {

size_t LedgerShape::mask_offset() const { return shm::align_up(sizeof(LedgerHeader), 64); }
size_t LedgerShape::tally_offset() const {
    return shm::align_up(mask_offset() + size_t(days) * users * sizeof(uint64_t), 64);
}
size_t LedgerShape::bytes() const {
    return shm::align_up(
        tally_offset() + size_t(school_years) * students * catalog::kTallySlots * sizeof(int32_t),
        64);
}

void Ledger::on_connection(uint32_t day, uint32_t user, uint32_t cell) const {
    LedgerHeader &h = head();
    h.cells[cell] += 1;
    mask(day, user) |= uint64_t{1} << cell;
    ++h.connections;
    ++h.calls_ok;
}

void Ledger::on_count(uint32_t cell, int64_t delta) const {
    LedgerHeader &h = head();
    h.cells[cell] += delta;
    ++h.count_calls;
    h.count_units += delta;
    ++h.calls_ok;
}

void Ledger::on_student(uint32_t year_slot, uint32_t student, uint32_t tally_id, uint32_t cell,
                        int64_t delta) const {
    LedgerHeader &h = head();
    h.cells[cell] += delta;
    const int32_t slot = catalog::kTallies[tally_id].slot;
    if (slot >= 0) tally(year_slot, student, uint32_t(slot)) += int32_t(delta);
    ++h.student_calls;
    ++h.calls_ok;
}

void Ledger::on_gauge(uint32_t cell, int64_t value, int64_t clock) const {
    LedgerHeader &h = head();
    h.gauges[cell] = {int32_t(value), uint32_t(clock), 1, 0};
    ++h.gauge_sets;
    ++h.calls_ok;
}

void Ledger::on_failure(uint32_t kind, int status) const {
    LedgerHeader &h = head();
    if (h.calls_failed++ == 0) {
        h.first_failure_status = status;
        h.first_failure_kind = kind + 1;
    }
}

}  // namespace sonde::shim
