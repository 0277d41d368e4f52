// The SQLite store: WAL, one multi-row upsert statement per chunk of figures. Unsigned 64-bit
// numbers (generation, sequence) are stored bit-cast to SQLite's signed INTEGER (a sequence at
// or above 2^63 reads negative); "highest sequence wins" compares them as unsigned: the one
// with the sign bit is the higher when only one has it.
#include <sqlite3.h>

#include "store.hpp"

namespace sonde::console {
namespace {

constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS figures (
  base TEXT NOT NULL, generation INTEGER NOT NULL, family INTEGER NOT NULL,
  window_kind INTEGER NOT NULL, window_start INTEGER NOT NULL,
  d0 INTEGER NOT NULL, d1 INTEGER NOT NULL, d2 INTEGER NOT NULL,
  d3 INTEGER NOT NULL, d4 INTEGER NOT NULL, d5 INTEGER NOT NULL,
  window_number INTEGER NOT NULL, value INTEGER NOT NULL,
  suppressed INTEGER NOT NULL, rounded INTEGER NOT NULL, set_unix INTEGER NOT NULL,
  label TEXT NOT NULL, bin_low TEXT NOT NULL, students TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  PRIMARY KEY (base, generation, family, window_kind, window_start, d0, d1, d2, d3, d4, d5)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  base TEXT NOT NULL, sequence INTEGER NOT NULL, generation INTEGER NOT NULL,
  created_unix INTEGER NOT NULL, received_unix INTEGER NOT NULL, applied_unix INTEGER NOT NULL,
  size INTEGER NOT NULL, figures INTEGER NOT NULL, coverage TEXT,
  status TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (base, sequence)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS figure_families (
  family INTEGER PRIMARY KEY, name TEXT NOT NULL, across TEXT NOT NULL
);
)sql";

constexpr int kColumns = 20;
constexpr int kChunk = 400;  // rows per statement: 8,000 parameters, under SQLite's 32,766

std::string upsert_sql(int rows) {
    std::string sql =
        "INSERT INTO figures (base, generation, family, window_kind, window_start, d0, d1, d2, "
        "d3, d4, d5, window_number, value, suppressed, rounded, set_unix, label, bin_low, "
        "students, sequence) VALUES ";
    for (int r = 0; r < rows; ++r) {
        sql += r ? ",(" : "(";
        for (int c = 0; c < kColumns; ++c) sql += c ? ",?" : "?";
        sql += ")";
    }
    sql +=
        " ON CONFLICT (base, generation, family, window_kind, window_start, d0, d1, d2, d3, d4, "
        "d5) DO UPDATE SET window_number = excluded.window_number, value = excluded.value, "
        "suppressed = excluded.suppressed, rounded = excluded.rounded, set_unix = "
        "excluded.set_unix, label = excluded.label, bin_low = excluded.bin_low, students = "
        "excluded.students, sequence = excluded.sequence WHERE CASE WHEN (excluded.sequence < "
        "0) = (figures.sequence < 0) THEN excluded.sequence > figures.sequence ELSE "
        "excluded.sequence < 0 END";
    return sql;
}

class SqliteStore final : public Store {
  public:
    ~SqliteStore() override {
        for (sqlite3_stmt *s : {full_, snapshot_, gauge_year_}) sqlite3_finalize(s);
        sqlite3_close(db_);
    }

