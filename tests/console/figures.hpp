#pragma once
// The figures the console's database holds, and the same figures from the library's own
// ingestion (IngestStore) of the same files: the tests compare the two, key by key.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "snapshot/ingest.hpp"

namespace console_test {

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

// The console's SQLite database, read-only (it may be written meanwhile: busy timeout).
struct FigureDb {
    explicit FigureDb(const std::string &path);
    ~FigureDb();
    FigureDb(const FigureDb &) = delete;
    FigureDb &operator=(const FigureDb &) = delete;
    // Every row of `figures`; a second row under one key (a figure counted twice) fails.
    Figures figures();
    // (base, sequence) -> status of the `snapshots` table (empty before it exists); `rows`,
    // when given, receives the number of rows.
    std::map<std::pair<std::string, uint64_t>, std::string> snapshots(size_t *rows = nullptr);
    sqlite3 *db = nullptr;
};

}  // namespace console_test
