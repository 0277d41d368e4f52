// SqlDb on SQLite: parameters "$1".."$n" are SQLite named parameters, bound by name.
#include <sqlite3.h>

#include "sql.hpp"

namespace sonde::console {
namespace {

class SqliteDb final : public SqlDb {
  public:
    ~SqliteDb() override { sqlite3_close(db_); }

    bool open(const std::string &path, std::string *error) {
        if (sqlite3_open_v2(path.c_str(), &db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK)
            return fail(error, "cannot open " + path);
        sqlite3_busy_timeout(db_, 10000);
        return script(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
            "PRAGMA foreign_keys = ON",
            error);
    }

    bool exec(const std::string &sql, const std::vector<Value> &params, std::vector<Row> *rows,
              int64_t *changed, std::string *error) override {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), int(sql.size()), &s, nullptr) != SQLITE_OK)
            return fail(error, "sqlite prepare");
        for (size_t i = 0; i < params.size(); ++i) {
            const std::string name = "$" + std::to_string(i + 1);
            const int index = sqlite3_bind_parameter_index(s, name.c_str());
            if (index == 0) continue;  // not used by this statement
            if (params[i])
                sqlite3_bind_text(s, index, params[i]->data(), int(params[i]->size()),
                                  SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(s, index);
        }
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (!rows) continue;
            Row row;
            const int n = sqlite3_column_count(s);
            for (int c = 0; c < n; ++c) {
                if (sqlite3_column_type(s, c) == SQLITE_NULL) {
                    row.emplace_back(std::nullopt);
                } else {
                    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(s, c));
                    row.emplace_back(std::string(text, size_t(sqlite3_column_bytes(s, c))));
                }
            }
            rows->push_back(std::move(row));
        }
        const bool ok = rc == SQLITE_DONE;
        if (!ok) fail(error, "sqlite");
        sqlite3_finalize(s);
        if (ok && changed) *changed = sqlite3_changes(db_);
        return ok;
    }

    bool script(const std::string &sql, std::string *error) override {
        char *message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return true;
        if (error) *error = std::string("sqlite: ") + (message ? message : "error");
        sqlite3_free(message);
        return false;
    }

    const char *begin_write() const override { return "BEGIN IMMEDIATE"; }
    bool postgres() const override { return false; }

  private:
    bool fail(std::string *error, const std::string &what) {
        if (error) *error = what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
        return false;
    }
    sqlite3 *db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlDb> open_sqlite_db(const std::string &path, std::string *error) {
    auto db = std::make_unique<SqliteDb>();
    if (!db->open(path, error)) return nullptr;
    return db;
}

}  // namespace sonde::console
