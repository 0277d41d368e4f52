#include "snapshot/ingest.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "catalog_layout.hpp"
#include "snapshot/envelope.hpp"

namespace sonde::snapshot {
namespace {

using catalog::kLevelSlots;
using nlohmann::json;

// Key dims per family:
//   Level        {level}
//   Gauge        {gauge, level}
//   Value        {measure_kind, measure_id, level, profile, medium, access}
//   Distinct     {profiles, media, accesses}
//   Distribution {tally, level}

bool in(uint32_t v, uint32_t lo, uint32_t hi) { return v >= lo && v <= hi; }

bool valid_window(const v1::Window &w) {
    return in(uint32_t(w.kind()), v1::WINDOW_KIND_HOUR, v1::WINDOW_KIND_SCHOOL_YEAR);
}

bool valid_value(const v1::Value &v) {
    if (!valid_window(v.window()) || v.level() >= kLevelSlots) return false;
    switch (v.measure_kind()) {
        case v1::MEASURE_KIND_EVENT:
            return in(v.measure_id(), 1, catalog::kEventCount) &&
                   (v.level() == 0 || catalog::kEvents[v.measure_id()].per_level) &&
                   v.profile() == 0 && v.medium() == 0 && v.access() == 0;
        case v1::MEASURE_KIND_TALLY:
            return in(v.measure_id(), 1, catalog::kTallyCount) &&
                   (v.level() == 0 || catalog::kTallies[v.measure_id()].per_level) &&
                   v.profile() == 0 && v.medium() == 0 && v.access() == 0;
        case v1::MEASURE_KIND_CONNECTION:
            // One combination, or all of them (0, 0, 0: the hour and day series' total).
            return v.measure_id() == 1 && v.level() == 0 &&
                   ((in(v.profile(), 1, catalog::kProfiles) && in(v.medium(), 1, catalog::kMedia) &&
                     in(v.access(), 1, catalog::kAccesses)) ||
                    (v.profile() == 0 && v.medium() == 0 && v.access() == 0));
        default:
            return false;
    }
}

bool valid_mask(uint32_t mask, uint32_t values) {
    return mask != 0 && mask < (uint32_t{1} << values);
}

bool valid_distinct(const v1::Distinct &d) {
    return valid_window(d.window()) && d.window().kind() != v1::WINDOW_KIND_HOUR &&
           valid_mask(d.profiles(), catalog::kProfiles) && valid_mask(d.media(), catalog::kMedia) &&
           valid_mask(d.accesses(), catalog::kAccesses);
}

bool valid_distribution(const v1::Distribution &d) {
    return d.window().kind() == v1::WINDOW_KIND_SCHOOL_YEAR &&
           in(d.tally(), 1, catalog::kTallyCount) && d.level() < kLevelSlots &&
           d.bin_low_size() <= 16 &&
           (d.students_size() == d.bin_low_size() || (d.suppressed() && d.students_size() == 0));
}

bool valid_gauge(const v1::Gauge &g) {
    return in(g.gauge(), 1, catalog::kGaugeCount) && g.level() < kLevelSlots &&
           (g.level() == 0 || catalog::kGauges[g.gauge()].per_level);
}

const char *window_name(uint32_t kind) {
    static constexpr const char *kNames[] = {"unspecified", "hour", "day", "month", "school_year"};
    return kind < 5 ? kNames[kind] : "unknown";
}

json window_json(uint32_t kind, int64_t start, uint32_t number) {
    return {{"kind", window_name(kind)}, {"start_unix", start}, {"number", number}};
}

json measure_json(uint32_t kind, uint32_t id) {
    switch (kind) {
        case v1::MEASURE_KIND_EVENT:
            return {{"kind", "event"}, {"id", id}, {"key", catalog::kEvents[id].key}};
        case v1::MEASURE_KIND_TALLY:
            return {{"kind", "tally"}, {"id", id}, {"key", catalog::kTallies[id].key}};
        default:
            return {{"kind", "connection"}, {"id", id}, {"key", "connections"}};
    }
}

template <size_t N>
json mask_json(uint32_t mask, const catalog::DimValue (&values)[N]) {
    json keys = json::array();
    for (uint32_t v = 1; v < N; ++v)
        if (mask & value_bit(v)) keys.push_back(values[v].key);
    return keys;
}

std::string hex64(uint64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%016llX", static_cast<unsigned long long>(v));
    return text;
}

}  // namespace

void IngestStore::upsert(Key key, const Version &version, Figure figure, Stats &stats) {
    Stored candidate{version, std::move(figure)};
    auto [it, inserted] = figures_.try_emplace(std::move(key), candidate);
    if (inserted) {
        ++stats.inserted;
    } else if (candidate > it->second) {
        it->second = std::move(candidate);
        ++stats.replaced;
    } else {
        ++stats.kept;
    }
}

IngestStore::Stats IngestStore::ingest(const v1::Snapshot &s) {
    Stats stats;
    const std::string &base = s.base_id();
    if (!valid_base_id(base)) {
        stats.invalid = size_t(s.levels_size() + s.gauges_size() + s.values_size() +
                               s.distinct_size() + s.distributions_size());
        return stats;
    }
    const Version version{s.sequence(), s.segment_generation()};

    BaseInfo info{.version = version,
                  .schema_hash = s.schema_hash(),
                  .catalog_version = s.catalog_version(),
                  .timezone = s.timezone(),
                  .product = s.product(),
                  .created_unix = s.created_unix(),
                  .k_anonymity = s.policy().k_anonymity(),
                  .include_school_only = s.policy().include_school_only(),
                  .privacy_rule = s.policy().privacy_rule()};
    for (const v1::Suppressed &x : s.suppressed())
        info.suppressed.push_back({x.indicator_id(), uint32_t(x.reason()), x.count()});
    std::sort(info.suppressed.begin(), info.suppressed.end());
    if (s.has_coverage()) {
        const v1::Coverage &c = s.coverage();
        info.has_coverage = true;
        info.hours_from = c.hours_from();
        info.hours_to = c.hours_to();
        info.restart = c.restart();
        if (c.hours_from() < c.hours_to()) {
            // Union with the intervals it touches or overlaps.
            std::map<int64_t, int64_t> &spans = coverage_[{base, version.generation}];
            int64_t from = c.hours_from(), to = c.hours_to();
            auto it = spans.upper_bound(from);
            if (it != spans.begin() && std::prev(it)->second >= from) --it;
            while (it != spans.end() && it->first <= to) {
                from = std::min(from, it->first);
                to = std::max(to, it->second);
                it = spans.erase(it);
            }
            spans.emplace(from, to);
        }
    }
    auto [base_it, new_base] = bases_.try_emplace(base, info);
    if (!new_base && info > base_it->second) base_it->second = std::move(info);

    for (const v1::LevelLabel &l : s.levels()) {
        if (l.level() >= kLevelSlots) {
            ++stats.invalid;
            continue;
        }
        upsert({base, Family::Level, 0, 0, {l.level()}}, version, {.label = l.label()}, stats);
    }
    for (const v1::Gauge &g : s.gauges()) {
        if (!valid_gauge(g)) {
            ++stats.invalid;
            continue;
        }
        upsert({base, Family::Gauge, 0, 0, {g.gauge(), g.level()}}, version,
               {.value = g.value(),
                .suppressed = g.suppressed(),
                .rounded = g.rounded(),
                .set_unix = g.set_unix()},
               stats);
    }
    for (const v1::Value &v : s.values()) {
        if (!valid_value(v)) {
            ++stats.invalid;
            continue;
        }
        const v1::Window &w = v.window();
        upsert({base,
                Family::Value,
                uint32_t(w.kind()),
                w.start_unix(),
                {uint32_t(v.measure_kind()), v.measure_id(), v.level(), v.profile(), v.medium(),
                 v.access()}},
               version,
               {.value = v.value(),
                .suppressed = v.suppressed(),
                .rounded = v.rounded(),
                .window_number = w.number()},
               stats);
    }
    for (const v1::Distinct &d : s.distinct()) {
        if (!valid_distinct(d)) {
            ++stats.invalid;
            continue;
        }
        const v1::Window &w = d.window();
        // users is a uint64 on the wire; a count above INT64_MAX is not a count.
        upsert({base,
                Family::Distinct,
                uint32_t(w.kind()),
                w.start_unix(),
                {d.profiles(), d.media(), d.accesses()}},
               version,
               {.value = static_cast<int64_t>(std::min<uint64_t>(d.users(), INT64_MAX)),
                .suppressed = d.suppressed(),
                .window_number = w.number()},
               stats);
    }
    for (const v1::Distribution &d : s.distributions()) {
        if (!valid_distribution(d)) {
            ++stats.invalid;
            continue;
        }
        const v1::Window &w = d.window();
        upsert({base,
                Family::Distribution,
                uint32_t(w.kind()),
                w.start_unix(),
                {d.tally(), d.level()}},
               version,
               {.suppressed = d.suppressed(),
                .rounded = d.rounded(),
                .window_number = w.number(),
                .bin_low = {d.bin_low().begin(), d.bin_low().end()},
                .students = {d.students().begin(), d.students().end()}},
               stats);
    }
    return stats;
}

void IngestStore::visit(const std::function<void(const FigureView &)> &fn) const {
    for (const auto &[key, stored] : figures_) {
        const Figure &f = stored.figure;
        fn({key.base, key.family, key.window_kind, key.window_start, f.window_number, key.dims,
            f.value, f.suppressed, f.rounded, f.set_unix, f.bin_low, f.students,
            stored.version.sequence});
    }
}

std::vector<std::pair<int64_t, int64_t>> IngestStore::covered_hours(const std::string &base,
                                                                    uint64_t generation) const {
    std::vector<std::pair<int64_t, int64_t>> out;
    const auto it = coverage_.find({base, generation});
    if (it != coverage_.end())
        for (const auto &[from, to] : it->second) out.emplace_back(from, to);
    return out;
}

std::string IngestStore::render_json(int indent) const {
    json root = json::object();
    json &bases = root["bases"] = json::object();
    // Per segment generation, the complete hours as [from, to) intervals: a hole is a gap.
    const auto coverage_json = [&](const std::string &base) {
        json out = json::array();
        for (auto it = coverage_.lower_bound({base, 0});
             it != coverage_.end() && it->first.first == base; ++it) {
            json hours = json::array();
            for (const auto &[from, to] : it->second) hours.push_back({from, to});
            out.push_back({{"segment_generation", hex64(it->first.second)}, {"hours", hours}});
        }
        return out;
    };
    for (const auto &[base, info] : bases_) {
        json suppressed = json::array();
        for (const auto &[indicator, reason, count] : info.suppressed)
            suppressed.push_back({{"indicator_id", indicator},
                                  {"reason", reason == 1   ? "k_anonymity"
                                             : reason == 2 ? "school_only"
                                                           : "unspecified"},
                                  {"count", count}});
        bases[base] = {{"snapshot",
                        {{"sequence", info.version.sequence},
                         {"segment_generation", hex64(info.version.generation)},
                         {"created_unix", info.created_unix},
                         {"schema_hash", hex64(info.schema_hash)},
                         {"catalog_version", info.catalog_version},
                         {"product", info.product},
                         {"timezone", info.timezone},
                         {"policy",
                          {{"k_anonymity", info.k_anonymity},
                           {"include_school_only", info.include_school_only},
                           {"privacy_rule", info.privacy_rule}}},
                         {"suppressed", suppressed},
                         {"coverage", info.has_coverage ? json{{"hours_from", info.hours_from},
                                                               {"hours_to", info.hours_to},
                                                               {"restart", info.restart}}
                                                        : json(nullptr)}}},
                       {"coverage", coverage_json(base)},
                       {"levels", json::array()},
                       {"gauges", json::array()},
                       {"values", json::array()},
                       {"distinct", json::array()},
                       {"distributions", json::array()}};
    }
    for (const auto &[key, stored] : figures_) {
        json &b = bases[key.base];
        const Figure &f = stored.figure;
        const auto &d = key.dims;
        json item;
        switch (key.family) {
            case Family::Level:
                item = {{"level", d[0]}, {"label", f.label}};
                break;
            case Family::Gauge:
                item = {{"gauge", {{"id", d[0]}, {"key", catalog::kGauges[d[0]].key}}},
                        {"level", d[1]},
                        {"value", f.value},
                        {"set_unix", f.set_unix}};
                break;
            case Family::Value:
                item = {{"window", window_json(key.window_kind, key.window_start, f.window_number)},
                        {"measure", measure_json(d[0], d[1])},
                        {"level", d[2]},
                        {"value", f.value}};
                if (d[0] == v1::MEASURE_KIND_CONNECTION && d[3] == 0)
                    item["connection"] = {{"profile", "all"}, {"medium", "all"}, {"access", "all"}};
                else if (d[0] == v1::MEASURE_KIND_CONNECTION)
                    item["connection"] = {{"profile", catalog::kProfileValues[d[3]].key},
                                          {"medium", catalog::kMediumValues[d[4]].key},
                                          {"access", catalog::kAccessValues[d[5]].key}};
                break;
            case Family::Distinct:
                item = {{"window", window_json(key.window_kind, key.window_start, f.window_number)},
                        {"profiles", mask_json(d[0], catalog::kProfileValues)},
                        {"media", mask_json(d[1], catalog::kMediumValues)},
                        {"accesses", mask_json(d[2], catalog::kAccessValues)},
                        {"users", f.value}};
                break;
            case Family::Distribution:
                item = {{"window", window_json(key.window_kind, key.window_start, f.window_number)},
                        {"tally", {{"id", d[0]}, {"key", catalog::kTallies[d[0]].key}}},
                        {"level", d[1]},
                        {"bin_low", f.bin_low},
                        {"students", f.students}};
                break;
        }
        if (key.family != Family::Level) item["suppressed"] = f.suppressed;
        if (f.rounded) item["rounded"] = true;  // privacy rule 2: incomplete by up to k-1
        item["sequence"] = stored.version.sequence;
        static constexpr const char *kArrays[] = {"levels", "gauges", "values", "distinct",
                                                  "distributions"};
        b[kArrays[size_t(key.family)]].push_back(std::move(item));
    }
    return root.dump(indent);
}

}  // namespace sonde::snapshot
