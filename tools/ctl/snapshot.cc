#include "snapshot.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sonde::ctl {
namespace {

using catalog::IndicatorKind;
using catalog::kLevelSlots;

// Reads every counter cell once, so the figures of one dump are mutually consistent.
class Cells {
  public:
    explicit Cells(const reader::SegmentView &view) : cells_(view.cells()) {}

    int64_t measure(const MeasureRef &m, uint32_t level) const {
        const uint32_t first = m.kind == MeasureKind::Event ? catalog::kEvents[m.id].first
                                                            : catalog::kTallies[m.id].first;
        return cells_[first + (m.per_level ? level : 0)];
    }
    int64_t connection(uint32_t cell) const { return cells_[cell]; }

  private:
    std::vector<int64_t> cells_;
};

// Declared levels always appear; others only when something was recorded there. Counters also
// always show level 0 ("unspecified"), so a scraper sees their series from the first dump.
bool shown(const Snapshot &s, uint32_t level, bool has_data) {
    return has_data || s.level_declared[level];
}

MeasureReading read_counter_measure(const Snapshot &s, const Cells &cells, const MeasureRef &ref) {
    MeasureReading m{ref, 0, 0, {}};
    if (!ref.per_level) {
        m.total = cells.measure(ref, 0);
        return m;
    }
    for (uint32_t l = 0; l < kLevelSlots; ++l) {
        const int64_t v = cells.measure(ref, l);
        *m.total += v;
        if (l == 0 || shown(s, l, v != 0)) m.levels.push_back({l, v});
    }
    return m;
}

MeasureReading read_gauge_measure(const reader::SegmentView &view, const MeasureRef &ref) {
    MeasureReading m{ref, std::nullopt, 0, {}};
    for (uint32_t l = 0; l < (ref.per_level ? kLevelSlots : 1); ++l) {
        const reader::GaugeValue g = view.gauge(ref.id, l);
        if (!g.set) continue;
        m.total = m.total.value_or(0) + g.value;
        m.set_unix = std::max(m.set_unix, g.set_unix);
        if (ref.per_level) m.levels.push_back({l, g.value, g.set_unix});
    }
    return m;
}

// Sums the measures level by level (the levels each one shows).
std::vector<LevelValue> merge_levels(const std::vector<MeasureReading> &measures) {
    std::vector<LevelValue> merged;
    for (const MeasureReading &m : measures)
        for (const LevelValue &lv : m.levels) {
            auto it = std::find_if(merged.begin(), merged.end(),
                                   [&](const LevelValue &x) { return x.level == lv.level; });
            if (it == merged.end()) {
                merged.push_back(lv);
            } else {
                it->value += lv.value;
                it->set_unix = std::max(it->set_unix, lv.set_unix);
            }
        }
    std::sort(merged.begin(), merged.end(),
              [](const LevelValue &a, const LevelValue &b) { return a.level < b.level; });
    return merged;
}

void read_measures(IndicatorReading &r, const Snapshot &s, const reader::SegmentView &view,
                   const Cells &cells) {
    for (const std::string &key : split_words(r.def->source)) {
        const std::optional<MeasureRef> ref = find_measure(key);
        if (!ref) continue;  // the generator rejects unknown keys
        r.measures.push_back(ref->kind == MeasureKind::Gauge
                                 ? read_gauge_measure(view, *ref)
                                 : read_counter_measure(s, cells, *ref));
    }
    if (r.measures.empty()) return;
    if (r.measures.size() == 1 || measures_split_a_dimension(*r.def)) {
        for (const MeasureReading &m : r.measures)
            if (m.total) r.value = r.value.value_or(0) + *m.total;
        r.levels = merge_levels(r.measures);
    } else {
        r.value = r.measures.front().total;
        r.levels = r.measures.front().levels;
    }
}

int64_t selected_connections(const Snapshot &s, const Selector &sel) {
    int64_t sum = 0;
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a)
                if (sel.selects(p, m, a)) sum += s.connections[catalog::connection_cell(p, m, a)];
    return sum;
}

void read_distinct(IndicatorReading &r, const Snapshot &s, const reader::SegmentView &view) {
    r.selector = parse_selector(r.def->source);
    if (!r.selector) return;
    const uint64_t mask = r.selector->mask();
    const uint32_t numbers[shm::kWindows] = {s.stamps.day, s.stamps.month, s.stamps.school_year};
    for (uint32_t w = 0; w < shm::kWindows; ++w) {
        WindowCounts &c = r.windows[w];
        c.current_number = numbers[w];
        c.current = view.distinct(shm::Window(w), numbers[w], mask);
        if (numbers[w] > 0) {  // stamps saturate at 0 before 1970: no previous window
            c.previous_number = numbers[w] - 1;
            c.previous = view.distinct(shm::Window(w), numbers[w] - 1, mask);
        }
    }
    r.value = int64_t(r.windows[shm::kSchoolYear].current);
}

