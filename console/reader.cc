// The stores' read side (reader.hpp): SQLite read-only, PostgreSQL through libpq.
#include "reader.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include "sql.hpp"

namespace sonde::console {
namespace {

class SqliteReader final : public Reader {
  public:
    ~SqliteReader() override { sqlite3_close(db_); }
    bool open(const std::string &path, std::string *error) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                            nullptr) == SQLITE_OK) {
            sqlite3_busy_timeout(db_, 10000);
            return true;
        }
        if (error) *error = "cannot open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : "");
        return false;
    }

  protected:
    bool run(const std::string &sql, const std::vector<std::string> &params, const Visitor &visit,
             std::string *error) override {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), int(sql.size()), &s, nullptr) != SQLITE_OK) {
            if (error) *error = std::string("sqlite prepare: ") + sqlite3_errmsg(db_);
            return false;
        }
        for (size_t i = 0; i < params.size(); ++i)
            sqlite3_bind_text(s, int(i + 1), params[i].data(), int(params[i].size()),
                              SQLITE_TRANSIENT);
        int rc;
        std::vector<std::optional<std::string_view>> row(size_t(sqlite3_column_count(s)));
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            for (size_t c = 0; c < row.size(); ++c) {
                if (sqlite3_column_type(s, int(c)) == SQLITE_NULL) {
                    row[c].reset();
                    continue;
                }
                const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(s, int(c)));
                row[c].emplace(text ? text : "", size_t(sqlite3_column_bytes(s, int(c))));
            }
            visit(row);
        }
        sqlite3_finalize(s);
        if (rc == SQLITE_DONE) return true;
        if (error) *error = std::string("sqlite: ") + sqlite3_errmsg(db_);
        return false;
    }

  private:
    sqlite3 *db_ = nullptr;
};

class PostgresReader final : public Reader {
  public:
    ~PostgresReader() override { PQfinish(conn_); }
    bool open(const std::string &conninfo, std::string *error) {
        conninfo_ = conninfo;
        return connect(error);
    }

  protected:
    bool run(const std::string &sql, const std::vector<std::string> &params, const Visitor &visit,
             std::string *error) override {
        if (PQstatus(conn_) != CONNECTION_OK && !connect(error)) return false;
        std::vector<const char *> values;
        for (const std::string &p : params) values.push_back(p.c_str());
        const std::string numbered = number_placeholders(sql);
        PGresult *r = PQexecParams(conn_, numbered.c_str(), int(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, 0);
        const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok) {
            const int rows = PQntuples(r);
            std::vector<std::optional<std::string_view>> row(size_t(PQnfields(r)));
            for (int i = 0; i < rows; ++i) {
                for (size_t c = 0; c < row.size(); ++c) {
                    if (PQgetisnull(r, i, int(c)))
                        row[c].reset();
                    else
                        row[c].emplace(PQgetvalue(r, i, int(c)), size_t(PQgetlength(r, i, int(c))));
                }
                visit(row);
            }
        } else if (error) {
            *error = std::string("postgresql: ") + PQerrorMessage(conn_);
        }
        PQclear(r);
        return ok;
    }

  private:
    bool connect(std::string *error) {
        PQfinish(conn_);
        const std::string app = pg_application_name(conninfo_, "pages");
        const char *keywords[] = {"connect_timeout", "dbname", "application_name", nullptr};
        const char *values[] = {"10", conninfo_.c_str(), app.c_str(), nullptr};
        conn_ = PQconnectdbParams(keywords, values, 1);
        if (conn_ && PQstatus(conn_) == CONNECTION_OK) return true;
        if (error)
            *error = std::string("postgresql: cannot connect: ") +
                     (conn_ ? PQerrorMessage(conn_) : "out of memory");
        return false;
    }
    std::string conninfo_;
    PGconn *conn_ = nullptr;
};

}  // namespace

std::string number_placeholders(const std::string &sql) {
    std::string out;
    int n = 0;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') quoted = !quoted;
        if (c == '?' && !quoted)
            out += "$" + std::to_string(++n);
        else
            out += c;
    }
    return out;
}

std::unique_ptr<Reader> open_sqlite_reader(const std::string &path, std::string *error) {
    auto r = std::make_unique<SqliteReader>();
    if (!r->open(path, error)) return nullptr;
    return r;
}

std::unique_ptr<Reader> open_postgres_reader(const std::string &conninfo, std::string *error) {
    auto r = std::make_unique<PostgresReader>();
    if (!r->open(conninfo, error)) return nullptr;
    return r;
}

}  // namespace sonde::console
