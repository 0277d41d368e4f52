#pragma once
// The read side of the stores, for the console's pages (docs/console.md#the-data-layer): a
// connection of its own (the ingestor keeps its own), queries with `?` parameters, every column
// as text. The same SQL runs on SQLite and PostgreSQL; the PostgreSQL reader numbers the
// placeholders ($1, $2, ...). Thread-safe: one query at a time per reader.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sonde::console {

class Reader {
  public:
    virtual ~Reader() = default;
    using Row = std::vector<std::optional<std::string>>;
    // One row as the reader has it: a column's text, or nullopt for NULL; valid during the call.
    using RowView = std::span<const std::optional<std::string_view>>;
    using Visitor = std::function<void(RowView)>;
    // `sql` with `?` placeholders, bound in order to `params` (as text: SQLite applies the
    // column's numeric affinity, PostgreSQL infers the type). False with `error` on failure.
    bool query(const std::string &sql, const std::vector<std::string> &params,
               std::vector<Row> &out, std::string *error) {
        out.clear();
        return query_each(
            sql, params,
            [&](RowView row) {
                Row copy;
                copy.reserve(row.size());
                for (const auto &c : row)
                    copy.emplace_back(c ? std::optional<std::string>(std::string(*c))
                                        : std::nullopt);
                out.push_back(std::move(copy));
            },
            error);
    }
    // The same, each row handed to `visit` in turn without being copied: for results of
    // hundreds of thousands of rows (État des remontées reads a week of files).
    bool query_each(const std::string &sql, const std::vector<std::string> &params,
                    const Visitor &visit, std::string *error) {
        std::lock_guard lock(mutex_);
        return run(sql, params, visit, error);
    }

  protected:
    virtual bool run(const std::string &sql, const std::vector<std::string> &params,
                     const Visitor &visit, std::string *error) = 0;

  private:
    std::mutex mutex_;
};

// Opens the SQLite file read-only (the store creates it and its schema).
std::unique_ptr<Reader> open_sqlite_reader(const std::string &path, std::string *error);
// Connects with `conninfo` (the store's string; same search_path).
std::unique_ptr<Reader> open_postgres_reader(const std::string &conninfo, std::string *error);

// `?` placeholders to PostgreSQL's `$n` (outside quoted literals).
std::string number_placeholders(const std::string &sql);

}  // namespace sonde::console
