#include "audit.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "catalog_layout.hpp"
#include "text.hpp"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace sonde::ctl::audit {
namespace {

namespace v1 = snapshot::v1;

// Exact rationals (the systems are sums of cells with coefficients +-1: small numbers).
struct Q {
    int64_t n = 0, d = 1;
    static Q make(__int128 n, __int128 d) {
        if (d < 0) n = -n, d = -d;
        __int128 a = n < 0 ? -n : n, b = d;
        while (b) {
            const __int128 t = a % b;
            a = b;
            b = t;
        }
        if (a > 1) n /= a, d /= a;
        if (n > INT64_MAX || n < INT64_MIN || d > INT64_MAX)
            throw std::overflow_error("audit: rational overflow");
        return {int64_t(n), int64_t(d)};
    }
    bool zero() const { return n == 0; }
    Q operator-(const Q &o) const {
        return make(__int128(n) * o.d - __int128(o.n) * d, __int128(d) * o.d);
    }
    Q operator+(const Q &o) const {
        return make(__int128(n) * o.d + __int128(o.n) * d, __int128(d) * o.d);
    }
    Q operator*(const Q &o) const { return make(__int128(n) * o.n, __int128(d) * o.d); }
    Q operator/(const Q &o) const { return make(__int128(n) * o.d, __int128(d) * o.n); }
};

using Vec = std::map<uint32_t, Q>;  // column -> coefficient, no zeros

void axpy(Vec &v, const Q &a, const Vec &x) {  // v -= a * x
    for (const auto &[c, q] : x) {
        auto [it, fresh] = v.try_emplace(c, Q{});
        it->second = it->second - a * q;
        if (it->second.zero()) v.erase(it);
    }
}

struct Row {
    Vec coef;
    Q rhs;
    // Which equations make this row: coef.y - rhs = -sum(prov[i] x (figure i - its value)).
    // For a reduced functional F (no equation of its own): F = remainder.y - rhs + sum(prov[i]
    // x (figure i - its value)), so a determined F is sum(prov[i] x figure i) + constant.
    Vec prov;
};

// Echelon rows, each keyed by its smallest column (its pivot, coefficient 1). Reducing a vector
// column by column in increasing order removes every pivot column: the remainder (the normal
// form) is zero exactly when the vector is in the row space, and equal normal forms mean the
// difference of the two vectors is determined.
class System {
  public:
    void reduce(Vec &v, Q &rhs, Vec &prov) const {
        auto it = v.begin();
        while (it != v.end()) {
            const uint32_t c = it->first;
            const auto row = rows_.find(c);
            if (row == rows_.end()) {
                ++it;
                continue;
            }
            const Q a = it->second;
            axpy(v, a, row->second.coef);
            rhs = rhs - a * row->second.rhs;
            axpy(prov, a, row->second.prov);
            it = v.upper_bound(c);
        }
    }
    // false if the equation contradicts the others.
    bool add(Vec v, Q rhs, uint32_t id) {
        Vec prov{{id, Q{-1, 1}}};  // prov tracks -(combination): rhs - sum = remainder
        reduce(v, rhs, prov);
        if (v.empty()) return rhs.zero();
        const Q p = v.begin()->second;
        for (auto &[c, q] : v) q = q / p;
        for (auto &[c, q] : prov) q = q / p;
        const uint32_t pivot = v.begin()->first;
        rows_[pivot] = {std::move(v), rhs / p, std::move(prov)};
        return true;
    }

