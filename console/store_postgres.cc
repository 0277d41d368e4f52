// The PostgreSQL store (docs/delivery.md#storage): libpq, one transaction per apply(). The
// figures are deduplicated in memory (highest sequence per key: PostgreSQL refuses an ON
// CONFLICT DO UPDATE that touches a row twice in one statement), copied into a temporary table
// (COPY, text format), then upserted from it in one statement. COPY measured faster than
// multi-row INSERT ... VALUES statements of 1,000 rows (docs/delivery.md#storage).
//
// Unsigned 64-bit numbers (sequence, generation) are NUMERIC(20,0): exact and ordered as
// unsigned, so "highest sequence wins" holds over the whole uint64 range (BIGINT would hold
// only up to 2^63 - 1, and a bit-cast would sort sequences at or above 2^63 below the others).
#include <libpq-fe.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "reader.hpp"
#include "store.hpp"

namespace sonde::console {
namespace {

constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS figures (
  base TEXT NOT NULL, generation NUMERIC(20,0) NOT NULL, family INTEGER NOT NULL,
  window_kind BIGINT NOT NULL, window_start BIGINT NOT NULL,
  d0 BIGINT NOT NULL, d1 BIGINT NOT NULL, d2 BIGINT NOT NULL,
  d3 BIGINT NOT NULL, d4 BIGINT NOT NULL, d5 BIGINT NOT NULL,
  window_number BIGINT NOT NULL, value BIGINT NOT NULL,
  suppressed SMALLINT NOT NULL, rounded SMALLINT NOT NULL, set_unix BIGINT NOT NULL,
  label TEXT NOT NULL, bin_low TEXT NOT NULL, students TEXT NOT NULL,
  sequence NUMERIC(20,0) NOT NULL,
  PRIMARY KEY (base, generation, family, window_kind, window_start, d0, d1, d2, d3, d4, d5)
);
CREATE TABLE IF NOT EXISTS snapshots (
  base TEXT NOT NULL, sequence NUMERIC(20,0) NOT NULL, generation NUMERIC(20,0) NOT NULL,
  created_unix BIGINT NOT NULL, received_unix BIGINT NOT NULL, applied_unix BIGINT NOT NULL,
  size BIGINT NOT NULL, figures BIGINT NOT NULL, coverage TEXT,
  status TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (base, sequence)
);
CREATE TABLE IF NOT EXISTS figure_families (
  family INTEGER PRIMARY KEY, name TEXT NOT NULL, across TEXT NOT NULL
);
)sql";

constexpr int kSnapshotColumns = 11;
constexpr int kSnapshotChunk = 1000;  // rows per statement: 11,000 parameters, under 65,535

std::string placeholders(int rows, int columns) {
    std::string sql;
    int n = 1;
    for (int r = 0; r < rows; ++r) {
        sql += r ? ",(" : "(";
        for (int c = 0; c < columns; ++c) sql += (c ? ",$" : "$") + std::to_string(n++);
        sql += ")";
    }
    return sql;
}

std::string snapshots_sql(int rows) {
    return "INSERT INTO snapshots (base, sequence, generation, created_unix, received_unix, "
           "applied_unix, size, figures, coverage, status, reason) VALUES " +
           placeholders(rows, kSnapshotColumns) +
           " ON CONFLICT (base, sequence) DO UPDATE SET generation = excluded.generation, "
           "created_unix = excluded.created_unix, applied_unix = excluded.applied_unix, size = "
           "excluded.size, figures = excluded.figures, coverage = excluded.coverage, status = "
           "excluded.status, reason = excluded.reason";
}

// libpq's messages end with a line feed and may hold several lines: the log has one per event.
std::string one_line(const char *message) {
    std::string out;
    bool space = false;
    for (const char *p = message; p && *p; ++p) {
        const bool blank = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';
        if (blank) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += *p;
    }
    return out;
}

void ignore_notice(void *, const char *) {}  // "relation exists, skipping" and the like

using FigureKey = std::tuple<const std::string &, uint64_t, uint32_t, uint32_t, int64_t,
                             const std::array<uint32_t, 6> &>;
FigureKey key_of(const FigureRow &f) {
    return {f.base, f.generation, f.family, f.window_kind, f.window_start, f.dims};
}

class PostgresStore final : public Store {
  public:
    ~PostgresStore() override { PQfinish(conn_); }

