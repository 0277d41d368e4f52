// OpenMetrics 1.0 text, so an existing Prometheus can scrape the local figures (for instance
// through a textfile collector or a tiny HTTP wrapper around `sonde-ctl dump`).
//
// Naming: family sonde_<indicator key>. Counter families drop a trailing "_total" from the
// key, since their samples get one (sonde_connections_total, not ..._total_total). Every
// sample carries base="<UAI>"; school_only indicators also audience="school_only".

#include <utility>

#include "formats.hpp"
#include "text.hpp"

namespace sonde::ctl {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Family {
  public:
    Family(std::ostream &out, const std::string &name, const char *type, const std::string &help)
        : out_(out),
          name_(name),
          sample_(name + suffix(type)),
          counter_(std::string_view(type) == "counter") {
        out_ << "# TYPE " << name_ << " " << type << "\n# HELP " << name_ << " "
             << openmetrics_escape(help) << "\n";
    }
    void sample(const Labels &labels, const std::string &value) {
        out_ << sample_ << "{";
        for (size_t i = 0; i < labels.size(); ++i)
            out_ << (i ? "," : "") << labels[i].first << "=\""
                 << openmetrics_escape(labels[i].second) << "\"";
        out_ << "} " << value << "\n";
    }
    // OpenMetrics forbids negative counters, and strict parsers reject the whole scrape for
    // one. A correction recorded at another level than the event it corrects can leave that
    // level's cell below zero: it shows as 0 here (JSON and table keep the exact figure).
    void sample(const Labels &labels, int64_t value) {
        sample(labels, std::to_string(counter_ && value < 0 ? 0 : value));
    }

