// The pages' reading of the store (data.hpp). Same SQL on SQLite and PostgreSQL.
#include "data.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <tuple>

#include "catalog_layout.hpp"

namespace sonde::console::web {
namespace {

constexpr uint32_t kDay = 2, kMonth = 3, kSchoolYear = 4, kHour = 1;

int64_t num(const std::optional<std::string> &v) {
    return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
}
std::string text(const std::optional<std::string> &v) { return v ? *v : std::string(); }

std::string in_list(size_t n) {
    std::string s = "(";
    for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
    return s + ")";
}

std::vector<std::string> uais(const Scope &scope) {
    std::vector<std::string> out;
    for (const Establishment &e : scope.establishments) out.push_back(e.uai);
    return out;
}

std::vector<int64_t> numbers(const std::string &csv) {
    std::vector<int64_t> out;
    size_t a = 0;
    while (a < csv.size()) {
        size_t c = csv.find(',', a);
        if (c == std::string::npos) c = csv.size();
        out.push_back(std::strtoll(csv.substr(a, c - a).c_str(), nullptr, 10));
        a = c + 1;
    }
    return out;
}

// A uint64 column as either store gives it: SQLite's signed bit-cast, PostgreSQL's NUMERIC.
uint64_t u64(const std::optional<std::string> &v) {
    if (!v || v->empty()) return 0;
    if ((*v)[0] == '-') return uint64_t(std::strtoll(v->c_str(), nullptr, 10));
    return std::strtoull(v->c_str(), nullptr, 10);
}

struct Span {
    int64_t from = 0, to = 0;
    bool restart = false;
};
// "hours_from,hours_to,restart" (snapshots.coverage): two integers and a flag, nothing else.
bool parse_coverage(const std::optional<std::string_view> &v, Span &out) {
    if (!v) return false;
    const char *p = v->data(), *end = p + v->size();
    long long a = 0, b = 0;
    int r = 0;
    auto field = [&](auto &value, bool last) {
        const auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc() || next == p) return false;
        p = next;
        if (last) return p == end;
        if (p == end || *p != ',') return false;
        ++p;
        return true;
    };
    if (!field(a, false) || !field(b, false) || !field(r, true) || b < a) return false;
    out = {a, b, r != 0};
    return true;
}
bool parse_coverage(const std::optional<std::string> &v, Span &out) {
    return v ? parse_coverage(std::optional<std::string_view>(*v), out) : false;
}

}  // namespace

const char *period_id(Period p) {
    constexpr const char *k[] = {"dernier-jour", "mois-en-cours", "mois-dernier", "annee-en-cours",
                                 "annee-derniere"};
    return k[size_t(p)];
}
const char *period_label(Period p) {
    constexpr const char *k[] = {"Dernier jour", "Mois en cours", "Mois dernier",
                                 "Année scolaire en cours", "Année scolaire dernière"};
    return k[size_t(p)];
}
bool parse_period(std::string_view id, Period &out) {
    for (Period p : kPeriods)
        if (id == period_id(p)) {
            out = p;
            return true;
        }
    return false;
}

