#include "figures.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

namespace console_test {

namespace {

std::optional<std::string> &conninfo_slot() {
    static std::optional<std::string> conninfo;
    return conninfo;
}

template <class T>
std::string join(const std::vector<T> &v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
    }
    return out;
}

}  // namespace

void use_postgres(const std::string &conninfo) { conninfo_slot() = conninfo; }
bool postgres() { return conninfo_slot().has_value(); }
const std::string &postgres_conninfo() { return conninfo_slot().value(); }

uint64_t to_u64(const std::string &text) {
    if (!text.empty() && text[0] == '-') return static_cast<uint64_t>(std::stoll(text));
    return std::stoull(text);
}

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

FigureDb::FigureDb(const StoreRef &ref) : ref_(ref) {
    if (ref_.schema.empty()) return;  // SQLite: opened at the first query, once the file exists
    PGconn *c = PQconnectdb(
        (postgres_conninfo() + " options='-c search_path=" + ref_.schema + "'").c_str());
    INFO((c ? PQerrorMessage(c) : "out of memory"));
    REQUIRE((c && PQstatus(c) == CONNECTION_OK));
    pg_ = c;
}

FigureDb::~FigureDb() {
    sqlite3_close(static_cast<sqlite3 *>(sqlite_));
    PQfinish(static_cast<PGconn *>(pg_));
}

bool FigureDb::query(const std::string &sql, Rows &out) {
    out.clear();
    if (pg_) {
        PGresult *r = PQexec(static_cast<PGconn *>(pg_), sql.c_str());
        const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok)
            for (int i = 0; i < PQntuples(r); ++i) {
                auto &row = out.emplace_back();
                for (int j = 0; j < PQnfields(r); ++j)
                    row.push_back(PQgetisnull(r, i, j)
                                      ? std::nullopt
                                      : std::optional<std::string>(PQgetvalue(r, i, j)));
            }
        PQclear(r);
        return ok;
    }
    if (!sqlite_) {
        if (!std::filesystem::exists(ref_.sqlite_path)) return false;
        sqlite3 *db = nullptr;
        REQUIRE(sqlite3_open_v2(ref_.sqlite_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
                SQLITE_OK);
        sqlite3_busy_timeout(db, 10'000);
        sqlite_ = db;
    }
    sqlite3 *db = static_cast<sqlite3 *>(sqlite_);
    sqlite3_stmt *s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return false;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        auto &row = out.emplace_back();
        for (int j = 0; j < sqlite3_column_count(s); ++j) {
            const auto *t = reinterpret_cast<const char *>(sqlite3_column_text(s, j));
            row.push_back(t ? std::optional<std::string>(t) : std::nullopt);
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE;
}

bool FigureDb::has_table(const std::string &name) {
    Rows rows;
    return query("SELECT 1 FROM " + name + " LIMIT 1", rows);
}

Figures FigureDb::figures() {
    Figures out;
    Rows rows;
    REQUIRE(
        query("SELECT base, family, window_kind, window_start, d0, d1, d2, d3, d4, d5, "
              "window_number, value, suppressed, rounded, set_unix, bin_low, students, "
              "sequence FROM figures",
              rows));
    for (const auto &r : rows) {
        std::vector<uint32_t> dims;
        for (int i = 4; i < 10; ++i) dims.push_back(uint32_t(std::stoul(*r[i])));
        const FigureKey key{*r[0], uint32_t(std::stoul(*r[1])), uint32_t(std::stoul(*r[2])),
                            std::stoll(*r[3]), dims};
        // One generation per base in these tests: a second row under one key would be a
        // figure counted twice.
        REQUIRE(out.count(key) == 0);
        out[key] = {uint32_t(std::stoul(*r[10])),
                    std::stoll(*r[11]),
                    *r[12] != "0",
                    *r[13] != "0",
                    std::stoll(*r[14]),
                    *r[15],
                    *r[16],
                    to_u64(*r[17])};
    }
    return out;
}

std::map<std::pair<std::string, uint64_t>, std::string> FigureDb::snapshots(size_t *count) {
    std::map<std::pair<std::string, uint64_t>, std::string> out;
    if (count) *count = 0;
    Rows rows;
    if (!query("SELECT base, sequence, status FROM snapshots", rows)) return out;  // not yet
    for (const auto &r : rows) {
        if (count) ++*count;
        out[{*r[0], to_u64(*r[1])}] = *r[2];
    }
    return out;
}

}  // namespace console_test
