// SqlDb on PostgreSQL through libpq: every parameter is sent as text and typed by the server
// from its context.
#include <libpq-fe.h>

#include <string_view>

#include "sql.hpp"

namespace sonde::console {
namespace {

std::string one_line(const char *message) {
    std::string out;
    for (const char *p = message; p && *p; ++p) out += (*p == '\n' || *p == '\r') ? ' ' : *p;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

void ignore_notice(void *, const char *) {}

class PostgresDb final : public SqlDb {
  public:
    ~PostgresDb() override { PQfinish(conn_); }

    bool open(const std::string &conninfo, std::string *error) {
        const std::string app = pg_application_name(conninfo, "accounts");
        const char *keywords[] = {"connect_timeout", "dbname", "application_name", nullptr};
        const char *values[] = {"10", conninfo.c_str(), app.c_str(), nullptr};
        conn_ = PQconnectdbParams(keywords, values, 1);
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
            if (error)
                *error = "postgresql: cannot connect: " +
                         (conn_ ? one_line(PQerrorMessage(conn_)) : std::string("out of memory"));
            return false;
        }
        PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
        return true;
    }

    bool exec(const std::string &sql, const std::vector<Value> &params, std::vector<Row> *rows,
              int64_t *changed, std::string *error) override {
        if (!connected(error)) return false;
        std::vector<const char *> values;
        values.reserve(params.size());
        for (const Value &v : params) values.push_back(v ? v->c_str() : nullptr);
        PGresult *r = PQexecParams(conn_, sql.c_str(), int(values.size()), nullptr, values.data(),
                                   nullptr, nullptr, 0);
        const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
        if (!ok) {
            if (error)
                *error =
                    "postgresql: " + one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
            PQclear(r);
            return false;
        }
        if (rows && status == PGRES_TUPLES_OK) {
            const int n = PQntuples(r), m = PQnfields(r);
            for (int i = 0; i < n; ++i) {
                Row row;
                for (int c = 0; c < m; ++c) {
                    if (PQgetisnull(r, i, c))
                        row.emplace_back(std::nullopt);
                    else
                        row.emplace_back(
                            std::string(PQgetvalue(r, i, c), size_t(PQgetlength(r, i, c))));
                }
                rows->push_back(std::move(row));
            }
        }
        if (changed) {
            const char *t = PQcmdTuples(r);
            *changed = (t && *t) ? std::stoll(t) : 0;
        }
        PQclear(r);
        return true;
    }

    bool script(const std::string &sql, std::string *error) override {
        if (!connected(error)) return false;
        PGresult *r = PQexec(conn_, sql.c_str());
        const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        const bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
        if (!ok && error)
            *error = "postgresql: " + one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
        PQclear(r);
        return ok;
    }

    const char *begin_write() const override { return "BEGIN"; }
    bool postgres() const override { return true; }

  private:
    bool connected(std::string *error) {
        if (PQstatus(conn_) == CONNECTION_OK) return true;
        PQreset(conn_);
        if (PQstatus(conn_) == CONNECTION_OK) return true;
        if (error) *error = "postgresql: reconnecting: " + one_line(PQerrorMessage(conn_));
        return false;
    }
    PGconn *conn_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlDb> open_postgres_db(const std::string &conninfo, std::string *error) {
    auto db = std::make_unique<PostgresDb>();
    if (!db->open(conninfo, error)) return nullptr;
    return db;
}

std::string pg_application_name(const std::string &conninfo, const char *role) {
    std::string app = "sonde-console";
    if (PQconninfoOption *options = PQconninfoParse(conninfo.c_str(), nullptr)) {
        for (PQconninfoOption *o = options; o->keyword; ++o)
            if (std::string_view(o->keyword) == "application_name" && o->val && *o->val)
                app = o->val;
        PQconninfoFree(options);
    }
    return app + "-" + role;
}

}  // namespace sonde::console