  private:
    // The sample names a family's type requires.
    static std::string suffix(std::string_view type) {
        return type == "counter" ? "_total" : type == "info" ? "_info" : "";
    }
    std::ostream &out_;
    std::string name_, sample_;
    bool counter_;
};

std::string family_name(const std::string &key, bool counter) {
    if (counter && key.size() > 6 && key.ends_with("_total"))
        return "sonde_" + key.substr(0, key.size() - 6);
    return "sonde_" + key;
}

Labels with(Labels labels, const std::string &name, const std::string &value) {
    labels.emplace_back(name, value);
    return labels;
}

// A sum of counters is a counter; anything involving a gauge is a gauge.
bool sums_counters(const IndicatorReading &r) {
    if (!r.derivation || r.derivation->op != Derivation::Op::Sum) return false;
    for (uint16_t id : r.derivation->refs) {
        const catalog::Indicator *ind = find_indicator(id);
        if (!ind || ind->kind != catalog::IndicatorKind::Counter) return false;
    }
    return true;
}

std::string help_of(const IndicatorReading &r) {
    return std::string(r.def->theme) + ": " + r.def->name;
}

void measures_samples(const Snapshot &s, const IndicatorReading &r, Family &f, const Labels &base) {
    const bool several = r.measures.size() > 1;
    for (const MeasureReading &m : r.measures) {
        const char *what = m.ref.kind == MeasureKind::Event   ? "event"
                           : m.ref.kind == MeasureKind::Tally ? "tally"
                                                              : "gauge";
        const Labels labels = several ? with(base, what, m.ref.key) : base;
        if (!m.ref.per_level) {
            if (m.total) f.sample(labels, *m.total);
            continue;
        }
        for (const LevelValue &lv : m.levels) {
            Labels l = with(base, "level", s.level_names[lv.level]);
            if (several) l.emplace_back(what, m.ref.key);
            f.sample(l, lv.value);
        }
    }
}

void indicator_families(const Snapshot &s, const IndicatorReading &r, std::ostream &out) {
    using catalog::IndicatorKind;
    Labels base = {{"base", s.base}};
    if (r.def->audience == catalog::Audience::SchoolOnly)
        base.emplace_back("audience", "school_only");
    const std::string key = r.def->key;
    switch (r.def->kind) {
        case IndicatorKind::Counter: {
            Family f(out, family_name(key, true), "counter", help_of(r));
            if (!r.selector) {
                measures_samples(s, r, f, base);
                break;
            }
            for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
                for (uint32_t m = 1; m <= catalog::kMedia; ++m)
                    for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                        if (r.selector->selects(p, m, a))
                            f.sample(
                                with(with(with(base, "profile", catalog::kProfileValues[p].key),
                                          "medium", catalog::kMediumValues[m].key),
                                     "access", catalog::kAccessValues[a].key),
                                s.connections[catalog::connection_cell(p, m, a)]);
            break;
        }
        case IndicatorKind::Gauge: {
            Family f(out, family_name(key, false), "gauge", help_of(r));
            measures_samples(s, r, f, base);
            break;
        }
        case IndicatorKind::Distinct: {
            Family f(out, family_name(key, false), "gauge", help_of(r) + " (distinct users)");
            for (uint32_t w = 0; w < shm::kWindows; ++w) {
                const Labels l = with(base, "window", kWindowNames[w]);
                f.sample(with(l, "period", "current"), int64_t(r.windows[w].current));
                f.sample(with(l, "period", "previous"), int64_t(r.windows[w].previous));
            }
            break;
        }
        case IndicatorKind::Distribution: {
            Family bins(out, family_name(key, false), "gauge",
                        help_of(r) + " (students per bin, current school year)");
            if (r.distribution)
                for (const auto &[level, counts] : r.distribution->levels)
                    for (size_t b = 0; b < counts.size(); ++b)
                        bins.sample(with(with(base, "level", s.level_names[level]), "bin",
                                         r.distribution->bin_labels[b]),
                                    int64_t(counts[b]));
            Family events(out, family_name(key + "_events", true), "counter",
                          help_of(r) + " (events)");
            for (const LevelValue &lv : r.levels)
                events.sample(with(base, "level", s.level_names[lv.level]), lv.value);
            break;
        }
        case IndicatorKind::Derived: {
            if (!r.derivation || r.derivation->op == Derivation::Op::Referential)
                break;  // a console-side table
            if (r.derivation->op == Derivation::Op::Ratio) {
                Family f(out, family_name(key, false), "gauge", help_of(r) + " (percent)");
                f.sample(base, r.percent ? one_decimal(*r.percent) : "NaN");
                break;
            }
            const bool counter = sums_counters(r);
            Family f(out, family_name(key, counter), counter ? "counter" : "gauge", help_of(r));
            if (r.value) f.sample(base, *r.value);
            break;
        }
    }
}

}  // namespace

void write_openmetrics(const Snapshot &s, std::ostream &out) {
    for (const IndicatorReading &r : s.indicators) indicator_families(s, r, out);

    const Labels base = {{"base", s.base}};
    {
        Family info(out, "sonde_segment", "info",
                    "The segment read: product, catalogue schema and incarnation");
        info.sample(with(with(with(with(base, "product", product_name(s.product)), "schema_hash",
                                   hex64(s.schema_hash)),
                              "catalog_version", catalog::kCatalogVersion),
                         "generation", hex64(s.generation)),
                    "1");
    }
    {
        Family diag(out, "sonde_diagnostics", "counter",
                    "Misuses and incidents counted by the plugin, by kind");
        for (uint32_t d = 0; d < s.diagnostics.size(); ++d)
            diag.sample(with(base, "kind", diag_name(shm::Diag(d))), int64_t(s.diagnostics[d]));
    }
    const std::pair<const char *, uint32_t> usage[] = {
        {"rows_leased", s.rows_leased},     {"rows_capacity", s.rows_total},
        {"users_used", s.users_used},       {"users_capacity", s.users_capacity},
        {"students_used", s.students_used}, {"students_capacity", s.students_capacity},
    };
    for (const auto &[name, value] : usage) {
        Family f(out, std::string("sonde_segment_") + name, "gauge",
                 std::string("Segment table usage: ") + name);
        f.sample(base, int64_t(value));
    }
    out << "# EOF\n";
}

}  // namespace sonde::ctl
