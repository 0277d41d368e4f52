#pragma once
// A small SQL connection for the accounts (docs/console.md#accounts-and-rights): portable SQL with
// $1..$n parameters, every value passed and read as text. Two implementations, SQLite and
// PostgreSQL (libpq), so that the accounts' logic is written once and behaves the same on both.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sonde::console {

class SqlDb {
  public:
    using Value = std::optional<std::string>;  // nullopt: NULL
    using Row = std::vector<Value>;
    virtual ~SqlDb() = default;
    // One statement. `rows` (if given) receives the result; `changed` the rows it changed.
    virtual bool exec(const std::string &sql, const std::vector<Value> &params,
                      std::vector<Row> *rows, int64_t *changed, std::string *error) = 0;
    // Several statements without parameters (the schema).
    virtual bool script(const std::string &sql, std::string *error) = 0;
    // "BEGIN IMMEDIATE" on SQLite (the write lock at once), "BEGIN" on PostgreSQL.
    virtual const char *begin_write() const = 0;
    virtual bool postgres() const = 0;
};

// The SQLite file at `path` (WAL, foreign keys on).
std::unique_ptr<SqlDb> open_sqlite_db(const std::string &path, std::string *error);
// A libpq connection string, as Config::postgresql. A lost connection is reset at the next call.
std::unique_ptr<SqlDb> open_postgres_db(const std::string &conninfo, std::string *error);

// "<the string's application_name, or sonde-console>-<role>": each connection of the service
// (ingestor, accounts, pages) is told apart in pg_stat_activity. Passed after the string's own
// settings (PQconnectdbParams with expand_dbname), so that it wins.
std::string pg_application_name(const std::string &conninfo, const char *role);

}  // namespace sonde::console
