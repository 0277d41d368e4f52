// The promises of sonde.h and docs/abi.md, each as an outside integrator found it broken
// (issue 6, section 1): every case here failed before its fix.
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <vector>

#include "plugin.hpp"

using test::api;

namespace {

// The size of sonde_diagnostics in ABI 1.0: everything up to students_capacity.
constexpr uint32_t kDiagnostics10Size =
    uint32_t(offsetof(sonde_diagnostics, students_capacity) + sizeof(uint32_t));

}  // namespace

TEST_CASE("diagnostics writes no byte past the caller's struct_size", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    for (uint32_t size :
         {kDiagnostics10Size, kDiagnostics10Size + 8, uint32_t(sizeof(sonde_diagnostics))}) {
        // A host built against an older header: its struct ends at `size`, its memory goes on.
        unsigned char buffer[sizeof(sonde_diagnostics) + 64];
        std::memset(buffer, 0xAB, sizeof buffer);
        const uint32_t declared = size;
        std::memcpy(buffer, &declared, sizeof declared);
        REQUIRE(api().diagnostics(base, reinterpret_cast<sonde_diagnostics *>(buffer)) == SONDE_OK);
        uint32_t reported = 0;
        std::memcpy(&reported, buffer, sizeof reported);
        CHECK(reported == size);
        size_t touched = 0;
        for (size_t i = size; i < sizeof buffer; ++i) touched += buffer[i] != 0xAB;
        CHECK(touched == 0);
        uint32_t enabled = 0;
        std::memcpy(&enabled, buffer + offsetof(sonde_diagnostics, enabled), sizeof enabled);
        CHECK(enabled == 1);
    }
    api().base_close(base);
}

TEST_CASE("a released writer stays dead when its slot is reused", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *old = nullptr, *fresh = nullptr;
    REQUIRE(api().writer_get(base, &old) == SONDE_OK);
    REQUIRE(api().writer_release(old) == SONDE_OK);
    REQUIRE(api().writer_get(base, &fresh) == SONDE_OK);
    CHECK(fresh != old);
    const uint64_t bad_before = test::diagnostics(base).bad_handle;
    int refused = 0;
    for (int i = 0; i < 1000; ++i)
        refused += api().count(old, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE;
    CHECK(refused == 1000);
    CHECK(api().writer_release(old) == SONDE_E_HANDLE);
    CHECK(api().count(fresh, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 1);
    CHECK(test::diagnostics(base).bad_handle >= bad_before + 1000);
    api().writer_release(fresh);
    api().base_close(base);
}

TEST_CASE("a closed base handle stays dead after the base is opened again", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *first = tb.open();
    REQUIRE(api().base_close(first) == SONDE_OK);
    sonde_base *second = tb.open();
    sonde_writer *w = nullptr;
    CHECK(api().writer_get(first, &w) == SONDE_E_HANDLE);
    CHECK(w == nullptr);
    CHECK(api().gauge_set(first, SONDE_GAUGE_CLASSES, 0, 3) == SONDE_E_HANDLE);
    CHECK(api().base_close(first) == SONDE_E_HANDLE);
    CHECK(api().writer_get(second, &w) == SONDE_OK);
    api().writer_release(w);
    CHECK(api().base_close(second) == SONDE_OK);
}

TEST_CASE("a writer shared by two threads loses nothing and is counted", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    constexpr int64_t kEach = 2000000;
    std::atomic<int> failures{0};
    auto hammer = [&] {
        for (int64_t i = 0; i < kEach; ++i)
            if (api().count(w, SONDE_EV_MESSAGE_SENT, 2, 1) != SONDE_OK) ++failures;
    };
    std::thread other(hammer);
    hammer();
    other.join();
    CHECK(failures == 0);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 2) == 2 * kEach);
    CHECK(test::diagnostics(base).foreign_thread_calls == uint64_t(kEach));
    api().writer_release(w);
    api().base_close(base);
}

#ifndef _WIN32  // fork: Windows has no inherited address space
TEST_CASE("a writer inherited by a forked child is refused there, never shared",
          "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 5) == SONDE_OK);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int refused = 0;
        for (int i = 0; i < 100000; ++i)
            refused += api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_E_HANDLE;
        ::_exit(refused == 100000 ? 0 : 1);
    }
    for (int i = 0; i < 100000; ++i) api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 100005);
    CHECK(test::diagnostics(base).bad_handle >= 100000);  // counted in the base's segment
    api().writer_release(w);
    api().base_close(base);
}
#endif

