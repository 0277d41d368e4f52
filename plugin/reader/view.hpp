#pragma once
// A read-only view of a live segment, for the operator tool, the shim's oracle checks and the
// tests. Like varnishstat, it maps the segment PROT_READ and never writes.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog_layout.hpp"
#include "shm/segment.hpp"

namespace sonde::reader {

struct GaugeValue {
    bool set = false;
    int32_t value = 0;
    uint32_t set_unix = 0;
};

// Students per bin of a distribution, by level; bin 0 ("no event this school year") is
// completed from the enrolment gauge: enrolled - students with an entry in a nonzero bin.
struct Distribution {
    uint32_t bin_count = 0;
    std::array<uint32_t, 6> bin_low{};
    // [level][bin]; level 0 = unspecified
    std::vector<std::array<uint64_t, 6>> per_level;
    std::array<uint64_t, 6> total{};
};

struct Calendar {
    uint32_t day, month, school_year;  // the numbers stored in the tables (see calendar.hpp)
};

class SegmentView {
  public:
    // ReadWrite only for the shipper, which writes the latches; every other user reads.
    static std::optional<SegmentView> open(const std::string &path, std::string *error,
                                           shm::Access access = shm::Access::ReadOnly);

    const shm::Header &header() const { return mapping_.header(); }
    const shm::Mapping &mapping() const { return mapping_; }
    const std::string &path() const { return mapping_.path(); }

    // Sum of a counter cell over every row plus the shared row.
    int64_t cell(uint32_t index) const;
    std::vector<int64_t> cells() const;
    int64_t event(uint32_t event, int level = -1) const;  // level -1: all levels
    int64_t tally_counter(uint32_t tally, int level = -1) const;
    int64_t connections(uint32_t profile, uint32_t medium, uint32_t access) const;

    GaugeValue gauge(uint32_t gauge, uint32_t level = 0) const;

    // Distinct users of a window (day, month, school year) whose connections include at least
    // one combination in `mask` (bit = catalog::connection_cell). Exact.
    uint64_t distinct(shm::Window window, uint32_t number, uint64_t mask) const;
    // Distinct users per single combination.
    std::array<uint64_t, catalog::kConnectionCells> distinct_per_cell(shm::Window window,
                                                                      uint32_t number) const;

    // Users of a window grouped by the exact set of combinations they used: (mask, users).
    // Any selection is then a sum over a few hundred groups instead of a table scan.
    std::vector<std::pair<uint64_t, uint64_t>> mask_histogram(shm::Window window,
                                                              uint32_t number) const;

    Distribution distribution(uint32_t tally, uint32_t school_year) const;

    std::string level_label(uint32_t level) const;  // empty if undeclared or being updated
    uint64_t diag(shm::Diag what) const;
    uint32_t rows_leased() const;
    uint32_t users_used() const;
    uint32_t students_used() const;

  private:
    explicit SegmentView(shm::Mapping m) : mapping_(std::move(m)) {}
    shm::Mapping mapping_;
};

// Mask of connection cells matching a selection; 0 in a field = any value.
uint64_t connection_mask(uint32_t profile, uint32_t medium, uint32_t access);

}  // namespace sonde::reader
