#include "figures.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

namespace console_test {

namespace {

template <class T>
std::string join(const std::vector<T> &v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out;
}

std::string text(sqlite3_stmt *s, int column) {
    return reinterpret_cast<const char *>(sqlite3_column_text(s, column));
}

}  // namespace

Figures store_figures(const sonde::snapshot::IngestStore &store) {
    Figures out;
    store.visit([&](const sonde::snapshot::IngestStore::FigureView &f) {
        std::vector<uint32_t> dims(6, 0);
        std::copy(f.dims.begin(), f.dims.end(), dims.begin());
        out[{f.base, uint32_t(f.family), f.window_kind, f.window_start, dims}] = {
            f.window_number, f.value,         f.suppressed,     f.rounded,
            f.set_unix,      join(f.bin_low), join(f.students), f.sequence};
    });
    return out;
}

FigureDb::FigureDb(const std::string &path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 10'000);
}

FigureDb::~FigureDb() { sqlite3_close(db); }

Figures FigureDb::figures() {
    Figures out;
    sqlite3_stmt *s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT base, family, window_kind, window_start, d0, d1, d2, "
                               "d3, d4, d5, window_number, value, suppressed, rounded, "
                               "set_unix, bin_low, students, sequence FROM figures",
                               -1, &s, nullptr) == SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        std::vector<uint32_t> dims;
        for (int i = 4; i < 10; ++i) dims.push_back(uint32_t(sqlite3_column_int64(s, i)));
        const FigureKey key{text(s, 0), uint32_t(sqlite3_column_int64(s, 1)),
                            uint32_t(sqlite3_column_int64(s, 2)), sqlite3_column_int64(s, 3), dims};
        // One generation per base in these tests: a second row under one key would be a
        // figure counted twice.
        REQUIRE(out.count(key) == 0);
        out[key] = {uint32_t(sqlite3_column_int64(s, 10)),
                    sqlite3_column_int64(s, 11),
                    sqlite3_column_int64(s, 12) != 0,
                    sqlite3_column_int64(s, 13) != 0,
                    sqlite3_column_int64(s, 14),
                    text(s, 15),
                    text(s, 16),
                    uint64_t(sqlite3_column_int64(s, 17))};
    }
    sqlite3_finalize(s);
    return out;
}

std::map<std::pair<std::string, uint64_t>, std::string> FigureDb::snapshots(size_t *rows) {
    std::map<std::pair<std::string, uint64_t>, std::string> out;
    if (rows) *rows = 0;
    sqlite3_stmt *s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT base, sequence, status FROM snapshots", -1, &s, nullptr) !=
        SQLITE_OK)
        return out;  // not created yet
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (rows) ++*rows;
        out[{text(s, 0), uint64_t(sqlite3_column_int64(s, 1))}] = text(s, 2);
    }
    sqlite3_finalize(s);
    return out;
}

}  // namespace console_test
