#pragma once
// Where the ingestor puts figures: an interface with two implementations, SQLite (default) and
// PostgreSQL (docs/delivery.md#storage). One apply() is one transaction.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::console {

// One figure, keyed by (base, generation, family, window_kind, window_start, dims). The family
// and the dims are IngestStore's (plugin/snapshot/ingest.hpp), dims padded with zeros.
struct FigureRow {
    std::string base;
    uint64_t generation = 0;
    uint32_t family = 0;
    uint32_t window_kind = 0;
    int64_t window_start = 0;
    std::array<uint32_t, 6> dims{};
    uint32_t window_number = 0;
    int64_t value = 0;
    bool suppressed = false;
    bool rounded = false;
    int64_t set_unix = 0;
    std::string label;     // levels
    std::string bin_low;   // distributions: decimal numbers separated by commas
    std::string students;  // distributions
    uint64_t sequence = 0;
};

// One received snapshot (the console's pages read these).
struct SnapshotRow {
    std::string base;
    uint64_t sequence = 0;
    uint64_t generation = 0;
    int64_t created_unix = 0;
    int64_t received_unix = 0;
    int64_t applied_unix = 0;
    uint64_t size = 0;
    uint64_t figures = 0;
    // The hours the snapshot completes (docs/snapshot.md#coverage) as "hours_from,hours_to,restart"
    // (unix seconds, seconds, 0 or 1); none for a snapshot without coverage or not opened.
    std::optional<std::string> coverage;
    std::string status;  // applied | unknown_schema | unreadable
    std::string reason;
};

// One establishment (table `establishments`): the names and communes the pages show, and the
// time zone its base reads its days in. Shared with the tenants model (docs/console.md).
struct Establishment {
    std::string uai, name, commune, timezone;
};

// Uploads of one base refused for one reason (docs/console.md#etat-des-remontees): counted per
// (base, reason), with the first and last time and the last refusal's text.
struct RejectionRow {
    std::string base, reason, detail;
    uint64_t count = 0;
    int64_t first_unix = 0, last_unix = 0;
};

// The last reading of one gauge in one school year (table `gauge_years`, docs/delivery.md#the-
// ingestor): the history of the gauges that the home's years read (docs/console.md#home). A
// reading belongs to the school year (1 September to 31 August, UTC date) of the snapshot that
// carried it (its creation time); within one year the file with the highest sequence wins.
struct GaugeYearRow {
    std::string base;
    int64_t school_year = 0;  // the year it starts: 2025 for 2025-2026
    uint32_t gauge = 0, level = 0;
    int64_t value = 0;
    bool suppressed = false, rounded = false;
    int64_t set_unix = 0;   // when the gauge was set (the figure's)
    int64_t read_unix = 0;  // the carrying snapshot's creation time
    uint64_t sequence = 0;  // the carrying snapshot's sequence
};
// The school year (by the year it starts) of a unix time, its UTC date.
int64_t school_year_of_unix(int64_t unix);
// The school year a snapshot created at `read_unix` was read in, from its figures
// `figures[from, to)`: the newest school-year window opened by then (the plugin's, in the
// establishment's own calendar: an overseas establishment's 1 September starts hours before
// Paris's), else the UTC date's.
int64_t school_year_of_reading(const std::vector<FigureRow> &figures, size_t from, size_t to,
                               int64_t read_unix);
// Appends the gauge readings (family 1) of `figures[from..]`, all carried by one snapshot created
// at `read_unix`, as GaugeYearRows, in the school year of school_year_of_reading.
void add_gauge_years(const std::vector<FigureRow> &figures, size_t from, int64_t read_unix,
                     std::vector<GaugeYearRow> &out);
// Keeps one row per (base, school_year, gauge, level): the highest sequence.
void keep_last_reading_per_year(std::vector<GaugeYearRow> &rows);

// The clock skew of one base, measured at an upload (docs/delivery.md#clock): the console's
// clock minus the sender's (its `Date` header) when the request's headers were in. Negative: the
// school's clock is ahead.
struct SkewRow {
    std::string base;
    int64_t skew_seconds = 0;
    int64_t measured_unix = 0;  // the console's clock then
};

