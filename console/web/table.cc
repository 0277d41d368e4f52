// Tables of the pages (table.hpp).
#include "table.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace sonde::console::web {
namespace {

constexpr uint32_t bit(uint32_t v) { return uint32_t{1} << (v - 1); }

State worse(State a, State b) { return std::max(a, b); }

State fig_state(const Fig &f) {
    if (f.suppressed) return State::Suppressed;
    if (f.rounded || f.partial) return State::Rounded;
    return State::Known;
}

bool level_ok(uint32_t level, const std::vector<uint32_t> &levels) {
    return levels.empty() || std::find(levels.begin(), levels.end(), level) != levels.end();
}

// A displayed cell from its numerator and denominator.
Cell make_cell(const Column &c, Amount num, Amount den, Mode mode) {
    Cell out;
    const bool as_rate = c.kind == Column::Kind::Percent || c.kind == Column::Kind::Ratio ||
                         (mode == Mode::Rates && c.den.source != Quantity::Source::None);
    if (c.kind == Column::Kind::BasisPoints) {
        out.state = num.state;
        out.value = double(num.value) / 100.0;
        out.integer = false;
        return out;
    }
    if (!as_rate) {
        out.state = num.state;
        out.value = double(num.value);
        return out;
    }
    out.state = worse(num.state, den.state);
    out.integer = false;
    if (out.state == State::Suppressed || out.state == State::Missing) return out;
    if (den.value == 0) {
        out.state = State::Missing;  // no denominator: undefined, never 0
        return out;
    }
    out.value = double(num.value) / double(den.value) * (c.kind == Column::Kind::Ratio ? 1 : 100);
    return out;
}

bool is_rate(const Column &c, Mode mode) {
    return c.kind == Column::Kind::Percent || c.kind == Column::Kind::BasisPoints ||
           (c.kind == Column::Kind::Count && mode == Mode::Rates &&
            c.den.source != Quantity::Source::None);
}

void mark_extremes(Table &t) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
        std::optional<double> lo, hi;
        size_t known = 0;
        for (const TableRow &r : t.rows) {
            const Cell &x = r.cells[c];
            if (x.state != State::Known) continue;
            ++known;
            lo = lo ? std::min(*lo, x.value) : x.value;
            hi = hi ? std::max(*hi, x.value) : x.value;
        }
        if (known < 2 || *lo == *hi) continue;
        for (TableRow &r : t.rows) {
            Cell &x = r.cells[c];
            if (x.state != State::Known) continue;
            x.is_max = x.value == *hi;
            x.is_min = x.value == *lo;
        }
    }
}

// Totals: sums of numerators and of denominators over the establishments where both are
// usable (known or rounded); a rate is the ratio of those sums.
void totals(Table &t, const std::vector<std::pair<std::vector<Amount>, std::vector<Amount>>> &parts,
            const std::vector<const Column *> &cols, Mode mode) {
    t.total.assign(cols.size(), {});
    t.excluded.assign(cols.size(), 0);
    for (size_t c = 0; c < cols.size(); ++c) {
        Amount num{0, State::Known}, den{0, State::Known};
        bool any = false;
        const bool needs_den = cols[c]->den.source != Quantity::Source::None;
        for (const auto &[nums, dens] : parts) {
            const Amount &n = nums[c];
            const Amount &d = dens[c];
            const bool usable =
                (n.state == State::Known || n.state == State::Rounded) &&
                (!needs_den || d.state == State::Known || d.state == State::Rounded);
            if (!usable) {
                ++t.excluded[c];
                continue;
            }
            any = true;
            num.value += n.value;
            num.state = worse(num.state, n.state);
            if (needs_den) {
                den.value += d.value;
                den.state = worse(den.state, d.state);
            }
        }
        if (cols[c]->kind == Column::Kind::BasisPoints || !any) {
            t.total[c].state = State::Missing;  // not additive, or nothing to add
            continue;
        }
        t.total[c] = make_cell(*cols[c], num, den, mode);
    }
}

}  // namespace

