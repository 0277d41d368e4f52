// The console tests' main: Catch2 with one more option, --store sqlite|postgresql, the store the
// console under test writes to (docs/delivery.md#tests-of-the-service). With postgresql the
// database is SONDE_TEST_POSTGRES (a libpq connection string); without it, or when the server
// does not answer, the run is skipped (exit 77, ctest's SKIP_RETURN_CODE), unless
// SONDE_REQUIRE_POSTGRES=1 makes that a failure (CI).
#define CATCH_CONFIG_RUNNER
#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "figures.hpp"

namespace {

constexpr int kSkipped = 77;

int unavailable(const std::string &why) {
    const char *require = std::getenv("SONDE_REQUIRE_POSTGRES");
    if (require && std::string(require) == "1") {
        std::fprintf(stderr, "FAILED: PostgreSQL required (SONDE_REQUIRE_POSTGRES=1): %s\n",
                     why.c_str());
        return 1;
    }
    std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
    return kSkipped;
}

}  // namespace

int main(int argc, char **argv) {
    Catch::Session session;
    std::string store = "sqlite";
    using Catch::clara::Opt;
    session.cli(session.cli() |
                Opt(store, "sqlite|postgresql")["--store"]("the console's store under test"));
    if (const int rc = session.applyCommandLine(argc, argv)) return rc;
    if (store != "sqlite" && store != "postgresql") {
        std::fprintf(stderr, "--store takes sqlite or postgresql\n");
        return 2;
    }
    const Catch::ConfigData &c = session.configData();
    const bool listing = c.listTests || c.listTestNamesOnly || c.listTags || c.listReporters;
    if (store == "postgresql" && !listing) {
        const char *conninfo = std::getenv("SONDE_TEST_POSTGRES");
        if (!conninfo || !*conninfo) return unavailable("SONDE_TEST_POSTGRES is not set");
        PGconn *conn = PQconnectdb(conninfo);
        const bool ok = conn && PQstatus(conn) == CONNECTION_OK;
        const std::string why = conn ? PQerrorMessage(conn) : "out of memory";
        PQfinish(conn);
        if (!ok) return unavailable("cannot connect to SONDE_TEST_POSTGRES: " + why);
        console_test::use_postgres(conninfo);
    }
    return session.run();
}