class Store {
  public:
    virtual ~Store() = default;
    // Upserts the figures (highest sequence wins per key), the gauges' history (highest sequence
    // wins per base, school year, gauge and level: an older file never overwrites a newer
    // reading) and the snapshot rows, atomically. `gauge_years` may hold several rows per key.
    virtual bool apply(const std::vector<SnapshotRow> &snapshots,
                       const std::vector<FigureRow> &figures,
                       const std::vector<GaugeYearRow> &gauge_years, std::string *error) = 0;
    // The same, the history taken from the figures' gauges: each read at the creation time of
    // the snapshot row of the same base and sequence, or else at its own set_unix.
    bool apply(const std::vector<SnapshotRow> &snapshots, const std::vector<FigureRow> &figures,
               std::string *error);
    // Inserts or replaces establishments by UAI, atomically.
    virtual bool upsert_establishments(const std::vector<Establishment> &rows,
                                       std::string *error) = 0;
    // Adds the rows' counts to the table `upload_rejections`, atomically.
    virtual bool record_rejections(const std::vector<RejectionRow> &rows, std::string *error) = 0;
    // Keeps, per base, the newest of the rows' measures and the table's (`clock_skew`).
    virtual bool record_skews(const std::vector<SkewRow> &rows, std::string *error) = 0;
};

// `sonde-console establishments import FILE`: tab-separated "UAI NAME COMMUNE [TIMEZONE]" per
// line ('#' comments and blank lines skipped; timezone Europe/Paris when absent). False with
// the line's number in `error` on a malformed line (bad UAI, missing name).
bool parse_establishments(const std::string &text, std::vector<Establishment> &out,
                          std::string *error);
// 7 ASCII digits and one ASCII capital letter.
bool valid_uai(std::string_view uai);
// The SQL both stores run (portable): the table, and the upsert of one row with 4 parameters.
inline constexpr const char *kEstablishmentsSchema =
    "CREATE TABLE IF NOT EXISTS establishments (uai TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "commune TEXT NOT NULL, timezone TEXT NOT NULL)";
inline constexpr const char *kEstablishmentUpsert =
    "INSERT INTO establishments (uai, name, commune, timezone) VALUES (?,?,?,?) ON CONFLICT "
    "(uai) DO UPDATE SET name = excluded.name, commune = excluded.commune, timezone = "
    "excluded.timezone";

// The table of refused uploads and the addition of one row's count with 6 parameters (base,
// reason, count, first_unix, last_unix, detail). Portable SQL.
inline constexpr const char *kRejectionsSchema =
    "CREATE TABLE IF NOT EXISTS upload_rejections (base TEXT NOT NULL, reason TEXT NOT NULL, "
    "count BIGINT NOT NULL, first_unix BIGINT NOT NULL, last_unix BIGINT NOT NULL, detail TEXT "
    "NOT NULL, PRIMARY KEY (base, reason))";
// The État des remontées reads a base's recent snapshots by reception time: the index holds
// every column it reads, so its scans of a week of files never visit the table (the index
// snapshots_received, without them, is replaced).
inline constexpr const char *kSnapshotsIndex =
    "DROP INDEX IF EXISTS snapshots_received; CREATE INDEX IF NOT EXISTS snapshots_feed ON "
    "snapshots (base, received_unix, status, generation, created_unix, coverage)";
inline constexpr const char *kRejectionUpsert =
    "INSERT INTO upload_rejections (base, reason, count, first_unix, last_unix, detail) VALUES "
    "(?,?,?,?,?,?) ON CONFLICT (base, reason) DO UPDATE SET count = upload_rejections.count + "
    "excluded.count, first_unix = CASE WHEN excluded.first_unix < upload_rejections.first_unix "
    "THEN excluded.first_unix ELSE upload_rejections.first_unix END, last_unix = CASE WHEN "
    "excluded.last_unix > upload_rejections.last_unix THEN excluded.last_unix ELSE "
    "upload_rejections.last_unix END, detail = excluded.detail";