    bool open(const std::string &conninfo, std::string *error) {
        // A connection attempt gives up after 10 s unless the string says otherwise (its
        // settings come later, so they win): a reconnection never hangs the ingestor for long.
        const char *keywords[] = {"connect_timeout", "dbname", nullptr};
        const char *values[] = {"10", conninfo.c_str(), nullptr};
        conn_ = PQconnectdbParams(keywords, values, 1);
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
            return fail(error, "postgresql: cannot connect");
        PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
        // One schema creation at a time (two services starting on one database).
        if (!exec("BEGIN", error)) return false;
        if (!exec("SELECT pg_advisory_xact_lock(7264891034)", error, PGRES_TUPLES_OK) ||
            !exec(kSchema, error) || !exec(kEstablishmentsSchema, error) ||
            !exec(kRejectionsSchema, error) || !exec(kSnapshotsIndex, error) ||
            !exec(kGaugeYearsSchema, error) || !exec(kSkewSchema, error) ||
            !exec(figure_families_sql().c_str(), error) ||
            !exec("DROP VIEW IF EXISTS window_figures", error) ||
            !exec(window_figures_view_sql().c_str(), error) ||
            !exec(gauge_years_backfill_sql().c_str(), error) || !exec("COMMIT", error)) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return true;
    }

    using Store::apply;
    bool apply(const std::vector<SnapshotRow> &snapshots, const std::vector<FigureRow> &figures,
               const std::vector<GaugeYearRow> &gauge_years, std::string *error) override {
        if (PQstatus(conn_) != CONNECTION_OK) {
            PQreset(conn_);  // the connection was lost: try again now (the ingestor retries)
            if (PQstatus(conn_) != CONNECTION_OK) return fail(error, "postgresql: reconnecting");
        }
        // The winner per key within this batch, as the table's rule would pick it.
        std::map<FigureKey, const FigureRow *> best;
        for (const FigureRow &f : figures) {
            auto [it, fresh] = best.try_emplace(key_of(f), &f);
            if (!fresh && f.sequence > it->second->sequence) it->second = &f;
        }
        std::vector<const FigureRow *> rows;
        rows.reserve(best.size());
        for (const auto &[key, row] : best) rows.push_back(row);
        std::map<std::pair<std::string, uint64_t>, const SnapshotRow *> snaps;
        for (const SnapshotRow &s : snapshots) snaps[{s.base, s.sequence}] = &s;  // last wins

        if (!exec("BEGIN", error)) return false;
        bool ok = rows.empty() || copy_figures(rows, error);
        std::vector<const SnapshotRow *> srows;
        for (const auto &[key, row] : snaps) srows.push_back(row);
        // The gauges' history: one row per key (a statement may not touch a row twice), in
        // multi-row statements.
        std::vector<GaugeYearRow> years = gauge_years;
        keep_last_reading_per_year(years);
        for (size_t i = 0; ok && i < years.size(); i += kSnapshotChunk) {
            const size_t n = std::min<size_t>(kSnapshotChunk, years.size() - i);
            ok = upsert_gauge_years(&years[i], n, error);
        }
        for (size_t i = 0; ok && i < srows.size(); i += kSnapshotChunk) {
            const size_t n = std::min<size_t>(kSnapshotChunk, srows.size() - i);
            ok = upsert_snapshots(&srows[i], n, error);
        }
        if (!ok) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return exec("COMMIT", error);
    }

    bool upsert_establishments(const std::vector<Establishment> &rows,
                               std::string *error) override {
        return upsert_all(kEstablishmentUpsert, "establishments", rows, error,
                          [](const Establishment &r) {
                              return std::vector<std::string>{r.uai, r.name, r.commune, r.timezone};
                          });
    }

    bool record_rejections(const std::vector<RejectionRow> &rows, std::string *error) override {
        return upsert_all(kRejectionUpsert, "upload_rejections", rows, error,
                          [](const RejectionRow &r) {
                              return std::vector<std::string>{r.base,
                                                              r.reason,
                                                              std::to_string(r.count),
                                                              std::to_string(r.first_unix),
                                                              std::to_string(r.last_unix),
                                                              r.detail};
                          });
    }