    bool open(const std::string &path, std::string *error) {
        if (sqlite3_open_v2(path.c_str(), &db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK)
            return fail(error, "cannot open " + path);
        sqlite3_busy_timeout(db_, 10000);
        if (!exec("PRAGMA journal_mode = WAL", error) ||
            !exec("PRAGMA synchronous = NORMAL", error) || !exec("BEGIN IMMEDIATE", error))
            return false;
        // The view is made again at each start, so that it follows this version's definition.
        if (!exec(kSchema, error) || !exec(kEstablishmentsSchema, error) ||
            !exec(kRejectionsSchema, error) || !exec(kSnapshotsIndex, error) ||
            !exec(kGaugeYearsSchema, error) || !exec(kSkewSchema, error) ||
            !exec(figure_families_sql().c_str(), error) ||
            !exec("DROP VIEW IF EXISTS window_figures", error) ||
            !exec(window_figures_view_sql().c_str(), error) ||
            !exec(gauge_years_backfill_sql().c_str(), error) || !exec("COMMIT", error)) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return prepare(upsert_sql(kChunk), &full_, error) &&
               prepare(kGaugeYearUpsert, &gauge_year_, error) &&
               prepare(
                   "INSERT INTO snapshots (base, sequence, generation, created_unix, "
                   "received_unix, applied_unix, size, figures, coverage, status, reason) VALUES "
                   "(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (base, sequence) DO UPDATE SET "
                   "generation = excluded.generation, created_unix = excluded.created_unix, "
                   "applied_unix = excluded.applied_unix, size = excluded.size, figures = "
                   "excluded.figures, coverage = excluded.coverage, status = excluded.status, "
                   "reason = excluded.reason",
                   &snapshot_, error);
    }

    using Store::apply;
    bool apply(const std::vector<SnapshotRow> &snapshots, const std::vector<FigureRow> &figures,
               const std::vector<GaugeYearRow> &gauge_years, std::string *error) override {
        if (!exec("BEGIN IMMEDIATE", error)) return false;
        bool ok = true;
        for (size_t i = 0; ok && i < figures.size(); i += kChunk) {
            const size_t n = std::min<size_t>(kChunk, figures.size() - i);
            sqlite3_stmt *stmt = full_;
            sqlite3_stmt *partial = nullptr;
            if (n < size_t(kChunk)) {
                ok = prepare(upsert_sql(int(n)), &partial, error);
                stmt = partial;
            }
            if (ok) ok = upsert(stmt, &figures[i], n, error);
            sqlite3_finalize(partial);
        }
        for (size_t i = 0; ok && i < gauge_years.size(); ++i) ok = record(gauge_years[i], error);
        for (size_t i = 0; ok && i < snapshots.size(); ++i) ok = record(snapshots[i], error);
        if (!ok) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return exec("COMMIT", error);
    }

    bool upsert_establishments(const std::vector<Establishment> &rows,
                               std::string *error) override {
        return upsert_all(kEstablishmentUpsert, rows, error,
                          [](sqlite3_stmt *s, const Establishment &r) {
                              text(s, 1, r.uai);
                              text(s, 2, r.name);
                              text(s, 3, r.commune);
                              text(s, 4, r.timezone);
                          });
    }

    bool record_rejections(const std::vector<RejectionRow> &rows, std::string *error) override {
        return upsert_all(kRejectionUpsert, rows, error,
                          [](sqlite3_stmt *s, const RejectionRow &r) {
                              text(s, 1, r.base);
                              text(s, 2, r.reason);
                              sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(r.count));
                              sqlite3_bind_int64(s, 4, r.first_unix);
                              sqlite3_bind_int64(s, 5, r.last_unix);
                              text(s, 6, r.detail);
                          });
    }

    bool record_skews(const std::vector<SkewRow> &rows, std::string *error) override {
        return upsert_all(kSkewUpsert, rows, error, [](sqlite3_stmt *s, const SkewRow &r) {
            text(s, 1, r.base);
            sqlite3_bind_int64(s, 2, r.skew_seconds);
            sqlite3_bind_int64(s, 3, r.measured_unix);
        });
    }