Amount evaluate(const Quantity &q, const BaseFigures &b, const std::vector<uint32_t> &levels) {
    Amount a;
    using S = Quantity::Source;
    switch (q.source) {
        case S::None:
            return a;
        case S::Value: {
            // Zero figures are not sent: with the window present, an absent figure is 0.
            a.state = b.has_window ? State::Known : State::Missing;
            for (const auto &[k, f] : b.values) {
                if (k[0] != q.measure_kind || !level_ok(k[2], levels)) continue;
                if (std::find(q.ids.begin(), q.ids.end(), k[1]) == q.ids.end()) continue;
                if (q.measure_kind == 3) {
                    // Combinations only: the total (0, 0, 0) of the series is not a part.
                    if (!k[3] || !k[4] || !k[5]) continue;
                    if (!(q.profiles & bit(k[3])) || !(q.media & bit(k[4])) ||
                        !(q.accesses & bit(k[5])))
                        continue;
                }
                a.value += f.value;
                a.state = worse(a.state, fig_state(f));
            }
            return a;
        }
        case S::Gauge: {
            // Gauges are states: one not set is unknown, never 0.
            bool any = false;
            State s = State::Known;
            for (const auto &[k, f] : b.gauges) {
                if (std::find(q.ids.begin(), q.ids.end(), k[0]) == q.ids.end() ||
                    !level_ok(k[1], levels))
                    continue;
                any = true;
                a.value += f.value;
                s = worse(s, fig_state(f));
            }
            a.state = any ? s : State::Missing;
            return a;
        }
        case S::Distinct: {
            a.state = b.has_window ? State::Known : State::Missing;
            auto it = b.distinct.find({q.profiles, q.media, q.accesses});
            if (it != b.distinct.end()) {
                a.value = it->second.value;
                a.state = fig_state(it->second);
            }
            return a;
        }
        case S::Distribution: {
            bool any = false;
            State s = State::Known;
            for (const auto &[k, d] : b.distributions) {
                if (q.ids.empty() || k[0] != q.ids[0] || !level_ok(k[1], levels)) continue;
                any = true;
                if (d.suppressed) s = worse(s, State::Suppressed);
                if (d.rounded || d.partial) s = worse(s, State::Rounded);
                for (size_t i = 0; i < d.students.size(); ++i)
                    if (q.bin < 0 || size_t(q.bin) == i) a.value += d.students[i];
            }
            a.state = any ? s : State::Missing;
            return a;
        }
    }
    return a;
}

Table widget_table(const Widget &w, const Scope &scope,
                   const std::map<std::string, BaseFigures> &figures, Mode mode) {
    Table t;
    t.id = w.id;
    t.label = w.label;
    std::vector<const Column *> cols;
    for (const Column &c : w.columns) {
        cols.push_back(&c);
        t.columns.push_back({c.id, c.label, c.indicator, is_rate(c, mode)});
    }
    static const BaseFigures kNone;
    std::vector<std::pair<std::vector<Amount>, std::vector<Amount>>> parts;
    for (const Establishment &e : scope.establishments) {
        auto it = figures.find(e.uai);
        const BaseFigures &b = it != figures.end() ? it->second : kNone;
        TableRow row{e, scope.fresh.count(e.uai) ? scope.fresh.at(e.uai) : 0, {}};
        auto &[nums, dens] = parts.emplace_back();
        for (const Column *c : cols) {
            nums.push_back(evaluate(c->num, b));
            dens.push_back(evaluate(c->den, b));
            row.cells.push_back(make_cell(*c, nums.back(), dens.back(), mode));
        }
        t.rows.push_back(std::move(row));
    }
    totals(t, parts, cols, mode);
    mark_extremes(t);
    return t;
}

