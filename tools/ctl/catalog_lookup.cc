#include "catalog_lookup.hpp"

#include <charconv>
#include <cstring>

#include "reader/view.hpp"

namespace sonde::ctl {
namespace {

template <size_t N>
int dim_value(const catalog::DimValue (&values)[N], std::string_view key) {
    for (size_t i = 1; i < N; ++i)
        if (key == values[i].key) return int(i);
    return -1;
}

// "medium=web|mobile" into the allowed values of that dimension.
template <size_t N, size_t M>
bool restrict(const catalog::DimValue (&values)[N], std::array<bool, M> &allowed,
              std::string_view list) {
    static_assert(N == M);
    allowed.fill(false);
    while (true) {
        const size_t bar = list.find('|');
        const int v = dim_value(values, list.substr(0, bar));
        if (v < 0) return false;
        allowed[size_t(v)] = true;
        if (bar == std::string_view::npos) return true;
        list.remove_prefix(bar + 1);
    }
}

}  // namespace

std::optional<MeasureRef> find_measure(std::string_view key) {
    for (uint32_t i = 1; i <= catalog::kEventCount; ++i)
        if (key == catalog::kEvents[i].key)
            return MeasureRef{MeasureKind::Event, i, catalog::kEvents[i].per_level,
                              catalog::kEvents[i].key};
    for (uint32_t i = 1; i <= catalog::kGaugeCount; ++i)
        if (key == catalog::kGauges[i].key)
            return MeasureRef{MeasureKind::Gauge, i, catalog::kGauges[i].per_level,
                              catalog::kGauges[i].key};
    for (uint32_t i = 1; i <= catalog::kTallyCount; ++i)
        if (key == catalog::kTallies[i].key)
            return MeasureRef{MeasureKind::Tally, i, catalog::kTallies[i].per_level,
                              catalog::kTallies[i].key};
    return std::nullopt;
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    size_t at = 0;
    while (at < text.size()) {
        const size_t end = std::min(text.find(' ', at), text.size());
        if (end > at) words.emplace_back(text.substr(at, end - at));
        at = end + 1;
    }
    return words;
}

uint64_t Selector::mask() const {
    uint64_t mask = 0;
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                if (selects(p, m, a)) mask |= reader::connection_mask(p, m, a);
    return mask;
}

std::optional<Selector> parse_selector(std::string_view text) {
    Selector s;
    s.text = std::string(text);
    std::string_view body;
    for (auto [prefix, distinct] :
         {std::pair{"connections[", false}, std::pair{"connected_users[", true}}) {
        const std::string_view p = prefix;
        if (text.size() > p.size() && text.substr(0, p.size()) == p && text.back() == ']') {
            body = text.substr(p.size(), text.size() - p.size() - 1);
            s.distinct = distinct;
            break;
        }
        if (distinct) return std::nullopt;
    }
    s.profiles.fill(true);
    s.media.fill(true);
    s.accesses.fill(true);
    while (!body.empty()) {
        const size_t comma = body.find(',');
        const std::string_view clause = body.substr(0, comma);
        const size_t eq = clause.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const std::string_view dim = clause.substr(0, eq), values = clause.substr(eq + 1);
        bool ok = false;
        if (dim == "profile")
            ok = restrict(catalog::kProfileValues, s.profiles, values);
        else if (dim == "medium")
            ok = restrict(catalog::kMediumValues, s.media, values);
        else if (dim == "access")
            ok = restrict(catalog::kAccessValues, s.accesses, values);
        if (!ok) return std::nullopt;
        if (comma == std::string_view::npos) break;
        body.remove_prefix(comma + 1);
    }
    return s;
}

std::optional<Derivation> parse_derivation(std::string_view text) {
    auto strip = [&](std::string_view name) {
        if (text.size() < name.size() + 2 || text.substr(0, name.size()) != name ||
            text[name.size()] != '(' || text.back() != ')')
            return false;
        text = text.substr(name.size() + 1, text.size() - name.size() - 2);
        return true;
    };
    Derivation d{};
    if (strip("ratio")) {
        const size_t split = text.find("],");
        if (split == std::string_view::npos) return std::nullopt;
        d.op = Derivation::Op::Ratio;
        d.num = parse_selector(text.substr(0, split + 1));
        d.den = parse_selector(text.substr(split + 2));
        if (!d.num || !d.den) return std::nullopt;
        return d;
    }
    if (strip("sum"))
        d.op = Derivation::Op::Sum;
    else if (strip("referential"))
        d.op = Derivation::Op::Referential;
    else
        return std::nullopt;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string_view item = text.substr(0, comma);
        uint16_t id = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (ec != std::errc{} || ptr != item.data() + item.size()) return std::nullopt;
        d.refs.push_back(id);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return d;
}

std::string bin_label(const uint32_t *bin_low, uint32_t bin_count, uint32_t b) {
    if (b + 1 >= bin_count) return std::to_string(bin_low[b]) + "+";
    const uint32_t high = bin_low[b + 1] - 1;
    if (high == bin_low[b]) return std::to_string(high);
    return std::to_string(bin_low[b]) + "-" + std::to_string(high);
}

const char *kind_name(catalog::IndicatorKind kind) {
    switch (kind) {
        case catalog::IndicatorKind::Counter:
            return "counter";
        case catalog::IndicatorKind::Gauge:
            return "gauge";
        case catalog::IndicatorKind::Distinct:
            return "distinct";
        case catalog::IndicatorKind::Distribution:
            return "distribution";
        case catalog::IndicatorKind::Derived:
            return "derived";
    }
    return "?";
}

const char *audience_name(catalog::Audience audience) {
    return audience == catalog::Audience::SchoolOnly ? "school_only" : "authority";
}

const char *product_name(uint32_t product) {
    switch (product) {
        case SONDE_PRODUCT_PRONOTE:
            return "pronote";
        case SONDE_PRODUCT_EDT:
            return "edt";
        default:
            return "unknown";
    }
}

const char *diag_name(shm::Diag what) {
    switch (what) {
        case shm::Diag::NullArgument:
            return "null_argument";
        case shm::Diag::OutOfRange:
            return "out_of_range";
        case shm::Diag::BadStructSize:
            return "bad_struct_size";
        case shm::Diag::BadArgument:
            return "bad_argument";
        case shm::Diag::BadHandle:
            return "bad_handle";
        case shm::Diag::DisabledCalls:
            return "disabled_calls";
        case shm::Diag::SharedRowWriters:
            return "shared_row_writers";
        case shm::Diag::RowsReclaimed:
            return "rows_reclaimed";
        case shm::Diag::UsersTableFull:
            return "users_table_full";
        case shm::Diag::StudentsTableFull:
            return "students_table_full";
        case shm::Diag::ConfigErrors:
            return "config_errors";
        case shm::Diag::ConfigReloads:
            return "config_reloads";
        case shm::Diag::SegmentsReplaced:
            return "segments_replaced";
        case shm::Diag::SnapshotsWritten:
            return "snapshots_written";
        case shm::Diag::SnapshotErrors:
            return "snapshot_errors";
        case shm::Diag::SegmentReboots:
            return "segment_reboots";
        case shm::Diag::SegmentsRecovered:
            return "segments_recovered";
        case shm::Diag::EntriesReclaimed:
            return "entries_reclaimed";
        case shm::Diag::SegmentsRefused:
            return "segments_refused";
        case shm::Diag::TimezoneDisagreements:
            return "timezone_disagreements";
        case shm::Diag::SpoolMerges:
            return "spool_merges";
        case shm::Diag::ForeignThreadCalls:
            return "foreign_thread_calls";
        case shm::Diag::Count_:
            break;
    }
    return "unknown";
}

const catalog::Indicator *find_indicator(uint16_t id) {
    for (const catalog::Indicator &ind : catalog::kIndicators)
        if (ind.id == id) return &ind;
    return nullptr;
}

bool measures_split_a_dimension(const catalog::Indicator &ind) {
    std::string_view dims = ind.dimensions;
    while (!dims.empty()) {
        const size_t comma = dims.find(',');
        const std::string_view dim = dims.substr(0, comma);
        if (dim != "level" && dim != "school") return true;
        if (comma == std::string_view::npos) break;
        dims.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace sonde::ctl
