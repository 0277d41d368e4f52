// What both stores share: the families' combination across segment generations and the view
// window_figures (docs/delivery.md#the-ingestor). The newest row is the highest sequence as an
// unsigned number: SQLite holds it bit-cast (negative at or above 2^63), PostgreSQL as NUMERIC
// (never negative), hence "sequence < 0 DESC" first.
#include "store.hpp"

#include "snapshot/ingest.hpp"

namespace sonde::console {

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