std::string date_text(int64_t day) {
    int64_t y;
    unsigned m, d;
    civil_from_days(day, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02u/%02u/%04lld", d, m, static_cast<long long>(y));
    return buf;
}

WindowRef period_window(Period p, int64_t reference_day) {
    int64_t y;
    unsigned m, d;
    civil_from_days(reference_day, y, m, d);
    const int64_t month = (y - 1970) * 12 + (m - 1);
    const int64_t school_year = m >= 9 ? y : y - 1;
    switch (p) {
        case Period::LastDay:
            return {kDay, reference_day - 1};
        case Period::CurrentMonth:
            return {kMonth, month};
        case Period::LastMonth:
            return {kMonth, month - 1};
        case Period::CurrentYear:
            return {kSchoolYear, school_year};
        case Period::LastYear:
            return {kSchoolYear, school_year - 1};
    }
    return {};
}

int64_t distribution_year(Period p, int64_t reference_day) {
    if (p == Period::LastYear) return period_window(p, reference_day).number;
    return period_window(Period::CurrentYear, reference_day).number;
}

bool load_scope(Reader &reader, const Principal &who, const std::vector<std::string> &wanted,
                Scope &out, std::string *error) {
    out = {};
    std::vector<std::string> list;
    for (const std::string &u : who.establishments)
        if (wanted.empty() || std::find(wanted.begin(), wanted.end(), u) != wanted.end())
            list.push_back(u);
    if (list.empty()) return true;
    std::vector<Reader::Row> rows;
    if (!reader.query("SELECT uai, name, commune, timezone FROM establishments WHERE uai IN " +
                          in_list(list.size()),
                      list, rows, error))
        return false;
    std::map<std::string, Establishment> named;
    for (const auto &r : rows) named[text(r[0])] = {text(r[0]), text(r[1]), text(r[2]), text(r[3])};
    for (const std::string &u : list) {
        auto it = named.find(u);
        out.establishments.push_back(it != named.end() ? it->second
                                                       : Establishment{u, u, "", "Europe/Paris"});
    }
    std::sort(out.establishments.begin(), out.establishments.end(),
              [](const Establishment &a, const Establishment &b) {
                  return std::tie(a.name, a.uai) < std::tie(b.name, b.uai);
              });
    if (!reader.query("SELECT base, MAX(created_unix) FROM snapshots WHERE status = 'applied' "
                      "AND base IN " +
                          in_list(list.size()) + " GROUP BY base",
                      list, rows, error))
        return false;
    for (const auto &r : rows) out.fresh[text(r[0])] = num(r[1]);
    return true;
}

bool load_figures(Reader &reader, const Scope &scope, WindowRef window, int64_t year,
                  const std::vector<const Quantity *> &needed, bool levels,
                  std::map<std::string, BaseFigures> &out, std::string *error) {
    out.clear();
    const std::vector<std::string> list = uais(scope);
    for (const std::string &u : list) out[u];
    if (list.empty()) return true;
    // Which establishments have figures at the window at all (a missing figure is then 0).
    std::vector<std::string> params = list;
    params.push_back(std::to_string(window.kind));
    params.push_back(std::to_string(window.number));
    std::vector<Reader::Row> present;
    if (!reader.query("SELECT DISTINCT base FROM figures WHERE base IN " + in_list(list.size()) +
                          " AND family IN (2, 3) AND window_kind = ? AND window_number = ?",
                      params, present, error))
        return false;
    for (const auto &r : present) out[text(r[0])].has_window = true;
    // Only the measures the tables show: catalogue numbers from the menu tree, as literals.
    std::set<std::string> terms;
    for (const Quantity *q : needed) {
        auto ids = [&] {
            std::string s;
            for (uint32_t id : q->ids) s += (s.empty() ? "" : ", ") + std::to_string(id);
            return s.empty() ? std::string("0") : s;
        };
        switch (q->source) {
            case Quantity::Source::None:
                break;
            case Quantity::Source::Value:
                terms.insert(
                    "(f.family = 2 AND f.window_kind = ?1 AND f.window_number = ?2 AND "
                    "f.d0 = " +
                    std::to_string(q->measure_kind) + " AND f.d1 IN (" + ids() + "))");
                break;
            case Quantity::Source::Distinct:
                terms.insert("(f.family = 3 AND f.window_kind = ?1 AND f.window_number = ?2)");
                break;
            case Quantity::Source::Gauge:
                terms.insert("(f.family = 1 AND f.d0 IN (" + ids() + "))");
                break;
            case Quantity::Source::Distribution:
                terms.insert(
                    "(f.family = 4 AND f.window_kind = ?3 AND f.window_number = ?4 AND "
                    "f.d0 IN (" +
                    ids() + "))");
                break;
        }
    }
    if (levels) terms.insert("(f.family = 0)");
    if (terms.empty()) return true;
    // The terms' ?1..?4 become positional placeholders, in order.
    std::string where = "f.base IN " + in_list(list.size()) + " AND (";
    params = list;
    bool first = true;
    for (const std::string &t : terms) {
        where += first ? "" : " OR ";
        first = false;
        for (size_t i = 0; i < t.size(); ++i) {
            if (t[i] == '?' && i + 1 < t.size() && t[i + 1] >= '1' && t[i + 1] <= '4') {
                const int n = t[i + 1] - '0';
                where += '?';
                params.push_back(std::to_string(n == 1   ? int64_t(window.kind)
                                                : n == 2 ? window.number
                                                : n == 3 ? int64_t(kSchoolYear)
                                                         : year));
                ++i;
            } else {
                where += t[i];
            }
        }
    }
    where += ")";
    const std::string sql =
        "SELECT base, family, d0, d1, d2, d3, d4, d5, value, suppressed, rounded, partial, label, "
        "bin_low, students, set_unix FROM (" +
        window_figures_select(where) + ") AS w";
    std::vector<Reader::Row> rows;
    if (!reader.query(sql, params, rows, error)) return false;
    for (const auto &r : rows) {
        BaseFigures &b = out[text(r[0])];
        const int64_t family = num(r[1]);
        uint32_t d[6];
        for (int i = 0; i < 6; ++i) d[i] = uint32_t(num(r[2 + i]));
        const Fig f{num(r[8]), num(r[9]) != 0, num(r[10]) != 0, num(r[11]) != 0, num(r[15])};
        switch (family) {
            case 0:
                b.levels[d[0]] = text(r[12]);
                break;
            case 1:
                b.gauges[{d[0], d[1]}] = f;
                break;
            case 2:
                b.values[{d[0], d[1], d[2], d[3], d[4], d[5]}] = f;
                break;
            case 3:
                b.distinct[{d[0], d[1], d[2]}] = f;
                break;
            case 4: {
                Dist &dist = b.distributions[{d[0], d[1]}];
                dist.students = numbers(text(r[14]));
                dist.suppressed = f.suppressed;
                dist.rounded = f.rounded;
                dist.partial = f.partial;
                break;
            }
            default:
                break;
        }
    }
    return true;
}

bool load_feed_status(Reader &reader, const Scope &scope, int64_t since_unix,
                      std::vector<FeedStatus> &out, std::string *error) {
    out.clear();
    const std::vector<std::string> list = uais(scope);
    std::map<std::string, size_t> index;
    for (const Establishment &e : scope.establishments) {
        index[e.uai] = out.size();
        FeedStatus f;
        f.establishment = e;
        auto fresh = scope.fresh.find(e.uai);
        if (fresh != scope.fresh.end()) f.fresh_unix = fresh->second;
        out.push_back(std::move(f));
    }
    if (list.empty()) return true;
    auto at = [&](const std::optional<std::string> &base) -> FeedStatus * {
        auto it = index.find(text(base));
        return it == index.end() ? nullptr : &out[it->second];
    };
    // The snapshot received last, and the newest complete hour it says, per base.
    // (The latest reception time per base through the index snapshots_feed, then its rows:
    // several files received in the same second are told apart by the highest sequence.)
    std::vector<Reader::Row> rows;
    if (!reader.query("SELECT s.base, s.sequence, s.created_unix, s.received_unix, s.status FROM "
                      "snapshots s JOIN (SELECT base, MAX(received_unix) AS last FROM snapshots "
                      "WHERE base IN " +
                          in_list(list.size()) +
                          " GROUP BY base) AS m ON s.base = m.base AND s.received_unix = m.last",
                      list, rows, error))
        return false;
    for (const auto &r : rows)
        if (FeedStatus *f = at(r[0])) {
            const uint64_t sequence = u64(r[1]);
            if (f->received && sequence < f->last_sequence) continue;
            f->received = true;
            f->last_sequence = sequence;
            f->last_created_unix = num(r[2]);
            f->last_received_unix = num(r[3]);
            f->last_status = text(r[4]);
        }
    // Recent snapshots: the delay from creation to reception, and the coverage chains (gaps).
    std::vector<std::string> params = list;
    params.push_back(std::to_string(since_unix));
    if (!reader.query("SELECT base, MIN(received_unix - created_unix) FROM snapshots WHERE base "
                      "IN " +
                          in_list(list.size()) +
                          " AND received_unix >= ? AND created_unix > 0 GROUP BY base",
                      params, rows, error))
        return false;
    for (const auto &r : rows)
        if (FeedStatus *f = at(r[0]); f && r[1]) {
            f->skew_known = true;
            f->skew_seconds = num(r[1]);
        }
    // The skew measured at upload time, when a recent one exists, replaces the estimate.
    if (!reader.query("SELECT base, skew_seconds, measured_unix FROM clock_skew WHERE base IN " +
                          in_list(list.size()) + " AND measured_unix >= ?",
                      params, rows, error))
        return false;
    for (const auto &r : rows)
        if (FeedStatus *f = at(r[0])) {
            f->skew_known = f->skew_measured = true;
            f->skew_seconds = num(r[1]);
            f->skew_measured_unix = num(r[2]);
        }
    // A week of files is hundreds of thousands of rows: read without copying them, through the
    // index snapshots_feed that holds these columns, each row added to the chain of its base
    // (an index in `out`) and generation (its text), found again only when they change.
    std::map<std::pair<size_t, std::string>, std::vector<Span>> chains;
    std::string last_base, last_generation;
    FeedStatus *last = nullptr;
    std::vector<Span> *chain = nullptr;
    if (!reader.query_each(
            "SELECT base, generation, coverage FROM snapshots WHERE base IN " +
                in_list(list.size()) +
                " AND received_unix >= ? AND status = 'applied' AND coverage IS NOT NULL",
            params,
            [&](Reader::RowView r) {
                Span span;
                if (!r[0] || !r[1] || !parse_coverage(r[2], span)) return;
                if (!last || *r[0] != last_base) {
                    last_base = *r[0];
                    last_generation.clear();
                    auto it = index.find(last_base);
                    last = it == index.end() ? nullptr : &out[it->second];
                    chain = nullptr;
                }
                if (!last) return;
                if (!chain || *r[1] != last_generation) {
                    last_generation = *r[1];
                    chain = &chains[{size_t(last - out.data()), last_generation}];
                }
                last->coverage_seen = true;
                chain->push_back(span);
            },
            error))
        return false;
    for (auto &[key, spans] : chains) {
        FeedStatus &f = out[key.first];
        std::sort(spans.begin(), spans.end(), [](const Span &a, const Span &b) {
            return std::tie(a.from, a.to) < std::tie(b.from, b.to);
        });
        int64_t end = spans.front().to;
        for (size_t i = 1; i < spans.size(); ++i) {
            if (spans[i].from > end && !spans[i].restart) {
                f.gaps.emplace_back(end, spans[i].from);
                f.gap_hours += (spans[i].from - end + 3599) / 3600;
            }
            end = std::max(end, spans[i].to);
        }
        f.complete_until_unix = std::max(f.complete_until_unix, end);
    }
    for (FeedStatus &f : out) std::sort(f.gaps.begin(), f.gaps.end());
    // The newest complete hour of bases without recent coverage: their newest snapshot's.
    std::vector<std::string> older;
    for (const FeedStatus &f : out)
        if (f.received && !f.coverage_seen) older.push_back(f.establishment.uai);
    if (!older.empty()) {
        if (!reader.query("SELECT base, coverage FROM (SELECT base, coverage, ROW_NUMBER() OVER "
                          "(PARTITION BY base ORDER BY created_unix DESC) AS n FROM snapshots "
                          "WHERE status = 'applied' AND coverage IS NOT NULL AND base IN " +
                              in_list(older.size()) + ") AS s WHERE n = 1",
                          older, rows, error))
            return false;
        for (const auto &r : rows) {
            Span span;
            if (FeedStatus *f = at(r[0]); f && parse_coverage(r[1], span))
                f->complete_until_unix = std::max(f->complete_until_unix, span.to);
        }
    }
    // Refusals: uploads refused at the door, and files received but not applied.
    if (!reader.query("SELECT base, count, last_unix, reason, detail FROM upload_rejections WHERE "
                      "base IN " +
                          in_list(list.size()),
                      list, rows, error))
        return false;
    auto note = [](FeedStatus &f, int64_t when, const std::string &why) {
        if (when >= f.last_rejection_unix) {
            f.last_rejection_unix = when;
            f.last_rejection = why;
        }
    };
    for (const auto &r : rows)
        if (FeedStatus *f = at(r[0])) {
            f->refused_uploads += u64(r[1]);
            note(*f, num(r[2]), text(r[4]).empty() ? text(r[3]) : text(r[4]));
        }
    if (!reader.query("SELECT s.base, g.n, s.received_unix, s.status, s.reason FROM snapshots s "
                      "JOIN (SELECT base, COUNT(*) AS n, MAX(received_unix) AS last FROM "
                      "snapshots WHERE status <> 'applied' AND base IN " +
                          in_list(list.size()) +
                          " GROUP BY base) AS g ON s.base = g.base AND s.received_unix = g.last "
                          "WHERE s.status <> 'applied'",
                      list, rows, error))
        return false;
    std::set<std::string> counted;
    for (const auto &r : rows)
        if (FeedStatus *f = at(r[0])) {
            if (counted.insert(text(r[0])).second) f->unapplied_files = u64(r[1]);
            note(*f, num(r[2]), text(r[3]) + ": " + text(r[4]));
        }
    return true;
}

bool load_gauge_history(Reader &reader, const Scope &scope, const std::vector<uint32_t> &gauge_ids,
                        GaugeHistory &out, std::string *error) {
    out.clear();
    const std::vector<std::string> list = uais(scope);
    if (list.empty() || gauge_ids.empty()) return true;
    std::string ids;
    for (uint32_t id : gauge_ids) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    std::vector<Reader::Row> rows;
    if (!reader.query("SELECT school_year, base, gauge, level, value, suppressed, rounded, "
                      "set_unix FROM gauge_years WHERE gauge IN (" +
                          ids + ") AND base IN " + in_list(list.size()),
                      list, rows, error))
        return false;
    for (const auto &r : rows)
        out[num(r[0])][text(r[1])][{uint32_t(num(r[2])), uint32_t(num(r[3]))}] =
            Fig{num(r[4]), num(r[5]) != 0, num(r[6]) != 0, false, num(r[7])};
    return true;
}

bool local_hour(const std::map<int64_t, int64_t> &days, int64_t hour_start, int64_t &day,
                int &hour) {
    // The last day starting at or before the hour; the hour must start before the next day
    // (known, or 25 hours at most after this one's start).
    auto it = days.end();
    for (auto i = days.begin(); i != days.end(); ++i)
        if (i->second <= hour_start) it = i;
    if (it == days.end()) return false;
    const auto next = std::next(it);
    const int64_t end =
        next != days.end() && next->first == it->first + 1 ? next->second : it->second + 25 * 3600;
    if (hour_start >= end) return false;
    const int64_t off_start = it->first * 86400 - it->second;
    int64_t offset = off_start;
    if (next != days.end() && next->first == it->first + 1) {
        const int64_t off_end = next->first * 86400 - next->second;
        if (off_end != off_start) {
            const int64_t change = it->first * 86400 + (off_end > off_start ? 2 : 3) * 3600 -
                                   off_start;  // the instant of the change
            if (hour_start >= change) offset = off_end;
        }
    }
    const int64_t local = hour_start + offset;
    day = it->first;
    hour = int((local - day * 86400) / 3600);
    hour = std::clamp(hour, 0, 23);
    return true;
}

bool load_series(Reader &reader, const Scope &scope, int64_t first_day, int64_t last_day,
                 int64_t first_hour_day, Series &out, std::string *error) {
    out = {};
    const std::vector<std::string> list = uais(scope);
    if (list.empty()) return true;
    // The series figures: connections with profile, medium and access 0 (the total), and
    // distinct users of the catalogue's daily selection (docs/snapshot.md#windows).
    std::vector<std::string> params = list;
    for (const int64_t v :
         {int64_t(kDay), first_day, last_day, int64_t(catalog::kDailyDistinctProfiles),
          int64_t(catalog::kDailyDistinctMedia), int64_t(catalog::kDailyDistinctAccesses)})
        params.push_back(std::to_string(v));
    std::vector<Reader::Row> rows;
    if (!reader.query(
            "SELECT window_number, family, SUM(value), MAX(suppressed) FROM (" +
                window_figures_select(
                    "f.base IN " + in_list(list.size()) +
                    " AND f.window_kind = ? AND f.window_number BETWEEN ? AND ? AND ((f.family = "
                    "2 AND f.d0 = 3 AND f.d3 = 0 AND f.d4 = 0 AND f.d5 = 0) OR (f.family = 3 AND "
                    "f.d0 = ? AND f.d1 = ? AND f.d2 = ?))") +
                ") AS w GROUP BY window_number, family",
            params, rows, error))
        return false;
    for (const auto &r : rows) {
        const int64_t day = num(r[0]);
        (num(r[1]) == 2 ? out.day_connections : out.day_people)[day] = num(r[2]);
        if (num(r[3])) out.day_held[day] = true;
    }
    // Hours: each establishment's hour totals, placed in its own local days (the starts of its
    // day windows, from any figure of those days).
    params = list;
    for (const int64_t v : {int64_t(kHour), (first_hour_day - 1) * 86400, (last_day + 2) * 86400})
        params.push_back(std::to_string(v));
    if (!reader.query("SELECT base, window_start, value FROM (" +
                          window_figures_select(
                              "f.base IN " + in_list(list.size()) +
                              " AND f.window_kind = ? AND f.window_start >= ? AND f.window_start "
                              "< ? AND f.family = 2 AND f.d0 = 3 AND f.d3 = 0 AND f.d4 = 0 AND "
                              "f.d5 = 0") +
                          ") AS w",
                      params, rows, error))
        return false;
    std::vector<Reader::Row> day_rows;
    params = list;
    for (const int64_t v : {int64_t(kDay), first_hour_day - 1, last_day + 1})
        params.push_back(std::to_string(v));
    if (!reader.query("SELECT DISTINCT base, window_number, window_start FROM figures WHERE base "
                      "IN " +
                          in_list(list.size()) +
                          " AND window_kind = ? AND window_number BETWEEN ? AND ?",
                      params, day_rows, error))
        return false;
    std::map<std::string, std::map<int64_t, int64_t>> days;
    for (const auto &r : day_rows) days[text(r[0])][num(r[1])] = num(r[2]);
    for (const auto &r : rows) {
        int64_t day = 0;
        int hour = 0;
        if (!local_hour(days[text(r[0])], num(r[1]), day, hour)) {
            out.unplaced += num(r[2]);
            continue;
        }
        if (day >= first_hour_day && day <= last_day)
            out.hour_connections[{day, hour}] += num(r[2]);
    }
    return true;
}

}  // namespace sonde::console::web
