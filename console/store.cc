// What both stores share: the families' combination across segment generations and the view
// window_figures (docs/delivery.md#the-ingestor). The newest row is the highest sequence as an
// unsigned number: SQLite holds it bit-cast (negative at or above 2^63), PostgreSQL as NUMERIC
// (never negative), hence "sequence < 0 DESC" first.
#include "store.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "civil.hpp"
#include "snapshot/ingest.hpp"
#include "snapshot/model.hpp"

namespace sonde::console {

namespace {
constexpr uint32_t kSchoolYearWindow = uint32_t(snapshot::WindowKind::SchoolYear);
}  // namespace

using snapshot::IngestStore;

std::string figure_families_sql() {
    std::string sql = "INSERT INTO figure_families (family, name, across) VALUES ";
    bool first = true;
    for (IngestStore::Family f : IngestStore::kFamilies) {
        const IngestStore::Across a = IngestStore::across_generations(f);
        const char *across = a == IngestStore::Across::Sum       ? "sum"
                             : a == IngestStore::Across::Partial ? "partial"
                                                                 : "latest";
        sql += (first ? "(" : ",(") + std::to_string(unsigned(f)) + ",'" +
               IngestStore::family_name(f) + "','" + across + "')";
        first = false;
    }
    sql += " ON CONFLICT (family) DO UPDATE SET name = excluded.name, across = excluded.across";
    return sql;
}

std::string window_figures_select(const std::string &where) {
    const std::string key =
        "f.base, f.family, f.window_kind, f.window_start, f.d0, f.d1, f.d2, f.d3, f.d4, f.d5";
    return "SELECT " + std::string(kKeyColumns) +
           ", window_number, CASE WHEN across = 'sum' THEN total ELSE value END AS value, "
           "CASE WHEN across = 'sum' THEN any_suppressed ELSE suppressed END AS suppressed, "
           "CASE WHEN across = 'sum' THEN any_rounded ELSE rounded END AS rounded, set_unix, "
           "label, bin_low, students, sequence, generations, CASE WHEN across = 'partial' AND "
           "generations > 1 THEN 1 ELSE 0 END AS partial FROM (SELECT f.*, c.across, "
           "ROW_NUMBER() OVER (PARTITION BY " +
           key +
           " ORDER BY f.sequence < 0 DESC, f.sequence DESC, f.generation DESC) AS newest, "
           "SUM(f.value) OVER "
           "(PARTITION BY " +
           key + ") AS total, COUNT(*) OVER (PARTITION BY " + key +
           ") AS generations, MAX(f.suppressed) OVER (PARTITION BY " + key +
           ") AS any_suppressed, MAX(f.rounded) OVER (PARTITION BY " + key +
           ") AS any_rounded FROM figures f JOIN figure_families c ON c.family = f.family" +
           (where.empty() ? std::string() : " WHERE " + where) + ") AS r WHERE newest = 1";
}

std::string window_figures_view_sql() {
    return "CREATE VIEW window_figures AS " + window_figures_select("");
}

int64_t school_year_of_unix(int64_t unix) {
    // The UTC date: September to December belong to the school year starting that year,
    // January to August to the one that started the year before.
    const int64_t days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400;
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    return m >= 9 ? y : y - 1;
}

std::string gauge_years_backfill_sql() {
    // The same arithmetic as school_year_of_unix for t >= 0, in layers so that each step is
    // named once.
    return "INSERT INTO gauge_years (base, school_year, gauge, level, value, suppressed, rounded, "
           "set_unix, read_unix, sequence) SELECT base, era * 400 + yoe - CASE WHEN (5 * doy + "
           "2) / 153 < 6 THEN 1 ELSE 0 END, gauge, level, value, suppressed, rounded, set_unix, "
           "t, sequence FROM (SELECT y.*, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy FROM "
           "(SELECT e.*, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe FROM "
           "(SELECT c.*, z - era * 146097 AS doe FROM (SELECT b.*, z / 146097 AS era FROM "
           "(SELECT a.*, t / 86400 + 719468 AS z FROM (SELECT w.base AS base, w.d0 AS gauge, "
           "w.d1 AS level, w.value AS value, w.suppressed AS suppressed, w.rounded AS rounded, "
           "w.set_unix AS set_unix, w.sequence AS sequence, COALESCE(s.created_unix, "
           "w.set_unix) AS t FROM window_figures w LEFT JOIN snapshots s ON s.base = w.base AND "
           "s.sequence = w.sequence WHERE w.family = 1) AS a WHERE t >= 0) AS b) AS c) AS e) AS "
           "y) AS g WHERE NOT EXISTS (SELECT 1 FROM gauge_years) ON CONFLICT (base, school_year, "
           "gauge, level) DO NOTHING";
}

int64_t school_year_of_reading(const std::vector<FigureRow> &figures, size_t from, size_t to,
                               int64_t read_unix) {
    int64_t year = -1;
    for (size_t i = from; i < to && i < figures.size(); ++i)
        if (figures[i].window_kind == kSchoolYearWindow && figures[i].window_start <= read_unix)
            year = std::max<int64_t>(year, figures[i].window_number);
    return year >= 0 ? year : school_year_of_unix(read_unix);
}

void add_gauge_years(const std::vector<FigureRow> &figures, size_t from, int64_t read_unix,
                     std::vector<GaugeYearRow> &out) {
    const int64_t year = school_year_of_reading(figures, from, figures.size(), read_unix);
    for (size_t i = from; i < figures.size(); ++i) {
        const FigureRow &f = figures[i];
        if (f.family != uint32_t(IngestStore::Family::Gauge)) continue;
        out.push_back({f.base, year, f.dims[0], f.dims[1], f.value, f.suppressed, f.rounded,
                       f.set_unix, read_unix, f.sequence});
    }
}

void keep_last_reading_per_year(std::vector<GaugeYearRow> &rows) {
    std::map<std::tuple<std::string, int64_t, uint32_t, uint32_t>, size_t> best;
    std::vector<GaugeYearRow> out;
    for (GaugeYearRow &r : rows) {
        auto [it, fresh] = best.try_emplace({r.base, r.school_year, r.gauge, r.level}, out.size());
        if (fresh)
            out.push_back(std::move(r));
        else if (r.sequence > out[it->second].sequence)
            out[it->second] = std::move(r);
    }
    rows = std::move(out);
}

bool Store::apply(const std::vector<SnapshotRow> &snapshots, const std::vector<FigureRow> &figures,
                  std::string *error) {
    std::map<std::pair<std::string, uint64_t>, int64_t> created;
    for (const SnapshotRow &s : snapshots) created[{s.base, s.sequence}] = s.created_unix;
    // Each snapshot's local school year, from its school-year windows (school_year_of_reading).
    std::map<std::pair<std::string, uint64_t>, int64_t> local_year;
    for (const FigureRow &f : figures) {
        auto it = created.find({f.base, f.sequence});
        if (f.window_kind != kSchoolYearWindow || it == created.end() ||
            f.window_start > it->second)
            continue;
        auto [y, fresh] = local_year.try_emplace({f.base, f.sequence}, f.window_number);
        if (!fresh) y->second = std::max<int64_t>(y->second, f.window_number);
    }
    std::vector<GaugeYearRow> years;
    for (const FigureRow &f : figures) {
        if (f.family != uint32_t(IngestStore::Family::Gauge)) continue;
        auto it = created.find({f.base, f.sequence});
        const int64_t read = it != created.end() ? it->second : f.set_unix;
        auto y = local_year.find({f.base, f.sequence});
        years.push_back({f.base, y != local_year.end() ? y->second : school_year_of_unix(read),
                         f.dims[0], f.dims[1], f.value, f.suppressed, f.rounded, f.set_unix, read,
                         f.sequence});
    }
    keep_last_reading_per_year(years);
    return apply(snapshots, figures, years, error);
}

bool valid_uai(std::string_view uai) {
    if (uai.size() != 8 || uai[7] < 'A' || uai[7] > 'Z') return false;
    for (size_t i = 0; i < 7; ++i)
        if (uai[i] < '0' || uai[i] > '9') return false;
    return true;
}

bool parse_establishments(const std::string &text, std::vector<Establishment> &out,
                          std::string *error) {
    size_t line_no = 0, pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> f;
        size_t a = 0;
        for (;;) {
            const size_t t = line.find('\t', a);
            f.push_back(line.substr(a, t == std::string::npos ? std::string::npos : t - a));
            if (t == std::string::npos) break;
            a = t + 1;
        }
        if (f.size() < 3 || f.size() > 4 || !valid_uai(f[0]) || f[1].empty()) {
            if (error)
                *error = "line " + std::to_string(line_no) +
                         ": expected UAI<TAB>NAME<TAB>COMMUNE[<TAB>TIMEZONE]";
            return false;
        }
        out.push_back({f[0], f[1], f[2], f.size() == 4 && !f[3].empty() ? f[3] : "Europe/Paris"});
    }
    return true;
}

}  // namespace sonde::console
