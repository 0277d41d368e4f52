// Enabled per base by the hosting console: a disabled base records nothing and creates no
// segment; changes to the configuration file reach running hosts within seconds.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "plugin.hpp"

using test::api;

namespace {
bool exists(const std::string &path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}
}  // namespace

TEST_CASE("a base that is not enabled records nothing and costs no segment", "[abi][enable]") {
    test::TempBase tb;
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_DISABLED);
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, "u",
                           1) == SONDE_DISABLED);
    CHECK(api().gauge_set(base, SONDE_GAUGE_ROOMS, 0, 5) == SONDE_DISABLED);
    CHECK_FALSE(exists(tb.segment_path()));
    CHECK(test::diagnostics(base).enabled == 0);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("enable, disable and malformed files are picked up live", "[abi][enable]") {
    test::TempBase tb;
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);  // made while disabled: gets a row later
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_DISABLED);

    tb.enable(true);
    REQUIRE(
        test::eventually([&] { return api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK; }));
    CHECK(exists(tb.segment_path()));
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 2);
    CHECK(tb.view().rows_leased() == 1);

    // A malformed file is reported and the previous state stays in force.
    tb.write_config("[base]\nenabled = true\nsecret = not-hex\n");
    REQUIRE(test::eventually([&] { return test::diagnostics(base).config_errors >= 1; }));
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);

    tb.enable(false);
    REQUIRE(test::eventually([&] { return test::diagnostics(base).enabled == 0; }));
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_DISABLED);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 3);  // kept, not reset
    CHECK(test::diagnostics(base).disabled_calls >= 1);

    tb.enable(true);
    REQUIRE(
        test::eventually([&] { return api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK; }));
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 4);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("several opens of one base share it", "[abi][enable]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *a = tb.open(), *b = tb.open();
    CHECK(a != b);  // one handle per open (ABI 1.2), one segment
    CHECK(tb.view().header().generation != 0);
    CHECK(api().base_close(a) == SONDE_OK);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(b, &w) == SONDE_OK);  // still open once
    CHECK(api().count(w, SONDE_EV_POLL_PUBLISHED, 2, 1) == SONDE_OK);
    CHECK(api().base_close(b) == SONDE_OK);
    CHECK(api().writer_get(b, &w) == SONDE_E_HANDLE);
    CHECK(tb.view().event(SONDE_EV_POLL_PUBLISHED, 2) == 1);
}
