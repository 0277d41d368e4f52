// Every entry point validates its arguments, returns an error code and counts the misuse.
#include <catch2/catch.hpp>
#include <climits>
#include <cstring>

#include "plugin.hpp"

using test::api;

TEST_CASE("version negotiation", "[abi][misuse]") {
    void *so = test::load_plugin();
    REQUIRE(so);
    auto get = reinterpret_cast<sonde_get_api_fn>(test::plugin_symbol(so, "sonde_get_api"));
    auto magic = reinterpret_cast<sonde_abi_magic_fn>(test::plugin_symbol(so, "sonde_abi_magic"));
    REQUIRE(get);
    REQUIRE(magic);
    CHECK(magic()->magic == SONDE_ABI_MAGIC);
    CHECK(magic()->abi_major == SONDE_ABI_MAJOR);
    CHECK(magic()->schema_hash == SONDE_SCHEMA_HASH);
    CHECK(get(SONDE_ABI_MAJOR + 1, 0) == nullptr);
    CHECK(get(0, 0) == nullptr);
    CHECK(get(SONDE_ABI_MAJOR, SONDE_ABI_MINOR + 1) == nullptr);
    const sonde_api *t = get(SONDE_ABI_MAJOR, 0);
    REQUIRE(t);
    CHECK(t->struct_size == sizeof(sonde_api));
    CHECK(std::strstr(t->version(), "abi 1.2") != nullptr);
    for (int s = -12; s <= 2; ++s) CHECK(t->strerror(s) != nullptr);
    test::unload_plugin(so);
}

TEST_CASE("base_open rejects bad parameters", "[abi][misuse]") {
    test::TempBase tb;
    const uint64_t before = test::diagnostics(nullptr).null_argument;
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.base_id = "0310001A";
    p.config_dir = tb.config_dir.c_str();
    p.shm_dir = tb.shm_dir.c_str();
    sonde_base *b = reinterpret_cast<sonde_base *>(0x1);
    CHECK(api().base_open(nullptr, &b) == SONDE_E_NULL);
    CHECK(api().base_open(&p, nullptr) == SONDE_E_NULL);
    CHECK(test::diagnostics(nullptr).null_argument == before + 2);

    auto with = [&](auto change) {
        sonde_open_params q = p;
        change(q);
        sonde_base *out = reinterpret_cast<sonde_base *>(0x1);
        int rc = api().base_open(&q, &out);
        CHECK(out == nullptr);
        return rc;
    };
    CHECK(with([](auto &q) { q.struct_size = 0; }) == SONDE_E_SIZE);
    CHECK(with([](auto &q) { q.struct_size = 8; }) == SONDE_E_SIZE);
    CHECK(with([](auto &q) { q.product = 0; }) == SONDE_E_RANGE);
    CHECK(with([](auto &q) { q.product = 99; }) == SONDE_E_RANGE);
    CHECK(with([](auto &q) { q.base_id = nullptr; }) == SONDE_E_NULL);
    CHECK(with([](auto &q) { q.base_id = "../../x"; }) == SONDE_E_ARG);
    CHECK(with([](auto &q) { q.base_id = "0310001"; }) == SONDE_E_ARG);
    CHECK(with([](auto &q) { q.config_dir = nullptr; }) == SONDE_E_NULL);
    CHECK(with([](auto &q) { q.config_dir = ""; }) == SONDE_E_ARG);
    CHECK(with([](auto &q) { q.shm_dir = ""; }) == SONDE_E_ARG);
    // A newer host with a larger struct is fine.
    struct Bigger {
        sonde_open_params p;
        uint64_t future_field;
    } big{p, 0};
    big.p.struct_size = sizeof big;
    sonde_base *ok = nullptr;
    CHECK(api().base_open(&big.p, &ok) == SONDE_OK);
    CHECK(api().base_close(ok) == SONDE_OK);
}

