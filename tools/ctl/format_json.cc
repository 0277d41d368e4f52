// The machine view of a dump. ordered_json keeps the keys in the order a reader expects.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "formats.hpp"
#include "text.hpp"

namespace sonde::ctl {
namespace {

using Json = nlohmann::ordered_json;

Json counter_levels(const Snapshot &s, const std::vector<LevelValue> &levels) {
    Json j = Json::object();
    for (const LevelValue &lv : levels) j[s.level_names[lv.level]] = lv.value;
    return j;
}

Json gauge_levels(const Snapshot &s, const std::vector<LevelValue> &levels) {
    Json j = Json::object();
    for (const LevelValue &lv : levels)
        j[s.level_names[lv.level]] = {{"value", lv.value}, {"set_at", iso8601_utc(lv.set_unix)}};
    return j;
}

Json optional_int(const std::optional<int64_t> &v) { return v ? Json(*v) : Json(nullptr); }

Json measure_json(const Snapshot &s, const MeasureReading &m) {
    const bool gauge = m.ref.kind == MeasureKind::Gauge;
    Json j = {{"key", m.ref.key}, {"value", optional_int(m.total)}};
    if (gauge) j["set_at"] = m.total ? Json(iso8601_utc(m.set_unix)) : Json(nullptr);
    if (m.ref.per_level)
        j["levels"] = gauge ? gauge_levels(s, m.levels) : counter_levels(s, m.levels);
    return j;
}

Json bins_json(const DistributionReading &d, const std::vector<uint64_t> &bins) {
    Json j = Json::object();
    for (size_t b = 0; b < bins.size(); ++b) j[d.bin_labels[b]] = bins[b];
    return j;
}

Json indicator_json(const Snapshot &s, const IndicatorReading &r) {
    using catalog::IndicatorKind;
    Json j = {{"id", r.def->id},
              {"key", r.def->key},
              {"name", r.def->name},
              {"theme", r.def->theme},
              {"kind", kind_name(r.def->kind)},
              {"audience", audience_name(r.def->audience)},
              {"source", r.def->source}};
    j["value"] = r.percent ? Json(*r.percent) : optional_int(r.value);
    switch (r.def->kind) {
        case IndicatorKind::Counter:
        case IndicatorKind::Gauge: {
            const bool gauge = r.def->kind == IndicatorKind::Gauge;
            if (r.selector) {
                j["selector"] = r.selector->text;
                break;
            }
            if (gauge && r.measures.size() == 1)
                j["set_at"] =
                    r.value ? Json(iso8601_utc(r.measures.front().set_unix)) : Json(nullptr);
            if (std::any_of(r.measures.begin(), r.measures.end(),
                            [](const MeasureReading &m) { return m.ref.per_level; }))
                j["levels"] = gauge ? gauge_levels(s, r.levels) : counter_levels(s, r.levels);
            if (r.measures.size() > 1) {
                j["measures"] = Json::array();
                for (const MeasureReading &m : r.measures)
                    j["measures"].push_back(measure_json(s, m));
            }
            break;
        }
        case IndicatorKind::Distinct:
            j["selector"] = r.selector ? Json(r.selector->text) : Json(nullptr);
            j["windows"] = Json::object();
            for (uint32_t w = 0; w < shm::kWindows; ++w) {
                const WindowCounts &c = r.windows[w];
                j["windows"][kWindowNames[w]] = {{"current", c.current},
                                                 {"previous", c.previous},
                                                 {"current_number", c.current_number},
                                                 {"previous_number", c.previous_number}};
            }
            break;
        case IndicatorKind::Distribution:
            j["levels"] = counter_levels(s, r.levels);
            if (r.distribution) {
                const DistributionReading &d = *r.distribution;
                j["school_year"] = d.school_year;
                j["bins"] = bins_json(d, d.total);
                j["bins_by_level"] = Json::object();
                for (const auto &[level, bins] : d.levels)
                    j["bins_by_level"][s.level_names[level]] = bins_json(d, bins);
            }
            break;
        case IndicatorKind::Derived:
            if (!r.derivation) break;
            if (r.derivation->op == Derivation::Op::Ratio) {
                j["unit"] = "percent";
                j["numerator"] = optional_int(r.numerator);
                j["denominator"] = optional_int(r.denominator);
            } else if (r.derivation->op == Derivation::Op::Sum) {
                j["of"] = r.derivation->refs;
            } else {
                j["of"] = r.derivation->refs;
                j["note"] = r.note;
            }
            break;
    }
    return j;
}

}  // namespace

void write_json(const Snapshot &s, std::ostream &out) {
    char start[8];
    std::snprintf(start, sizeof start, "%02u-%02u", unsigned(s.options.school_year_start.month),
                  unsigned(s.options.school_year_start.day));
    Json j = {{"base", s.base},
              {"product", product_name(s.product)},
              {"schema_hash", hex64(s.schema_hash)},
              {"catalog_version", catalog::kCatalogVersion},
              {"generation", hex64(s.generation)},
              {"at", s.options.at},
              {"at_iso", iso8601_utc(s.options.at)},
              {"timezone", s.options.timezone},
              {"school_year_start", start},
              {"calendar",
               {{"day", s.stamps.day},
                {"month", s.stamps.month},
                {"school_year", s.stamps.school_year}}}};
    j["levels"] = Json::object();
    for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
        if (s.level_declared[l]) j["levels"][std::to_string(l)] = s.level_names[l];
    j["indicators"] = Json::array();
    for (const IndicatorReading &r : s.indicators) j["indicators"].push_back(indicator_json(s, r));

    j["connections"] = Json::array();
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                j["connections"].push_back(
                    {{"profile", catalog::kProfileValues[p].key},
                     {"medium", catalog::kMediumValues[m].key},
                     {"access", catalog::kAccessValues[a].key},
                     {"count", s.connections[catalog::connection_cell(p, m, a)]}});

    Json diag = Json::object();
    for (uint32_t d = 0; d < s.diagnostics.size(); ++d)
        diag[diag_name(shm::Diag(d))] = s.diagnostics[d];
    diag["rows_leased"] = s.rows_leased;
    diag["rows_total"] = s.rows_total;
    diag["users_used"] = s.users_used;
    diag["users_capacity"] = s.users_capacity;
    diag["students_used"] = s.students_used;
    diag["students_capacity"] = s.students_capacity;
    j["diagnostics"] = diag;
    // Level labels come from the host: replace invalid UTF-8 rather than fail the dump.
    out << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
}

}  // namespace sonde::ctl