TEST_CASE("closing one of two opens releases that open's writers", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *keep = tb.open();
    for (int round = 0; round < 2100; ++round) {
        sonde_base *b = tb.open();
        sonde_writer *w = nullptr;
        REQUIRE(api().writer_get(b, &w) == SONDE_OK);
        REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
        REQUIRE(api().base_close(b) == SONDE_OK);
        if (round % 500 == 0) CHECK(test::diagnostics(keep).rows_in_use <= 1);
    }
    const sonde_diagnostics d = test::diagnostics(keep);
    CHECK(d.rows_in_use == 0);
    CHECK(d.shared_row_writers == 0);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 2100);
    // The other open is untouched.
    sonde_writer *w = nullptr;
    CHECK(api().writer_get(keep, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    api().writer_release(w);
    CHECK(api().base_close(keep) == SONDE_OK);
}

TEST_CASE("base slots are reused: a process opens and closes bases for months", "[abi][contract]") {
    test::TempBase tb;
    for (int round = 0; round < 300; ++round) {
        char id[9];
        std::snprintf(id, sizeof id, "%07dA", 310000 + round);
        test::TempBase other(id);
        other.config_dir = tb.config_dir;  // one directory, many bases
        other.shm_dir = tb.shm_dir;
        sonde_base *b = other.open();
        REQUIRE(api().base_close(b) == SONDE_OK);
    }
    sonde_base *b = tb.open();
    CHECK(api().base_close(b) == SONDE_OK);
}

TEST_CASE("level labels must be valid UTF-8", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    CHECK(api().level_declare(base, 1, "6EME") == SONDE_OK);
    CHECK(api().level_declare(base, 2, "5\xC3\x88ME") == SONDE_OK);  // 5ÈME
    CHECK(api().level_declare(base, 3, "ULIS coll\xC3\xA8ge") == SONDE_OK);
    const uint64_t before = test::diagnostics(base).bad_argument;
    CHECK(api().level_declare(base, 4, "\xFF\xFE") == SONDE_E_ARG);          // not UTF-8
    CHECK(api().level_declare(base, 4, "5\xC3") == SONDE_E_ARG);             // truncated sequence
    CHECK(api().level_declare(base, 4, "\xC0\xAF") == SONDE_E_ARG);          // overlong '/'
    CHECK(api().level_declare(base, 4, "\xED\xA0\x80") == SONDE_E_ARG);      // UTF-16 surrogate
    CHECK(api().level_declare(base, 4, "\xF4\x90\x80\x80") == SONDE_E_ARG);  // > U+10FFFF
    CHECK(api().level_declare(base, 4, "tab\there") == SONDE_E_ARG);         // control character
    CHECK(test::diagnostics(base).bad_argument == before + 6);
    CHECK(tb.view().level_label(4).empty());
    CHECK(tb.view().level_label(2) == "5\xC3\x88ME");
    api().base_close(base);
}

TEST_CASE("count wraps modulo 2^64 and never traps", "[abi][contract]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, INT64_MAX) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 2) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == INT64_MIN + 1);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, INT64_MIN) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, -1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 0);  // back where it started
    // student's deltas are bounded by the 24-bit tally words: refused, counted.
    const uint64_t before = test::diagnostics(base).out_of_range;
    CHECK(api().student(w, SONDE_TALLY_LATE_ARRIVAL, "E-1", 3, 1, int64_t{1} << 23) ==
          SONDE_E_RANGE);
    CHECK(api().student(w, SONDE_TALLY_LATE_ARRIVAL, "E-1", 3, 1, -(int64_t{1} << 23) - 1) ==
          SONDE_E_RANGE);
    CHECK(api().student(w, SONDE_TALLY_LATE_ARRIVAL, "E-1", 3, 1, (int64_t{1} << 23) - 1) ==
          SONDE_OK);
    CHECK(test::diagnostics(base).out_of_range == before + 2);
    api().writer_release(w);
    api().base_close(base);
}