  private:
    std::unordered_map<uint32_t, Row> rows_;
};

struct Equation {
    std::vector<uint32_t> cells;  // coordinates summed
    int64_t from, to;             // INT64_MIN: from the origin (a state)
    int64_t value;
    std::string source;
};

struct Family {
    std::string measure;
    std::set<uint32_t> coords;
    std::vector<Equation> equations;
    bool per_level_zeros = false;  // tallies: levels absent beside present ones are 0
    uint32_t bins = 0;             // distributions: coordinate = level * 16 + bin
};

bool social(const char *key) {
    for (const catalog::Indicator &i : catalog::kIndicators) {
        if (i.kind == catalog::IndicatorKind::Derived) continue;
        std::istringstream tokens(i.source);
        for (std::string t; tokens >> t;)
            if (t == key) return std::string(i.theme) == "Social";
    }
    return false;
}

std::string when(int64_t t) {
    if (t == INT64_MIN) return "origin";
    char buf[32];
    std::tm tm{};
    utc_parts(t, tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%MZ", &tm);
    return buf;
}

const char *kind_name(v1::WindowKind k) {
    switch (k) {
        case v1::WINDOW_KIND_HOUR:
            return "hour";
        case v1::WINDOW_KIND_DAY:
            return "day";
        case v1::WINDOW_KIND_MONTH:
            return "month";
        case v1::WINDOW_KIND_SCHOOL_YEAR:
            return "school year";
        default:
            return "?";
    }
}

class Windows {
  public:
    explicit Windows(const time::TimeZone *tz) : tz_(tz) {}
    // The end of a window from its start (local hours always last 3600 s).
    int64_t end(v1::WindowKind kind, int64_t start) {
        if (kind == v1::WINDOW_KIND_HOUR || !tz_) return start + 3600;
        const auto key = std::make_pair(int(kind), start);
        if (auto it = cache_.find(key); it != cache_.end()) return it->second;
        int64_t t = time::next_local_midnight(*tz_, start);
        if (kind != v1::WINDOW_KIND_DAY)
            for (int i = 0; i < 400; ++i) {
                const time::LocalTime l = time::to_local(*tz_, t);
                if (l.day == 1 && (kind == v1::WINDOW_KIND_MONTH || l.month == 9)) break;
                t = time::next_local_midnight(*tz_, t);
            }
        return cache_[key] = t;
    }
    // The local midnight that starts the day containing t.
    int64_t midnight_before(int64_t t) {
        if (!tz_) return t;
        int64_t m = time::next_local_midnight(*tz_, t - 27 * 3600);
        while (time::next_local_midnight(*tz_, m) <= t) m = time::next_local_midnight(*tz_, m);
        return m;
    }

  private:
    const time::TimeZone *tz_;
    std::map<std::pair<int, int64_t>, int64_t> cache_;
};

void collect(const Input &in, Windows &win, std::map<std::string, Family> &families) {
    const v1::Snapshot &s = in.snapshot;
    const std::string at = in.file + " (#" + std::to_string(s.sequence()) + ")";
    const bool rule2 = s.policy().privacy_rule() >= 2;
    // Tally figures per window, to infer the zeros of absent levels.
    std::map<std::tuple<uint32_t, int, int64_t>,
             std::pair<std::pair<int64_t, int64_t>, std::set<uint32_t>>>
        windows;
    for (const v1::Value &v : s.values()) {
        if (v.measure_kind() != v1::MEASURE_KIND_TALLY || v.measure_id() == 0 ||
            v.measure_id() > catalog::kTallyCount)
            continue;
        const char *key = catalog::kTallies[v.measure_id()].key;
        if (!social(key)) continue;
        Family &f = families[std::string("tally ") + key];
        f.measure = std::string("tally ") + key;
        f.per_level_zeros = true;
        const v1::Window &w = v.window();
        const int64_t end = win.end(w.kind(), w.start_unix());
        int64_t to = end;
        if (end > s.created_unix())  // open: up to now, or (rule 2) up to the last midnight
            to = rule2 ? win.midnight_before(s.created_unix()) : s.created_unix();
        const bool hour = w.kind() == v1::WINDOW_KIND_HOUR;
        if (!hour) {
            f.coords.insert(v.level());
            auto &entry = windows[{v.measure_id(), int(w.kind()), w.start_unix()}];
            entry.first = {w.start_unix(), to};
            entry.second.insert(v.level());
        }
        if (v.suppressed() || v.rounded()) continue;
        f.equations.push_back({hour ? std::vector<uint32_t>{} : std::vector<uint32_t>{v.level()},
                               w.start_unix(), to, v.value(),
                               at + " " + kind_name(w.kind()) + " " + when(w.start_unix()) +
                                   (hour ? " all levels" : " level " + std::to_string(v.level())) +
                                   " = " + std::to_string(v.value())});
    }
    for (const auto &[key, entry] : windows) {
        Family &f = families[std::string("tally ") + catalog::kTallies[std::get<0>(key)].key];
        for (uint32_t level = 0; level < catalog::kLevelSlots; ++level)
            if (!entry.second.count(level))  // absent beside present levels: 0 (filtered later)
                f.equations.push_back({{level},
                                       entry.first.first,
                                       entry.first.second,
                                       0,
                                       at + " " + kind_name(v1::WindowKind(std::get<1>(key))) +
                                           " " + when(entry.first.first) + " level " +
                                           std::to_string(level) + " absent (= 0)"});
    }
    for (const v1::Gauge &g : s.gauges()) {
        if (g.gauge() == 0 || g.gauge() > catalog::kGaugeCount) continue;
        const char *key = catalog::kGauges[g.gauge()].key;
        if (!social(key)) continue;
        Family &f = families[std::string("gauge ") + key];
        f.measure = std::string("gauge ") + key;
        f.coords.insert(g.level());
        if (g.suppressed() || g.rounded()) continue;
        f.equations.push_back({{g.level()},
                               INT64_MIN,
                               g.set_unix(),
                               g.value(),
                               at + " gauge level " + std::to_string(g.level()) + " set " +
                                   when(g.set_unix()) + " = " + std::to_string(g.value())});
    }
    for (const v1::Distribution &d : s.distributions()) {
        if (d.tally() == 0 || d.tally() > catalog::kTallyCount) continue;
        const char *key = catalog::kTallies[d.tally()].key;
        if (!social(key)) continue;
        Family &f = families[std::string("distribution ") + key];
        f.measure = std::string("distribution ") + key;
        f.bins = std::max<uint32_t>(f.bins, uint32_t(d.students_size()));
        for (int b = 0; b < d.students_size(); ++b) f.coords.insert(d.level() * 16 + uint32_t(b));
        if (d.suppressed() || d.rounded()) continue;
        for (int b = 0; b < d.students_size(); ++b)
            f.equations.push_back({{d.level() * 16 + uint32_t(b)},
                                   INT64_MIN,
                                   s.created_unix(),
                                   int64_t(d.students(b)),
                                   at + " distribution level " + std::to_string(d.level()) +
                                       " bin " + std::to_string(d.bin_low(b)) +
                                       "+ = " + std::to_string(d.students(b))});
    }
}

std::string coord_name(const Family &f, uint32_t c) {
    if (!f.bins) return "level " + std::to_string(c);
    return "level " + std::to_string(c / 16) + " bin #" + std::to_string(c % 16);
}

// A random linear projection of normal forms, to group equal ones fast: equal forms have
// equal projections, and unequal ones collide with probability 2^-61 (every candidate found
// this way is then checked exactly).
constexpr uint64_t kPrime = (uint64_t{1} << 61) - 1;

uint64_t mul_mod(uint64_t a, uint64_t b) {
    const unsigned __int128 x = (unsigned __int128)a * b;
    const uint64_t r = uint64_t(x & kPrime) + uint64_t(x >> 61);
    return r >= kPrime ? r - kPrime : r;
}
uint64_t add_mod(uint64_t a, uint64_t b) {
    const uint64_t r = a + b;
    return r >= kPrime ? r - kPrime : r;
}
uint64_t pow_mod(uint64_t a, uint64_t e) {
    uint64_t r = 1;
    for (; e; e >>= 1, a = mul_mod(a, a))
        if (e & 1) r = mul_mod(r, a);
    return r;
}
uint64_t residue(int64_t v) {
    const uint64_t m = uint64_t(v < 0 ? -(v + 1) : v) % kPrime;  // |v| - (v < 0)
    return v < 0 ? (kPrime - 1 - m) % kPrime : m;
}
uint64_t weight(uint32_t column) {  // splitmix64 of the column: fixed, spread out
    uint64_t z = (uint64_t(column) + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (z ^ (z >> 31)) % kPrime;
}
uint64_t project(const Vec &v) {
    uint64_t h = 0;
    for (const auto &[c, q] : v)
        h = add_mod(h, mul_mod(weight(c), q.d == 1 ? residue(q.n)
                                                   : mul_mod(residue(q.n),
                                                             pow_mod(residue(q.d), kPrime - 2))));
    return h;
}

// Every set of cells of a group when it has at most kExhaustiveLevels cells (2^n - 1 sets,
// smallest first); beyond, the sets of one or two cells, all of them, and all but one or two.
constexpr size_t kExhaustiveLevels = 12;

std::vector<std::vector<uint32_t>> level_sets(const std::vector<uint32_t> &members) {
    const size_t n = members.size();
    std::vector<std::vector<uint32_t>> out;
    auto from_mask = [&](uint64_t mask) {
        std::vector<uint32_t> s;
        for (size_t i = 0; i < n; ++i)
            if (mask >> i & 1) s.push_back(members[i]);
        return s;
    };
    if (n <= kExhaustiveLevels) {
        std::vector<uint64_t> masks;
        for (uint64_t m = 1; m < (uint64_t{1} << n); ++m) masks.push_back(m);
        std::stable_sort(masks.begin(), masks.end(), [](uint64_t a, uint64_t b) {
            return __builtin_popcountll(a) < __builtin_popcountll(b);
        });
        for (uint64_t m : masks) out.push_back(from_mask(m));
        return out;
    }
    const uint64_t all = n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    std::set<uint64_t> masks;
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i; j < n; ++j) {
            const uint64_t m = (uint64_t{1} << i) | (uint64_t{1} << j);
            masks.insert(m);
            if ((all & ~m) != 0) masks.insert(all & ~m);
        }
    masks.insert(all);
    std::vector<uint64_t> sorted(masks.begin(), masks.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](uint64_t a, uint64_t b) {
        return __builtin_popcountll(a) < __builtin_popcountll(b);
    });
    for (uint64_t m : sorted) out.push_back(from_mask(m));
    return out;
}

std::string set_name(const Family &f, const std::vector<uint32_t> &coords,
                     const std::vector<uint32_t> &cis) {
    if (cis.size() == 1) return coord_name(f, coords[cis[0]]);
    std::string out = f.bins ? "levels " : "levels ";
    for (size_t i = 0; i < cis.size(); ++i)
        out += (i ? "+" : "") + std::to_string(f.bins ? coords[cis[i]] / 16 : coords[cis[i]]);
    return out;
}

void audit_family(const std::string &base, Family &f, uint32_t k, size_t max_reported,
                  Report &report) {
    // Inferred zeros only for levels that exist somewhere for this measure.
    std::erase_if(f.equations, [&](const Equation &e) {
        return e.cells.size() == 1 && !f.coords.count(e.cells[0]);
    });
    std::vector<uint32_t> coords(f.coords.begin(), f.coords.end());
    if (coords.empty()) return;
    std::map<uint32_t, uint32_t> index;
    for (uint32_t i = 0; i < coords.size(); ++i) index[coords[i]] = i;
    std::vector<int64_t> bounds;
    for (const Equation &e : f.equations) bounds.push_back(e.from), bounds.push_back(e.to);
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    if (bounds.size() < 2) return;
    auto bound = [&](int64_t t) {
        return uint32_t(std::lower_bound(bounds.begin(), bounds.end(), t) - bounds.begin());
    };
    const uint32_t C = uint32_t(coords.size());
    // Unknown y(coord, b): cumulative count of the cell at bounds[b]; y(., 0) = 0.
    auto column = [&](uint32_t b, uint32_t ci) { return (b - 1) * C + ci; };
    auto add_point = [&](Vec &v, uint32_t b, const std::vector<uint32_t> &cis, int sign) {
        if (b == 0) return;
        for (uint32_t ci : cis) {
            auto [it, fresh] = v.try_emplace(column(b, ci), Q{});
            it->second = it->second + Q{sign, 1};
            if (it->second.zero()) v.erase(it);
        }
    };
    System sys;
    report.variables += (bounds.size() - 1) * C;
    for (uint32_t id = 0; id < f.equations.size(); ++id) {
        const Equation &e = f.equations[id];
        std::vector<uint32_t> cis;
        if (e.cells.empty())
            for (uint32_t i = 0; i < C; ++i) cis.push_back(i);
        else
            cis.push_back(index.at(e.cells[0]));
        Vec v;
        add_point(v, bound(e.to), cis, +1);
        add_point(v, bound(e.from), cis, -1);
        ++report.equations;
        if (!sys.add(std::move(v), Q{e.value, 1}, id)) ++report.inconsistent;
    }
    // The normal form of every cell's cumulative count at every instant: a sum of cells over a
    // span is determined exactly when the sum of its cells' normal forms at the two ends are
    // equal, and its value is then the difference of their values (linear in the cells).
    struct Point {
        Vec form;       // the remainder after reduction (empty: determined)
        Q value;        // the value of the reduced part
        Vec prov;       // the received figures it combines
        uint64_t hash;  // a random linear projection of `form` (mod 2^61 - 1)
    };
    const uint32_t B = uint32_t(bounds.size());
    std::vector<std::vector<Point>> points(C, std::vector<Point>(B));
    for (uint32_t ci = 0; ci < C; ++ci)
        for (uint32_t b = 0; b < B; ++b) {
            Point &pt = points[ci][b];
            add_point(pt.form, b, {ci}, +1);
            Q rhs{0, 1};
            sys.reduce(pt.form, rhs, pt.prov);
            // Here v_original = remainder + combination, and rhs holds -(combination's value).
            pt.value = Q{0, 1} - rhs;
            pt.hash = project(pt.form);
        }
    // The groups of cells within which every set is tried: the levels (tallies, gauges), or the
    // levels of one bin (distributions).
    std::vector<std::pair<std::string, std::vector<uint32_t>>> groups;
    if (!f.bins) {
        std::vector<uint32_t> all(C);
        std::iota(all.begin(), all.end(), 0);
        groups.push_back({"", all});
    } else {
        for (uint32_t b = 0; b < f.bins; ++b) {
            std::vector<uint32_t> cells;
            for (uint32_t i = 0; i < C; ++i)
                if (coords[i] % 16 == b) cells.push_back(i);
            if (!cells.empty()) groups.push_back({"bin #" + std::to_string(b) + " ", cells});
        }
    }
    for (const auto &[prefix, members] : groups) {
        const std::vector<std::vector<uint32_t>> sets = level_sets(members);
        report.level_sets += sets.size();
        std::set<std::pair<uint32_t, uint32_t>> disclosed;  // spans: once each, smallest set
        std::vector<std::pair<uint64_t, uint32_t>> keyed(B);
        std::vector<Q> values(B);
        for (const std::vector<uint32_t> &cis : sets) {
            for (uint32_t b = 0; b < B; ++b) {
                uint64_t h = 0;
                Q v{0, 1};
                for (uint32_t ci : cis) {
                    h = add_mod(h, points[ci][b].hash);
                    v = v + points[ci][b].value;
                }
                keyed[b] = {h, b};
                values[b] = v;
            }
            std::sort(keyed.begin(), keyed.end());
            for (size_t lo = 0; lo < B;) {
                size_t hi = lo + 1;
                while (hi < B && keyed[hi].first == keyed[lo].first) ++hi;
                for (size_t x = lo; x < hi; ++x)
                    for (size_t y = x + 1; y < hi; ++y) {
                        const uint32_t i = std::min(keyed[x].second, keyed[y].second),
                                       j = std::max(keyed[x].second, keyed[y].second);
                        ++report.spans_checked;
                        const Q value = values[j] - values[i];
                        if (value.d != 1 || value.n == 0 || value.n >= int64_t(k) ||
                            value.n <= -int64_t(k) || disclosed.count({i, j}))
                            continue;
                        // Equal projections: check that the normal forms are equal, exactly.
                        Vec diff, prov;
                        for (uint32_t ci : cis) {
                            axpy(diff, Q{-1, 1}, points[ci][j].form);
                            axpy(diff, Q{1, 1}, points[ci][i].form);
                            axpy(prov, Q{-1, 1}, points[ci][j].prov);
                            axpy(prov, Q{1, 1}, points[ci][i].prov);
                        }
                        if (!diff.empty()) continue;  // a collision of the projection
                        disclosed.insert({i, j});
                        ++report.disclosures;
                        ++report.per_measure[f.measure];
                        ++report.by_figures[std::min<size_t>(std::max<size_t>(prov.size(), 1), 3) -
                                            1];
                        if (cis.size() > 1 && cis.size() + 1 < members.size())
                            ++report.by_other_sets;
                        if (report.found.size() >= max_reported) continue;
                        Disclosure d{base,      f.measure, prefix + set_name(f, coords, cis),
                                     bounds[i], bounds[j], value.n,
                                     {}};
                        for (const auto &[id, q] : prov) {
                            if (d.figures.size() >= 12) {
                                d.figures.push_back("...");
                                break;
                            }
                            const Q &c = q;  // the disclosed count is sum(c x figure)
                            d.figures.push_back(std::string(c.n > 0 ? "+" : "-") +
                                                (c.n == c.d || c.n == -c.d
                                                     ? ""
                                                     : std::to_string(c.n < 0 ? -c.n : c.n) + "/" +
                                                           std::to_string(c.d) + " x ") +
                                                f.equations[id].source);
                        }
                        report.found.push_back(std::move(d));
                    }
                lo = hi;
            }
        }
    }
}

}  // namespace

Report audit_base(const std::vector<Input> &snapshots, uint32_t k, size_t max_reported) {
    Report report;
    report.snapshots = snapshots.size();
    if (snapshots.empty()) return report;
    std::string error;
    const std::optional<time::TimeZone> tz =
        time::TimeZone::load(snapshots.front().snapshot.timezone(), &error);
    Windows win(tz ? &*tz : nullptr);
    std::map<std::string, Family> families;
    for (const Input &in : snapshots) collect(in, win, families);
    for (auto &[name, f] : families)
        audit_family(snapshots.front().snapshot.base_id(), f, k, max_reported, report);
    return report;
}

std::string describe(const Disclosure &d) {
    std::string out =
        d.base + " " + d.measure + " [" + d.cells + "] " +
        (d.from == INT64_MIN ? "at " + when(d.to) : "from " + when(d.from) + " to " + when(d.to)) +
        " = " + std::to_string(d.value) + ", from:";
    for (const std::string &f : d.figures) out += "\n    " + f;
    return out;
}

}  // namespace sonde::ctl::audit