  private:
    // One statement run for each row (`bind` sets its parameters), in one transaction.
    template <class Row, class Bind>
    bool upsert_all(const char *sql, const std::vector<Row> &rows, std::string *error, Bind bind) {
        sqlite3_stmt *s = nullptr;
        if (!prepare(sql, &s, error)) return false;
        bool ok = exec("BEGIN IMMEDIATE", error);
        for (size_t i = 0; ok && i < rows.size(); ++i) {
            bind(s, rows[i]);
            ok = step(s, error);
        }
        sqlite3_finalize(s);
        if (!ok) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return exec("COMMIT", error);
    }
    bool fail(std::string *error, const std::string &what) {
        if (error) *error = what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
        return false;
    }
    bool exec(const char *sql, std::string *error) {
        char *message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) == SQLITE_OK) return true;
        if (error) *error = std::string("sqlite: ") + (message ? message : "error");
        sqlite3_free(message);
        return false;
    }
    bool prepare(const std::string &sql, sqlite3_stmt **out, std::string *error) {
        if (sqlite3_prepare_v2(db_, sql.c_str(), int(sql.size()), out, nullptr) == SQLITE_OK)
            return true;
        return fail(error, "sqlite prepare");
    }
    bool step(sqlite3_stmt *stmt, std::string *error) {
        const int rc = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return rc == SQLITE_DONE || fail(error, "sqlite");
    }
    static void text(sqlite3_stmt *s, int i, const std::string &v) {
        sqlite3_bind_text(s, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    }
    bool upsert(sqlite3_stmt *s, const FigureRow *rows, size_t n, std::string *error) {
        int i = 1;
        for (size_t r = 0; r < n; ++r) {
            const FigureRow &f = rows[r];
            text(s, i++, f.base);
            sqlite3_bind_int64(s, i++, static_cast<sqlite3_int64>(f.generation));
            sqlite3_bind_int64(s, i++, f.family);
            sqlite3_bind_int64(s, i++, f.window_kind);
            sqlite3_bind_int64(s, i++, f.window_start);
            for (uint32_t d : f.dims) sqlite3_bind_int64(s, i++, d);
            sqlite3_bind_int64(s, i++, f.window_number);
            sqlite3_bind_int64(s, i++, f.value);
            sqlite3_bind_int(s, i++, f.suppressed);
            sqlite3_bind_int(s, i++, f.rounded);
            sqlite3_bind_int64(s, i++, f.set_unix);
            text(s, i++, f.label);
            text(s, i++, f.bin_low);
            text(s, i++, f.students);
            sqlite3_bind_int64(s, i++, static_cast<sqlite3_int64>(f.sequence));
        }
        return step(s, error);
    }
    bool record(const SnapshotRow &r, std::string *error) {
        sqlite3_stmt *s = snapshot_;
        text(s, 1, r.base);
        sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(r.sequence));
        sqlite3_bind_int64(s, 3, static_cast<sqlite3_int64>(r.generation));
        sqlite3_bind_int64(s, 4, r.created_unix);
        sqlite3_bind_int64(s, 5, r.received_unix);
        sqlite3_bind_int64(s, 6, r.applied_unix);
        sqlite3_bind_int64(s, 7, static_cast<sqlite3_int64>(r.size));
        sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(r.figures));
        if (r.coverage)
            text(s, 9, *r.coverage);
        else
            sqlite3_bind_null(s, 9);
        text(s, 10, r.status);
        text(s, 11, r.reason);
        return step(s, error);
    }

    bool record(const GaugeYearRow &r, std::string *error) {
        sqlite3_stmt *s = gauge_year_;
        text(s, 1, r.base);
        sqlite3_bind_int64(s, 2, r.school_year);
        sqlite3_bind_int64(s, 3, r.gauge);
        sqlite3_bind_int64(s, 4, r.level);
        sqlite3_bind_int64(s, 5, r.value);
        sqlite3_bind_int(s, 6, r.suppressed);
        sqlite3_bind_int(s, 7, r.rounded);
        sqlite3_bind_int64(s, 8, r.set_unix);
        sqlite3_bind_int64(s, 9, r.read_unix);
        sqlite3_bind_int64(s, 10, static_cast<sqlite3_int64>(r.sequence));
        return step(s, error);
    }

    sqlite3 *db_ = nullptr;
    sqlite3_stmt *gauge_year_ = nullptr;
    sqlite3_stmt *full_ = nullptr;
    sqlite3_stmt *snapshot_ = nullptr;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string &path, std::string *error) {
    auto store = std::make_unique<SqliteStore>();
    if (!store->open(path, error)) return nullptr;
    return store;
}

}  // namespace sonde::console