// The gauges' history and its upsert with 10 parameters (base, school_year, gauge, level, value,
// suppressed, rounded, set_unix, read_unix, sequence). Portable SQL: the sequence compares as
// unsigned on both (SQLite holds it bit-cast, PostgreSQL's NUMERIC is never negative).
inline constexpr const char *kGaugeYearsSchema =
    "CREATE TABLE IF NOT EXISTS gauge_years (base TEXT NOT NULL, school_year BIGINT NOT NULL, "
    "gauge BIGINT NOT NULL, level BIGINT NOT NULL, value BIGINT NOT NULL, suppressed SMALLINT "
    "NOT NULL, rounded SMALLINT NOT NULL, set_unix BIGINT NOT NULL, read_unix BIGINT NOT NULL, "
    "sequence NUMERIC(20,0) NOT NULL, PRIMARY KEY (base, school_year, gauge, level))";
inline constexpr const char *kGaugeYearUpsert =
    "INSERT INTO gauge_years (base, school_year, gauge, level, value, suppressed, rounded, "
    "set_unix, read_unix, sequence) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (base, school_year, "
    "gauge, level) DO UPDATE SET value = excluded.value, suppressed = excluded.suppressed, "
    "rounded = excluded.rounded, set_unix = excluded.set_unix, read_unix = excluded.read_unix, "
    "sequence = excluded.sequence WHERE CASE WHEN (excluded.sequence < 0) = (gauge_years.sequence "
    "< 0) THEN excluded.sequence > gauge_years.sequence ELSE excluded.sequence < 0 END";
// Run at each start: a database made before the history gets, once (while gauge_years is
// empty), each gauge's newest reading, in the school year of its snapshot's creation (or of its
// set_unix when the snapshot row is gone). Portable SQL: the UTC date by integer arithmetic.
std::string gauge_years_backfill_sql();

// The clock skew per base, and the upsert of one measure with 3 parameters (base, skew_seconds,
// measured_unix): a newer measure replaces an older one. Portable SQL.
inline constexpr const char *kSkewSchema =
    "CREATE TABLE IF NOT EXISTS clock_skew (base TEXT PRIMARY KEY, skew_seconds BIGINT NOT NULL, "
    "measured_unix BIGINT NOT NULL)";
inline constexpr const char *kSkewUpsert =
    "INSERT INTO clock_skew (base, skew_seconds, measured_unix) VALUES (?,?,?) ON CONFLICT "
    "(base) DO UPDATE SET skew_seconds = excluded.skew_seconds, measured_unix = "
    "excluded.measured_unix WHERE excluded.measured_unix >= clock_skew.measured_unix";

// SQLite file, WAL. Creates the schema if needed.
std::unique_ptr<Store> open_sqlite_store(const std::string &path, std::string *error);

// PostgreSQL (15 or later) through libpq: `conninfo` is a libpq connection string (a password
// belongs in ~/.pgpass or PGPASSFILE). Creates the schema if needed, in the connection's
// search_path. A lost connection makes apply() fail; the next apply() reconnects.
std::unique_ptr<Store> open_postgres_store(const std::string &conninfo, std::string *error);

// Both backends: the table figure_families (family, name, across: sum | partial | latest),
// written at open from IngestStore::across_generations, and the view window_figures, one row
// per key without the generation: additive figures summed across generations, the others the
// newest generation's figure, with `generations` and `partial` (docs/delivery.md#the-ingestor).
// Portable SQL (SQLite 3.25+ and PostgreSQL: window functions).
inline constexpr const char *kKeyColumns =
    "base, family, window_kind, window_start, d0, d1, d2, d3, d4, d5";
std::string window_figures_view_sql();
// The view's SELECT with `where` applied to the rows of `figures` (alias f) before generations
// are combined: the pages' queries, which filter on key columns (f.base, f.family,
// f.window_kind, f.window_start, f.d0..) and on f.window_number (the same for every
// generation of a key), so that the database reads only the rows they need; the view itself
// cannot push such a filter below its window functions.
std::string window_figures_select(const std::string &where);
std::string figure_families_sql();  // the upsert of every family's row

}  // namespace sonde::console
