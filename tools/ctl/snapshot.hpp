#pragma once
// Everything `sonde-ctl dump` shows, read once from a segment into plain values, so that the
// three formatters (table, JSON, OpenMetrics) present the same figures and can be tested
// without a segment.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog_layout.hpp"
#include "catalog_lookup.hpp"
#include "reader/view.hpp"
#include "time/calendar.hpp"

namespace sonde::ctl {

struct LevelValue {
    uint32_t level;  // slot; its display name is Snapshot::level_names[level]
    int64_t value;
    uint32_t set_unix = 0;  // gauges only
};

// One source measure of a counter or gauge indicator (messages = message_sent + received).
struct MeasureReading {
    MeasureRef ref;
    std::optional<int64_t> total;    // gauges: nullopt while no level was ever set
    uint32_t set_unix = 0;           // gauges: latest set time over the levels
    std::vector<LevelValue> levels;  // per-level measures only
};

// Distinct users of one window: the open one and the one that just closed.
struct WindowCounts {
    uint32_t current_number = 0, previous_number = 0;
    uint64_t current = 0, previous = 0;
};

inline constexpr const char *kWindowNames[shm::kWindows] = {"day", "month", "school_year"};

struct DistributionReading {
    uint32_t school_year = 0;
    std::vector<std::string> bin_labels;
    std::vector<uint64_t> total;                                     // per bin
    std::vector<std::pair<uint32_t, std::vector<uint64_t>>> levels;  // (level, per bin)
};

struct IndicatorReading {
    const catalog::Indicator *def = nullptr;
    // The headline figure; nullopt when nothing was recorded (unset gauges) or it cannot be
    // computed (ratio over zero, referential tables).
    std::optional<int64_t> value;
    std::optional<double> percent;   // ratios: 0..100, rounded to one decimal
    std::vector<LevelValue> levels;  // per-level breakdown of `value`
    std::vector<MeasureReading> measures;
    std::optional<Selector> selector;                   // connection-based
    std::array<WindowCounts, shm::kWindows> windows{};  // distinct
    std::optional<DistributionReading> distribution;    // distribution
    std::optional<Derivation> derivation;               // derived
    std::optional<int64_t> numerator, denominator;      // ratio
    std::string note;                                   // referential
};

struct SnapshotOptions {
    int64_t at = 0;  // unix seconds: which day / month / school year is "current"
    std::string timezone = "Europe/Paris";
    time::SchoolYearStart school_year_start{};
};

struct Snapshot {
    std::string base;
    uint32_t product = 0;
    uint64_t schema_hash = 0, generation = 0;
    SnapshotOptions options;
    time::CalendarStamps stamps{};

    std::array<std::string, catalog::kLevelSlots> level_names;  // unique display names
    std::array<bool, catalog::kLevelSlots> level_declared{};

    std::vector<IndicatorReading> indicators;  // catalogue order
    std::array<int64_t, catalog::kConnectionCells> connections{};

    std::array<uint64_t, uint32_t(shm::Diag::Count_)> diagnostics{};
    uint32_t rows_leased = 0, rows_total = 0;
    uint32_t users_used = 0, users_capacity = 0;
    uint32_t students_used = 0, students_capacity = 0;
};

// tz must be the zone named in options.timezone.
Snapshot take_snapshot(const reader::SegmentView &view, const time::TimeZone &tz,
                       const SnapshotOptions &options);

}  // namespace sonde::ctl