Table level_table(const LevelTable &lt, const Scope &scope,
                  const std::map<std::string, BaseFigures> &figures, Mode mode) {
    Table t;
    t.id = lt.id;
    t.label = lt.label;
    // Columns: the level labels of the establishments, in slot order; one label may name
    // different slots in different establishments.
    std::map<std::string, uint32_t> first_slot;
    for (const auto &[uai, b] : figures)
        for (const auto &[slot, label] : b.levels) {
            auto [it, fresh] = first_slot.try_emplace(label, slot);
            if (!fresh) it->second = std::min(it->second, slot);
        }
    std::vector<std::pair<uint32_t, std::string>> labels;
    for (const auto &[label, slot] : first_slot) labels.emplace_back(slot, label);
    std::sort(labels.begin(), labels.end());
    Column shape{"", "", lt.indicator, lt.quantity, {}, Column::Kind::Count};
    std::vector<Column> cols;
    for (const auto &[slot, label] : labels) {
        Column c = shape;
        c.id = label;  // unique: one column per label
        c.label = label;
        cols.push_back(c);
    }
    Column all = shape;
    all.id = "total";
    all.label = "Tous niveaux";
    cols.push_back(all);
    std::vector<const Column *> colp;
    for (const Column &c : cols) {
        colp.push_back(&c);
        t.columns.push_back({c.id, c.label, c.indicator, mode == Mode::Rates});
    }
    static const BaseFigures kNone;
    std::vector<std::pair<std::vector<Amount>, std::vector<Amount>>> parts;
    for (const Establishment &e : scope.establishments) {
        auto it = figures.find(e.uai);
        const BaseFigures &b = it != figures.end() ? it->second : kNone;
        TableRow row{e, scope.fresh.count(e.uai) ? scope.fresh.at(e.uai) : 0, {}};
        auto &[nums, dens] = parts.emplace_back();
        const Amount whole = evaluate(lt.quantity, b);
        for (size_t i = 0; i < cols.size(); ++i) {
            std::vector<uint32_t> slots;
            if (i + 1 < cols.size())
                for (const auto &[slot, label] : b.levels)
                    if (label == cols[i].label) slots.push_back(slot);
            Amount a = i + 1 == cols.size() ? whole
                       : slots.empty()      ? Amount{0, State::Missing}
                                            : evaluate(lt.quantity, b, slots);
            nums.push_back(a);
            dens.push_back(whole);
            // T%: the level's share of the establishment's total.
            Column c = cols[i];
            if (mode == Mode::Rates) c.den = lt.quantity;
            row.cells.push_back(make_cell(c, a, whole, mode));
        }
        t.rows.push_back(std::move(row));
    }
    std::vector<Column> rated = cols;
    if (mode == Mode::Rates)
        for (Column &c : rated) c.den = lt.quantity;
    std::vector<const Column *> ratedp;
    for (const Column &c : rated) ratedp.push_back(&c);
    totals(t, parts, ratedp, mode);
    mark_extremes(t);
    return t;
}

void sort_table(Table &t, const std::string &column, bool descending) {
    size_t index = t.columns.size();
    for (size_t i = 0; i < t.columns.size(); ++i)
        if (t.columns[i].id == column) index = i;
    std::stable_sort(t.rows.begin(), t.rows.end(), [&](const TableRow &a, const TableRow &b) {
        if (index == t.columns.size()) {
            const std::string &x = column == "uai"       ? a.establishment.uai
                                   : column == "commune" ? a.establishment.commune
                                                         : a.establishment.name;
            const std::string &y = column == "uai"       ? b.establishment.uai
                                   : column == "commune" ? b.establishment.commune
                                                         : b.establishment.name;
            return descending ? y < x : x < y;
        }
        const Cell &x = a.cells[index], &y = b.cells[index];
        const bool xm = x.state == State::Suppressed || x.state == State::Missing;
        const bool ym = y.state == State::Suppressed || y.state == State::Missing;
        if (xm != ym) return ym;  // figures first, missing last in both directions
        if (xm) return false;
        return descending ? y.value < x.value : x.value < y.value;
    });
}

std::string number_text(double v, bool integer, bool rate) {
    char buf[64];
    if (integer && !rate)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(v)));
    else
        std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string s = buf;
    // French: decimal comma, a (narrow no-break) space between thousands.
    const size_t dot = s.find('.');
    std::string whole = s.substr(0, dot == std::string::npos ? s.size() : dot);
    std::string frac = dot == std::string::npos ? "" : "," + s.substr(dot + 1);
    const bool neg = !whole.empty() && whole[0] == '-';
    if (neg) whole.erase(0, 1);
    std::string grouped;
    for (size_t i = 0; i < whole.size(); ++i) {
        if (i && (whole.size() - i) % 3 == 0) grouped += "\u202F";
        grouped += whole[i];
    }
    return (neg ? "-" : "") + grouped + frac + (rate ? " %" : "");
}

std::string cell_text(const Cell &c, bool rate) {
    switch (c.state) {
        case State::Missing:
            return "—";
        case State::Suppressed:
            return "s";
        case State::Rounded:
            return "≈ " + number_text(c.value, c.integer, rate);
        case State::Known:
            return number_text(c.value, c.integer, rate);
    }
    return "";
}

}  // namespace sonde::console::web
