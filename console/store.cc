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

std::string window_figures_view_sql() {
    const std::string key =
        "f.base, f.family, f.window_kind, f.window_start, f.d0, f.d1, f.d2, f.d3, f.d4, f.d5";
    return "CREATE VIEW window_figures AS SELECT " + std::string(kKeyColumns) +
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
           ") AS any_rounded FROM figures f JOIN figure_families c ON c.family = f.family) AS r "
           "WHERE newest = 1";
}

}  // namespace sonde::console
