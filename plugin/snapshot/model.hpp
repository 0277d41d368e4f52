#pragma once
// The snapshot as plain C++ values, mirroring plugin/proto/sonde_snapshot.proto field by field.
//
// Why not the protoc-generated classes: they need the protobuf runtime, and Debian's
// libprotobuf-lite.a uses local-exec TLS (arena.o), which cannot be linked into a shared
// object. The plugin builds snapshots with these structs and wire.hpp encodes them to the
// exact bytes the generated code would produce (tests/snapshot/test_wire.cc checks it); the
// console side decodes with the generated classes.
//
// Numbers are catalogue enum values (sonde_catalog.h); 0 means "not applicable".

#include <cstdint>
#include <string>
#include <vector>

namespace sonde::snapshot {

enum class WindowKind : uint32_t { Unspecified = 0, Hour = 1, Day = 2, Month = 3, SchoolYear = 4 };
enum class MeasureKind : uint32_t { Unspecified = 0, Event = 1, Tally = 2, Connection = 3 };
enum class SuppressionReason : uint32_t { Unspecified = 0, KAnonymity = 1, SchoolOnly = 2 };

// start_unix: UTC instant at which the window opened (its identity); number: the local
// calendar number (hour_index, day, month or school year of time/calendar.hpp).
struct Window {
    WindowKind kind = WindowKind::Unspecified;
    int64_t start_unix = 0;
    uint32_t number = 0;
};

// One counter over one window, cumulative within it: the upsert unit of the console.
struct Value {
    Window window;
    MeasureKind measure_kind = MeasureKind::Unspecified;
    uint32_t measure_id = 0;  // sonde_event / sonde_tally; 1 for connections
    uint32_t level = 0;
    uint32_t profile = 0, medium = 0, access = 0;  // connections only
    int64_t value = 0;
    bool suppressed = false;  // below k: value is 0 and means "hidden"
    bool rounded = false;     // rounded toward zero to a multiple of k (docs/privacy.md)
    bool closed = false;      // builder -> policy only, never encoded: the window had closed
};

struct Gauge {
    uint32_t gauge = 0;
    uint32_t level = 0;
    int64_t value = 0;
    int64_t set_unix = 0;
    bool suppressed = false;
    bool rounded = false;
};

// Selection = profiles x media x accesses, one bit per catalogue value (bit v-1).
inline constexpr uint32_t value_bit(uint32_t v) { return v == 0 ? 0 : uint32_t{1} << (v - 1); }

struct Distinct {
    Window window;
    uint32_t profiles = 0, media = 0, accesses = 0;
    uint64_t users = 0;
    bool suppressed = false;
};

struct Distribution {
    Window window;  // kind SchoolYear
    uint32_t tally = 0;
    uint32_t level = 0;
    std::vector<uint32_t> bin_low;
    std::vector<uint64_t> students;  // one per bin
    bool suppressed = false;
    bool rounded = false;
};

struct LevelLabel {
    uint32_t level = 0;
    std::string label;
};

struct Suppressed {
    uint32_t indicator_id = 0;
    SuppressionReason reason = SuppressionReason::Unspecified;
    uint32_t count = 0;
};

struct Policy {
    uint32_t k_anonymity = 0;
    bool include_school_only = false;
    uint32_t privacy_rule = 0;
};

// Which hours a snapshot completes (see sonde_snapshot.proto, Coverage).
struct Coverage {
    int64_t hours_from = 0;
    int64_t hours_to = 0;
    bool restart = false;
};

struct Snapshot {
    uint64_t schema_hash = 0;
    std::string catalog_version;
    std::string base_id;
    uint32_t product = 0;
    uint64_t segment_generation = 0;
    uint64_t sequence = 0;
    int64_t created_unix = 0;
    std::string timezone;
    std::vector<LevelLabel> levels;
    std::vector<Value> values;
    std::vector<Gauge> gauges;
    std::vector<Distinct> distinct;
    std::vector<Distribution> distributions;
    std::vector<Suppressed> suppressed;
    Policy policy;
    uint32_t segment_boots = 0;  // see sonde_snapshot.proto
    Coverage coverage;
};

}  // namespace sonde::snapshot