void read_distribution(IndicatorReading &r, const Snapshot &s, const reader::SegmentView &view,
                       const Cells &cells) {
    const std::optional<MeasureRef> ref = find_measure(r.def->source);
    if (!ref || ref->kind != MeasureKind::Tally) return;
    // The headline is the number of events (half-days of absence...); the bins count students.
    const MeasureReading events = read_counter_measure(s, cells, *ref);
    r.value = events.total;
    r.levels = events.levels;

    const reader::Distribution d = view.distribution(ref->id, s.stamps.school_year);
    DistributionReading dr;
    dr.school_year = s.stamps.school_year;
    for (uint32_t b = 0; b < d.bin_count; ++b) {
        dr.bin_labels.push_back(bin_label(d.bin_low.data(), d.bin_count, b));
        dr.total.push_back(d.total[b]);
    }
    for (uint32_t l = 0; l < d.per_level.size(); ++l) {
        std::vector<uint64_t> bins(d.per_level[l].begin(), d.per_level[l].begin() + d.bin_count);
        const bool any = std::any_of(bins.begin(), bins.end(), [](uint64_t n) { return n != 0; });
        if (shown(s, l, any)) dr.levels.emplace_back(l, std::move(bins));
    }
    r.distribution = std::move(dr);
}

std::string id_list(const std::vector<uint16_t> &ids) {
    bool contiguous = !ids.empty();
    for (size_t i = 1; i < ids.size(); ++i) contiguous = contiguous && ids[i] == ids[i - 1] + 1;
    if (contiguous && ids.size() > 2)
        return std::to_string(ids.front()) + ".." + std::to_string(ids.back());
    std::string text;
    for (uint16_t id : ids) {
        if (!text.empty()) text += ',';
        text += std::to_string(id);  // appended: GCC 12 -O3 misreads "," + std::string (-Wrestrict)
    }
    return text;
}

// Derived indicators read the values of the others, so they are evaluated last.
void evaluate_derived(IndicatorReading &r, const Snapshot &s) {
    r.derivation = parse_derivation(r.def->source);
    if (!r.derivation) return;
    const Derivation &d = *r.derivation;
    switch (d.op) {
        case Derivation::Op::Sum:
            for (uint16_t id : d.refs)
                for (const IndicatorReading &other : s.indicators)
                    if (other.def->id == id && other.value)
                        r.value = r.value.value_or(0) + *other.value;
            break;
        case Derivation::Op::Ratio:
            r.numerator = selected_connections(s, *d.num);
            r.denominator = selected_connections(s, *d.den);
            if (*r.denominator != 0)
                r.percent =
                    std::round(1000.0 * double(*r.numerator) / double(*r.denominator)) / 10.0;
            break;
        case Derivation::Op::Referential:
            r.note = "per-school table of indicators " + id_list(d.refs) + " (console side)";
            break;
    }
}

void name_levels(Snapshot &s, const reader::SegmentView &view) {
    for (uint32_t l = 0; l < kLevelSlots; ++l) {
        std::string label = view.level_label(l);
        s.level_declared[l] = !label.empty();
        if (label.empty()) label = l == 0 ? "unspecified" : "level" + std::to_string(l);
        // Two slots declared with the same label must stay two series.
        for (uint32_t k = 0; k < l; ++k)
            if (s.level_names[k] == label) {
                label += '#';
                label += std::to_string(l);  // not "#" + ...: GCC 12 -O3 -Wrestrict false positive
            }
        s.level_names[l] = label;
    }
}

}  // namespace

Snapshot take_snapshot(const reader::SegmentView &view, const time::TimeZone &tz,
                       const SnapshotOptions &options) {
    Snapshot s;
    const shm::Header &h = view.header();
    s.base = std::string(h.base_id, strnlen(h.base_id, sizeof h.base_id));
    s.product = h.product;
    s.schema_hash = h.schema_hash;
    s.generation = h.generation;
    s.options = options;
    s.stamps = time::stamps_at(tz, options.at, options.school_year_start);
    name_levels(s, view);

    const Cells cells(view);
    for (uint32_t p = 1; p <= catalog::kProfiles; ++p)
        for (uint32_t m = 1; m <= catalog::kMedia; ++m)
            for (uint32_t a = 1; a <= catalog::kAccesses; ++a) {
                const uint32_t cell = catalog::connection_cell(p, m, a);
                s.connections[cell] = cells.connection(cell);
            }

    for (const catalog::Indicator &def : catalog::kIndicators) {
        IndicatorReading r;
        r.def = &def;
        const bool by_connections = std::string_view(def.source).starts_with("connections[");
        switch (def.kind) {
            case IndicatorKind::Counter:
                if (by_connections) {
                    r.selector = parse_selector(def.source);
                    if (r.selector) r.value = selected_connections(s, *r.selector);
                } else {
                    read_measures(r, s, view, cells);
                }
                break;
            case IndicatorKind::Gauge:
                read_measures(r, s, view, cells);
                break;
            case IndicatorKind::Distinct:
                read_distinct(r, s, view);
                break;
            case IndicatorKind::Distribution:
                read_distribution(r, s, view, cells);
                break;
            case IndicatorKind::Derived:
                break;
        }
        s.indicators.push_back(std::move(r));
    }
    for (IndicatorReading &r : s.indicators)
        if (r.def->kind == IndicatorKind::Derived) evaluate_derived(r, s);

    for (uint32_t d = 0; d < uint32_t(shm::Diag::Count_); ++d)
        s.diagnostics[d] = view.diag(shm::Diag(d));
    s.rows_leased = view.rows_leased();
    s.rows_total = h.row_count;
    s.users_used = view.users_used();
    s.users_capacity = h.user_stated_capacity;
    s.students_used = view.students_used();
    s.students_capacity = h.student_stated_capacity;
    return s;
}

}  // namespace sonde::ctl
