#pragma once
// The figures the console's database holds, and the same figures from the library's own
// ingestion (IngestStore) of the same files: the tests compare the two, key by key. The
// database is the console's SQLite file or its PostgreSQL schema, as the run's --store says
// (tests/console/main.cc).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "snapshot/ingest.hpp"

namespace console_test {

// The store the tests' consoles use: SQLite unless main() was given --store postgresql.
void use_postgres(const std::string &conninfo);
bool postgres();
const std::string &postgres_conninfo();

// Where one console's figures are: its SQLite file, or a PostgreSQL schema of the test database.
struct StoreRef {
    std::string sqlite_path;
    std::string schema;  // PostgreSQL, when not empty
};

// (base, family, window kind, window start, the six dimensions)
using FigureKey = std::tuple<std::string, uint32_t, uint32_t, int64_t, std::vector<uint32_t>>;
struct FigureValue {
    uint32_t window_number;
    int64_t value;
    bool suppressed, rounded;
    int64_t set_unix;
    std::string bin_low, students;
    uint64_t sequence;
    auto operator<=>(const FigureValue &) const = default;
};
using Figures = std::map<FigureKey, FigureValue>;

Figures store_figures(const sonde::snapshot::IngestStore &store);

// A uint64 column as either store writes it: SQLite's signed bit-cast, PostgreSQL's NUMERIC.
uint64_t to_u64(const std::string &text);

// The console's database, for reading (it may be written meanwhile).
class FigureDb {
  public:
    explicit FigureDb(const StoreRef &ref);
    ~FigureDb();
    FigureDb(const FigureDb &) = delete;
    FigureDb &operator=(const FigureDb &) = delete;

    using Rows = std::vector<std::vector<std::optional<std::string>>>;
    // Every column as text (NULL as nullopt). False if the query failed (a table not created
    // yet, or no database file yet).
    bool query(const std::string &sql, Rows &out);
    bool has_table(const std::string &name);
    // Every row of `figures`; a second row under one key (a figure counted twice) fails.
    Figures figures();
    // (base, sequence) -> status of the `snapshots` table (empty before it exists); `rows`,
    // when given, receives the number of rows.
    std::map<std::pair<std::string, uint64_t>, std::string> snapshots(size_t *rows = nullptr);

  private:
    StoreRef ref_;
    void *sqlite_ = nullptr;  // sqlite3*
    void *pg_ = nullptr;      // PGconn*
};

}  // namespace console_test
