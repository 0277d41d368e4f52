#pragma once
// The console's store of figures, fed with opened snapshots from many bases.
//
// Every figure has a key: (base, family, window kind, window start, its dimensions), e.g.
// (0310001A, value, hour, 1795510800, event message_sent, level 3). For each key the store
// keeps the figure from the snapshot with the highest version (sequence, segment_generation),
// ties broken by the figure itself. The store is the maximum, under one total order, of
// everything ingested, so it is idempotent by construction: ingesting a snapshot twice, or
// overlapping snapshots in any order, gives the same store.
//
// Why this rule is right: a figure is cumulative within its window, so a closed window's
// figure is final (every later snapshot repeats it) and an open window's figure is only ever
// superseded by a later reading. "Later" is the sequence: it is strictly increasing per base
// across segment incarnations (the envelope's replay check relies on it), whereas the
// segment generation is a random identity (shm::Header::generation) that orders nothing; it
// only separates two snapshots that would wrongly share a sequence.
//
// A snapshot omits nothing it once sent for an open window (a builder sends a figure that went
// back to zero, or a suppressed one, rather than dropping it): a dropped key keeps its last value.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sonde_snapshot.pb.h"

namespace sonde::snapshot {

// Not thread-safe: one ingesting thread, or a lock around it.
class IngestStore {
  public:
    struct Stats {
        size_t inserted = 0;  // new keys
        size_t replaced = 0;  // keys whose figure this snapshot superseded
        size_t kept = 0;      // keys where the stored figure won (older or equal snapshot)
        size_t invalid = 0;   // figures refused: out-of-range catalogue numbers, bad windows
    };

    // The snapshot must have passed open_snapshot (authentic, this catalogue). Figures with
    // numbers outside the catalogue are skipped and counted, never stored.
    Stats ingest(const v1::Snapshot &snapshot);

    // The whole store as JSON, keys and arrays in a fixed order (the store's key order), so
    // equal stores render to equal text.
    std::string render_json(int indent = 2) const;

    size_t figure_count() const { return figures_.size(); }

    // Read access for checks and summaries: every stored figure, in the store's key order.
    enum class Family : uint8_t { Level, Gauge, Value, Distinct, Distribution };
    struct FigureView {
        const std::string &base;
        Family family;
        uint32_t window_kind;  // v1::WindowKind; 0 for levels and gauges
        int64_t window_start;
        uint32_t window_number;
        const std::vector<uint32_t> &dims;  // per family, see ingest.cc
        int64_t value;                      // users for Distinct
        bool suppressed;
        bool rounded;      // privacy rule 2: rounded toward zero to a multiple of k (incomplete)
        int64_t set_unix;  // gauges
        const std::vector<uint32_t> &bin_low;   // distributions
        const std::vector<uint64_t> &students;  // distributions
        uint64_t sequence;                      // of the snapshot the figure comes from
    };
    void visit(const std::function<void(const FigureView &)> &fn) const;

    // How a reader combines the figures of one key kept apart per segment generation (a new
    // segment after a corrupt one counts from zero, docs/snapshot.md): a count within a window
    // (Value: the catalogue's event, tally and connection measures) is the sum of the
    // generations' counts; distinct users and per-student distributions are not additive (one
    // user or student may be in both), so a window spanning generations is only partly known;
    // levels and gauges are states, the newest reading stands. The console's view
    // window_figures reads this (docs/delivery.md#the-ingestor).
    enum class Across : uint8_t { Sum, Partial, Latest };
    static constexpr Family kFamilies[] = {Family::Level, Family::Gauge, Family::Value,
                                           Family::Distinct, Family::Distribution};
    static constexpr Across across_generations(Family f) {
        switch (f) {
            case Family::Value:
                return Across::Sum;
            case Family::Distinct:
            case Family::Distribution:
                return Across::Partial;
            case Family::Level:
            case Family::Gauge:
                return Across::Latest;
        }
        return Across::Latest;
    }
    static constexpr const char *family_name(Family f) {
        constexpr const char *kNames[] = {"level", "gauge", "value", "distinct", "distribution"};
        return kNames[size_t(f)];
    }

    // The complete hours of a base's segment generation, as merged [start, end) intervals in
    // order (see Coverage in sonde_snapshot.proto).
    std::vector<std::pair<int64_t, int64_t>> covered_hours(const std::string &base,
                                                           uint64_t generation) const;

  private:
    struct Key {
        std::string base;
        Family family;
        uint32_t window_kind;  // 0 for levels and gauges
        int64_t window_start;
        std::vector<uint32_t> dims;  // per family, see ingest.cc
        auto operator<=>(const Key &) const = default;
    };
    struct Version {
        uint64_t sequence = 0;
        uint64_t generation = 0;
        auto operator<=>(const Version &) const = default;
    };
    struct Figure {
        int64_t value = 0;
        bool suppressed = false;
        bool rounded = false;
        uint32_t window_number = 0;
        int64_t set_unix = 0;
        std::vector<uint32_t> bin_low{};
        std::vector<uint64_t> students{};
        std::string label{};
        auto operator<=>(const Figure &) const = default;
    };
    struct Stored {
        Version version;
        Figure figure;
        auto operator<=>(const Stored &) const = default;
    };
    // What the latest snapshot of a base said about itself.
    struct BaseInfo {
        Version version;
        uint64_t schema_hash = 0;
        std::string catalog_version{}, timezone{};
        uint32_t product = 0;
        int64_t created_unix = 0;
        uint32_t k_anonymity = 0;
        bool include_school_only = false;
        uint32_t privacy_rule = 0;
        std::vector<std::array<uint32_t, 3>> suppressed{};  // indicator, reason, count
        bool has_coverage = false;                          // absent from older snapshots
        int64_t hours_from = 0, hours_to = 0;
        bool restart = false;
        auto operator<=>(const BaseInfo &) const = default;
    };

    void upsert(Key key, const Version &version, Figure figure, Stats &stats);

    std::map<Key, Stored> figures_;
    std::map<std::string, BaseInfo> bases_;
    // Hours known complete per (base, segment generation): the union of the snapshots'
    // coverage [hours_from, hours_to), as start -> end of disjoint, non-touching intervals.
    // A hole between two intervals is a gap (a snapshot not received, or hours the latch ring
    // no longer held). A union: idempotent and independent of the order of ingestion.
    std::map<std::pair<std::string, uint64_t>, std::map<int64_t, int64_t>> coverage_;
};

}  // namespace sonde::snapshot
