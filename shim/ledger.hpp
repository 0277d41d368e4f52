#pragma once
// The oracle's record of one host process in the week scenario: what it recorded through the
// plugin, call by call, counted only when the call returned SONDE_OK. It lives in the shared
// arena; the driver merges the ledgers of a base into an Expectation (expectation.hpp).

#include <cstddef>
#include <cstdint>

#include "catalog_layout.hpp"

namespace sonde::shim {

struct GaugeRecord {
    int32_t value;
    uint32_t set_unix;  // the plugin clock when it was set
    uint32_t set;       // 0 = never set
    uint32_t pad;
};

struct LedgerHeader {
    int64_t cells[catalog::kCounterCells];  // expected counter totals
    GaugeRecord gauges[catalog::kGaugeCells];
    uint32_t labels_declared;  // bit = level slot declared with level_declare
    uint32_t ready;            // set up (plugin loaded, base open, writer leased)
    uint64_t calls_ok, calls_failed, clock_sets;
    uint64_t connections, count_calls, student_calls, gauge_sets;
    int64_t count_units;  // sum of count() deltas
    int32_t first_failure_status;
    uint32_t first_failure_kind;  // ActionKind + 1, 0 = none
};

// Sizes of the variable parts: user masks per day, student tallies per school year.
struct LedgerShape {
    uint32_t days = 0, users = 0, school_years = 0, students = 0;
    size_t mask_offset() const;
    size_t tally_offset() const;
    size_t bytes() const;  // one ledger, rounded to a cache line
};

class Ledger {
  public:
    Ledger(char *memory, const LedgerShape &shape) : memory_(memory), shape_(shape) {}

    LedgerHeader &head() const { return *reinterpret_cast<LedgerHeader *>(memory_); }
    const LedgerShape &shape() const { return shape_; }
    // Combinations (bit = connection cell) through which `user` connected on day `day`.
    uint64_t &mask(uint32_t day, uint32_t user) const {
        return reinterpret_cast<uint64_t *>(
            memory_ + shape_.mask_offset())[size_t(day) * shape_.users + user];
    }
    // Net tally of a student for a school year, per distribution slot of the catalogue.
    int32_t &tally(uint32_t year_slot, uint32_t student, uint32_t slot) const {
        return reinterpret_cast<int32_t *>(memory_ + shape_.tally_offset())
            [(size_t(year_slot) * shape_.students + student) * catalog::kTallySlots + slot];
    }

    void on_connection(uint32_t day, uint32_t user, uint32_t cell) const;
    void on_count(uint32_t cell, int64_t delta) const;
    void on_student(uint32_t year_slot, uint32_t student, uint32_t tally, uint32_t cell,
                    int64_t delta) const;
    void on_gauge(uint32_t cell, int64_t value, int64_t clock) const;
    void on_failure(uint32_t kind, int status) const;

  private:
    char *memory_;
    LedgerShape shape_;
};

}  // namespace sonde::shim