    bool record_skews(const std::vector<SkewRow> &rows, std::string *error) override {
        return upsert_all(kSkewUpsert, "clock_skew", rows, error, [](const SkewRow &r) {
            return std::vector<std::string>{r.base, std::to_string(r.skew_seconds),
                                            std::to_string(r.measured_unix)};
        });
    }

  private:
    // One statement run for each row (`params` gives its parameters as text), in one
    // transaction, the connection restored first if it was lost.
    template <class Row, class Params>
    bool upsert_all(const char *statement, const char *table, const std::vector<Row> &rows,
                    std::string *error, Params params) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            PQreset(conn_);
            if (PQstatus(conn_) != CONNECTION_OK) return fail(error, "postgresql: reconnecting");
        }
        const std::string sql = number_placeholders(statement);
        if (!exec("BEGIN", error)) return false;
        bool ok = true;
        for (size_t i = 0; ok && i < rows.size(); ++i) {
            const std::vector<std::string> p = params(rows[i]);
            std::vector<const char *> v;
            for (const std::string &x : p) v.push_back(x.c_str());
            ok = check(PQexecParams(conn_, sql.c_str(), int(v.size()), nullptr, v.data(), nullptr,
                                    nullptr, 0),
                       PGRES_COMMAND_OK, table, error);
        }
        if (!ok) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return exec("COMMIT", error);
    }
    bool fail(std::string *error, const std::string &what) {
        if (error)
            *error = what + ": " + (conn_ ? one_line(PQerrorMessage(conn_)) : "out of memory");
        return false;
    }
    bool check(PGresult *r, ExecStatusType want, const char *what, std::string *error) {
        const bool ok = r && PQresultStatus(r) == want;
        if (!ok && error)
            *error = std::string("postgresql ") + what + ": " +
                     one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
        PQclear(r);
        return ok;
    }
    bool exec(const char *sql, std::string *error, ExecStatusType want = PGRES_COMMAND_OK) {
        return check(PQexec(conn_, sql), want, "query", error);
    }
    // A text field of COPY's text format. PostgreSQL refuses NUL and invalid UTF-8 in text,
    // which would fail the batch at every retry: a NUL or a byte that does not begin a valid
    // UTF-8 sequence becomes U+FFFD (labels only: the other text fields are digits and commas).
    static void field(std::string &out, const std::string &v) {
        const auto *p = reinterpret_cast<const unsigned char *>(v.data());
        const size_t n = v.size();
        for (size_t i = 0; i < n;) {
            const unsigned char c = p[i];
            size_t len = c < 0x80         ? 1
                         : (c >> 5) == 6  ? 2
                         : (c >> 4) == 14 ? 3
                         : (c >> 3) == 30 ? 4
                                          : 0;
            bool valid = len != 0 && c != 0 && i + len <= n;
            for (size_t k = 1; valid && k < len; ++k) valid = (p[i + k] & 0xC0) == 0x80;
            if (valid && len > 1) {  // no overlong forms, surrogates or values above U+10FFFF
                uint32_t cp = c & (0x7F >> len);
                for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
                const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
                valid = cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
            }
            if (!valid) {
                out += "\xEF\xBF\xBD";
                ++i;
                continue;
            }
            if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                out += '\\';
                out += c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
            } else {
                out.append(v, i, len);
            }
            i += len;
        }
    }
    bool copy_figures(const std::vector<const FigureRow *> &rows, std::string *error) {
        if (!exec("CREATE TEMP TABLE IF NOT EXISTS figures_in (LIKE figures) ON COMMIT DELETE "
                  "ROWS",
                  error))
            return false;
        if (!check(PQexec(conn_, "COPY figures_in FROM STDIN"), PGRES_COPY_IN, "copy", error))
            return false;
        std::string buf;
        for (const FigureRow *p : rows) {
            const FigureRow &f = *p;
            field(buf, f.base);
            buf += '\t' + std::to_string(f.generation) + '\t' + std::to_string(f.family) + '\t' +
                   std::to_string(f.window_kind) + '\t' + std::to_string(f.window_start);
            for (uint32_t d : f.dims) buf += '\t' + std::to_string(d);
            buf += '\t' + std::to_string(f.window_number) + '\t' + std::to_string(f.value) + '\t' +
                   (f.suppressed ? "1" : "0") + '\t' + (f.rounded ? "1" : "0") + '\t' +
                   std::to_string(f.set_unix) + '\t';
            field(buf, f.label);
            buf += '\t';
            field(buf, f.bin_low);
            buf += '\t';
            field(buf, f.students);
            buf += '\t' + std::to_string(f.sequence) + '\n';
            if (buf.size() > (1u << 20)) {
                if (PQputCopyData(conn_, buf.data(), int(buf.size())) != 1) break;
                buf.clear();
            }
        }
        PQputCopyData(conn_, buf.data(), int(buf.size()));
        PQputCopyEnd(conn_, nullptr);
        if (!check(PQgetResult(conn_), PGRES_COMMAND_OK, "copy", error)) {
            while (PGresult *r = PQgetResult(conn_)) PQclear(r);
            return false;
        }
        while (PGresult *r = PQgetResult(conn_)) PQclear(r);
        return exec(
            "INSERT INTO figures SELECT * FROM figures_in ON CONFLICT (base, generation, family, "
            "window_kind, window_start, d0, d1, d2, d3, d4, d5) DO UPDATE SET window_number = "
            "excluded.window_number, value = excluded.value, suppressed = excluded.suppressed, "
            "rounded = excluded.rounded, set_unix = excluded.set_unix, label = excluded.label, "
            "bin_low = excluded.bin_low, students = excluded.students, sequence = "
            "excluded.sequence WHERE excluded.sequence > figures.sequence",
            error);
    }
    bool upsert_snapshots(const SnapshotRow *const *rows, size_t n, std::string *error) {
        std::vector<std::string> v;
        v.reserve(n * kSnapshotColumns);
        std::vector<bool> null_coverage;
        for (size_t r = 0; r < n; ++r) {
            const SnapshotRow &s = *rows[r];
            v.push_back(s.base);
            v.push_back(std::to_string(s.sequence));
            v.push_back(std::to_string(s.generation));
            v.push_back(std::to_string(s.created_unix));
            v.push_back(std::to_string(s.received_unix));
            v.push_back(std::to_string(s.applied_unix));
            v.push_back(std::to_string(s.size));
            v.push_back(std::to_string(s.figures));
            v.push_back(s.coverage.value_or(""));
            null_coverage.push_back(!s.coverage);
            v.push_back(s.status);
            v.push_back(s.reason);
        }
        std::vector<const char *> params;
        params.reserve(v.size());
        for (size_t i = 0; i < v.size(); ++i)
            params.push_back(i % kSnapshotColumns == 8 && null_coverage[i / kSnapshotColumns]
                                 ? nullptr
                                 : v[i].c_str());
        return check(PQexecParams(conn_, snapshots_sql(int(n)).c_str(), int(params.size()), nullptr,
                                  params.data(), nullptr, nullptr, 0),
                     PGRES_COMMAND_OK, "snapshots", error);
    }

    bool upsert_gauge_years(const GaugeYearRow *rows, size_t n, std::string *error) {
        std::vector<std::string> v;
        v.reserve(n * 10);
        for (size_t r = 0; r < n; ++r) {
            const GaugeYearRow &g = rows[r];
            for (std::string x : {g.base, std::to_string(g.school_year), std::to_string(g.gauge),
                                  std::to_string(g.level), std::to_string(g.value),
                                  std::string(g.suppressed ? "1" : "0"),
                                  std::string(g.rounded ? "1" : "0"), std::to_string(g.set_unix),
                                  std::to_string(g.read_unix), std::to_string(g.sequence)})
                v.push_back(std::move(x));
        }
        std::vector<const char *> params;
        params.reserve(v.size());
        for (const std::string &x : v) params.push_back(x.c_str());
        // kGaugeYearUpsert with n rows of values.
        std::string sql = kGaugeYearUpsert;
        const size_t values = sql.find("VALUES (");
        const size_t end = sql.find(')', values);
        sql = sql.substr(0, values) + "VALUES " + placeholders(int(n), 10) + sql.substr(end + 1);
        return check(PQexecParams(conn_, sql.c_str(), int(params.size()), nullptr, params.data(),
                                  nullptr, nullptr, 0),
                     PGRES_COMMAND_OK, "gauge_years", error);
    }

    PGconn *conn_ = nullptr;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string &conninfo, std::string *error) {
    auto store = std::make_unique<PostgresStore>();
    if (!store->open(conninfo, error)) return nullptr;
    return store;
}

}  // namespace sonde::console
