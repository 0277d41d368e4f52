#pragma once
// Compares what the oracle expects with what a segment holds, through the operator's
// read-only SegmentView. Every comparison is counted; every difference is a Mismatch.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "expectation.hpp"
#include "reader/view.hpp"
#include "sonde.h"

namespace sonde::shim {

struct Mismatch {
    std::string base, what;
    int64_t expected_low, expected_high, actual;  // expected_low == expected_high: exact
};

class CheckLog {
  public:
    void expect(const std::string &base, const std::string &what, int64_t expected,
                int64_t actual) {
        expect_between(base, what, expected, expected, actual);
    }
    void expect_between(const std::string &base, const std::string &what, int64_t low, int64_t high,
                        int64_t actual);
    // `actual` must be one of `allowed` (e.g. a killed call counted or not); not empty.
    void expect_one_of(const std::string &base, const std::string &what,
                       const std::vector<int64_t> &allowed, int64_t actual);
    uint64_t comparisons() const { return comparisons_; }
    const std::vector<Mismatch> &mismatches() const { return mismatches_; }

  private:
    uint64_t comparisons_ = 0;
    std::vector<Mismatch> mismatches_;
};

std::string describe(const Mismatch &m);

// The selections of connection combinations that distinct users are checked for.
struct NamedMask {
    std::string name;
    uint64_t mask;
};
const std::vector<NamedMask> &user_selections();

// Distinct users of one window (a day, a month or a school year): every selection and every
// single combination. `oracle` = per user, the combinations seen in that window. Returns the
// actual counts per selection, in user_selections() order.
std::vector<uint64_t> check_users(CheckLog &log, const std::string &base,
                                  const std::string &window_name, const reader::SegmentView &view,
                                  shm::Window window, uint32_t number,
                                  const std::vector<uint64_t> &oracle);

void check_counters(CheckLog &log, const std::string &base, const std::vector<int64_t> &expected,
                    const reader::SegmentView &view);
void check_gauges(CheckLog &log, const std::string &base, const Expectation &expected,
                  const reader::SegmentView &view);
void check_labels(CheckLog &log, const std::string &base, const Expectation &expected,
                  const reader::SegmentView &view);

// The oracle's binning of per-student tallies, with bin 0 completed from enrolment like the
// reader does. [level][bin].
std::vector<std::array<uint64_t, 6>> expected_distribution(const School &school,
                                                           const Expectation &expected,
                                                           uint32_t tally, uint32_t year_slot);
void check_distributions(CheckLog &log, const std::string &base, const School &school,
                         const Expectation &expected, std::span<const uint32_t> school_years,
                         const reader::SegmentView &view);

// Misuse counters, full tables and replaced segments must all be zero after a clean replay.
void check_diagnostics(CheckLog &log, const std::string &base, const sonde_diagnostics &d);

}  // namespace sonde::shim