TEST_CASE("stale, foreign and NULL handles are refused", "[abi][misuse]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    int on_stack = 0;
    auto *foreign_writer = reinterpret_cast<sonde_writer *>(&on_stack);
    auto *foreign_base = reinterpret_cast<sonde_base *>(&on_stack);
    auto *misaligned = reinterpret_cast<sonde_writer *>(reinterpret_cast<char *>(w) + 8);
    const uint64_t bad_before = test::diagnostics(base).bad_handle;

    CHECK(api().count(nullptr, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_NULL);
    CHECK(api().count(foreign_writer, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE);
    CHECK(api().count(misaligned, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE);
    CHECK(api().gauge_set(foreign_base, SONDE_GAUGE_ROOMS, 0, 3) == SONDE_E_HANDLE);
    CHECK(api().writer_get(foreign_base, &w) == SONDE_E_HANDLE);
    CHECK(api().base_close(foreign_base) == SONDE_E_HANDLE);
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().writer_release(w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE);  // released
    CHECK(api().writer_release(w) == SONDE_E_HANDLE);
    // Process-wide (no base known) plus, for the released writer, the base's own counter.
    CHECK(test::diagnostics(base).bad_handle == bad_before + 7);

    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().base_close(base) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE);  // base closed
    CHECK(api().gauge_set(base, SONDE_GAUGE_ROOMS, 0, 3) == SONDE_E_HANDLE);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 0);
}

TEST_CASE("out-of-range values are refused and counted in the base", "[abi][misuse]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    const char key[] = "E-1";
    CHECK(api().count(w, 0, 0, 1) == SONDE_E_RANGE);
    CHECK(api().count(w, SONDE_EV_END_, 0, 1) == SONDE_E_RANGE);
    CHECK(api().count(w, UINT32_MAX, 0, 1) == SONDE_E_RANGE);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, SONDE_LEVEL_SLOTS, 1) == SONDE_E_RANGE);
    CHECK(api().connection(w, 0, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, key, 3) == SONDE_E_RANGE);
    CHECK(api().connection(w, SONDE_PROFILE_END_, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, key, 3) ==
          SONDE_E_RANGE);
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_END_, SONDE_ACCESS_DIRECT, key,
                           3) == SONDE_E_RANGE);
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, 0, key, 3) == SONDE_E_RANGE);
    CHECK(api().student(w, 0, key, 3, 1, 1) == SONDE_E_RANGE);
    CHECK(api().student(w, SONDE_TALLY_END_, key, 3, 1, 1) == SONDE_E_RANGE);
    CHECK(api().student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key, 3, SONDE_LEVEL_SLOTS, 1) ==
          SONDE_E_RANGE);
    CHECK(api().student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key, 3, 1, INT64_MAX) == SONDE_E_RANGE);
    CHECK(api().gauge_set(base, 0, 0, 1) == SONDE_E_RANGE);
    CHECK(api().gauge_set(base, SONDE_GAUGE_END_, 0, 1) == SONDE_E_RANGE);
    CHECK(api().gauge_set(base, SONDE_GAUGE_ROOMS, 0, int64_t(INT32_MAX) + 1) == SONDE_E_RANGE);
    CHECK(api().level_declare(base, 0, "6EME") == SONDE_E_RANGE);
    CHECK(api().level_declare(base, SONDE_LEVEL_SLOTS, "6EME") == SONDE_E_RANGE);
    CHECK(test::diagnostics(base).out_of_range >= 17);
    CHECK(tb.view().diag(sonde::shm::Diag::OutOfRange) == 17);

    // Malformed keys and labels.
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, nullptr,
                           3) == SONDE_E_NULL);
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, key,
                           0) == SONDE_E_ARG);
    CHECK(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, key,
                           100000) == SONDE_E_ARG);
    CHECK(api().student(w, SONDE_TALLY_LATE_ARRIVAL, nullptr, 3, 1, 1) == SONDE_E_NULL);
    CHECK(api().level_declare(base, 1, nullptr) == SONDE_E_NULL);
    CHECK(api().level_declare(base, 1, "") == SONDE_E_ARG);
    CHECK(api().level_declare(base, 1, "A LABEL LONGER THAN THIRTY-TWO BYTES") == SONDE_E_ARG);
    CHECK(tb.view().diag(sonde::shm::Diag::BadArgument) == 4);

    // Nothing reached a counter.
    auto v = tb.view();
    for (int64_t c : v.cells()) CHECK(c == 0);
    CHECK(v.users_used() == 0);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("diagnostics honours the caller's struct size", "[abi][misuse]") {
    sonde_diagnostics d{};
    CHECK(api().diagnostics(nullptr, nullptr) == SONDE_E_NULL);
    d.struct_size = 4;
    CHECK(api().diagnostics(nullptr, &d) == SONDE_E_SIZE);
    // An older host whose struct ends at students_capacity: nothing is written past it.
    struct {
        sonde_diagnostics d;
        uint32_t canary;
    } padded{};
    padded.d.struct_size = offsetof(sonde_diagnostics, students_capacity) + sizeof(uint32_t);
    padded.canary = 0xC0FFEE;
    CHECK(api().diagnostics(nullptr, &padded.d) == SONDE_OK);
    CHECK(padded.canary == 0xC0FFEE);
}

TEST_CASE("absurd deltas wrap like the shared row's fetch_add, never undefined", "[abi][misuse]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_POLL_PUBLISHED, 0, INT64_MAX) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_POLL_PUBLISHED, 0, INT64_MAX) ==
          SONDE_OK);  // found by fuzz_abi (UBSan)
    CHECK(api().count(w, SONDE_EV_POLL_PUBLISHED, 0, 2) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_POLL_PUBLISHED) == 0);  // 2^64 wraps to 0
    api().writer_release(w);
    api().base_close(base);
}
