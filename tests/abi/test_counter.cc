// ABI 1.2 counter handles: sonde_counter_add() inline in the host, with the library's slow
// path behind it. Every case compares the segment's totals with what was added.
#ifndef _WIN32
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "plugin.hpp"

using test::api;

constexpr int kWritersToReuse = 2047;

namespace {

sonde_counter counter_for(sonde_writer *w, uint32_t event, uint32_t level, int *rc = nullptr) {
    sonde_counter c{};
    c.struct_size = sizeof c;
    const int status = api().counter_get(w, event, level, &c);
    if (rc) *rc = status;
    return c;
}

}  // namespace

TEST_CASE("counter: inline adds land in the segment exactly", "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    int rc = -99;
    sonde_counter sent = counter_for(w, SONDE_EV_MESSAGE_SENT, 3, &rc);
    CHECK(rc == SONDE_OK);
    sonde_counter polls = counter_for(w, SONDE_EV_POLL_PUBLISHED, 0);
    int failed = 0;
    for (int i = 0; i < 100000; ++i) failed |= sonde_counter_add(&sent, 1);
    failed |= sonde_counter_add(&sent, -7);  // corrections
    failed |= sonde_counter_add(&polls, 5);
    CHECK(failed == 0);
#if __has_builtin(__builtin_thread_pointer)
    // The inline path is armed after the first add: the counter's epoch is the writer's.
    CHECK(sent.expect_ == (*sent.armed_ ^ uint64_t(uintptr_t(__builtin_thread_pointer()))));
#endif  // else (MinGW's GCC): sonde.h's add always takes the call, exact all the same
    // Interleaved with count on the same writer.
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 3, 10) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 3) == 100000 - 7 + 10);
    CHECK(tb.view().event(SONDE_EV_POLL_PUBLISHED) == 5);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("counter: arguments are checked like count's", "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    sonde_counter c{};
    c.struct_size = sizeof c;
    CHECK(api().counter_get(w, SONDE_EV_MESSAGE_SENT, 0, nullptr) == SONDE_E_NULL);
    CHECK(api().counter_get(nullptr, SONDE_EV_MESSAGE_SENT, 0, &c) == SONDE_E_NULL);
    CHECK(api().counter_get(w, 0, 0, &c) == SONDE_E_RANGE);
    CHECK(api().counter_get(w, SONDE_EV_END_, 0, &c) == SONDE_E_RANGE);
    CHECK(api().counter_get(w, SONDE_EV_MESSAGE_SENT, SONDE_LEVEL_SLOTS, &c) == SONDE_E_RANGE);
    c.struct_size = 8;
    CHECK(api().counter_get(w, SONDE_EV_MESSAGE_SENT, 0, &c) == SONDE_E_SIZE);
    CHECK(api().counter_add(nullptr, 1) == SONDE_E_NULL);
    // A counter the host scribbled on is refused, not followed.
    sonde_counter forged = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    forged.cell_ = 100000;
    CHECK(sonde_counter_add(&forged, 1) == SONDE_E_ARG);
    uint64_t elsewhere = 12345;
    forged = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    forged.armed_ = &elsewhere;
    CHECK(sonde_counter_add(&forged, 1) == SONDE_E_ARG);
    // A counter whose counter_get failed is safe to add to: it returns the error again.
    int rc = 0;
    sonde_counter failed = counter_for(w, SONDE_EV_END_, 0, &rc);
    CHECK(rc == SONDE_E_RANGE);
    CHECK(sonde_counter_add(&failed, 1) == SONDE_E_RANGE);
    failed =
        counter_for(reinterpret_cast<sonde_writer *>(&elsewhere), SONDE_EV_MESSAGE_SENT, 0, &rc);
    CHECK(rc == SONDE_E_HANDLE);
    CHECK(sonde_counter_add(&failed, 1) == SONDE_E_HANDLE);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 0);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("counter: a disabled base records nothing, enabling it later records again",
          "[abi][counter]") {
    test::TempBase tb;
    sonde_base *base = tb.open();  // no configuration: disabled
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    int rc = -99;
    sonde_counter c = counter_for(w, SONDE_EV_MESSAGE_SENT, 1, &rc);
    CHECK(rc == SONDE_DISABLED);
    for (int i = 0; i < 1000; ++i) CHECK(sonde_counter_add(&c, 1) == SONDE_DISABLED);

    tb.enable();
    REQUIRE(test::eventually([&] { return sonde_counter_add(&c, 1) == SONDE_OK; }));
    for (int i = 0; i < 999; ++i) REQUIRE(sonde_counter_add(&c, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 1) == 1000);

    // Until the watcher sees the change, adds still record and say so: every SONDE_OK counts.
    tb.enable(false);
    int64_t recorded = 1000;
    REQUIRE(test::eventually([&] {
        const int rc = sonde_counter_add(&c, 1);
        recorded += rc == SONDE_OK;
        return rc == SONDE_DISABLED;
    }));
    for (int i = 0; i < 1000; ++i) CHECK(sonde_counter_add(&c, 1) == SONDE_DISABLED);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 1) == recorded);

    tb.enable();
    REQUIRE(test::eventually([&] { return sonde_counter_add(&c, 1) == SONDE_OK; }));
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 1) == recorded + 1);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("counter: dead after writer_release and base_close, even when slots are reused",
          "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    sonde_counter c = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    REQUIRE(sonde_counter_add(&c, 1) == SONDE_OK);
    REQUIRE(api().writer_release(w) == SONDE_OK);
    std::vector<sonde_writer *> fresh(kWritersToReuse);
    for (auto &f : fresh) REQUIRE(api().writer_get(base, &f) == SONDE_OK);
    for (int i = 0; i < 1000; ++i) CHECK(sonde_counter_add(&c, 1) == SONDE_E_HANDLE);
    for (auto &f : fresh) CHECK(api().count(f, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 1 + kWritersToReuse);

    sonde_counter live = counter_for(fresh[0], SONDE_EV_MESSAGE_SENT, 0);
    REQUIRE(sonde_counter_add(&live, 1) == SONDE_OK);
    REQUIRE(api().base_close(base) == SONDE_OK);
    CHECK(sonde_counter_add(&live, 1) == SONDE_E_HANDLE);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 2 + kWritersToReuse);
}

TEST_CASE("counter: used from another thread, it stays exact and is counted", "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    sonde_counter mine = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    sonde_counter lent = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    constexpr int kEach = 1000000;
    std::atomic<int> failures{0};
    std::thread other([&] {
        for (int i = 0; i < kEach; ++i)
            if (sonde_counter_add(&lent, 1) != SONDE_OK) ++failures;
    });
    for (int i = 0; i < kEach; ++i)
        if (sonde_counter_add(&mine, 1) != SONDE_OK) ++failures;
    other.join();
    CHECK(failures == 0);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 2 * kEach);
    CHECK(test::diagnostics(base).foreign_thread_calls == uint64_t(kEach));
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("counter: a writer on the shared row adds atomically", "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    const uint32_t rows = test::diagnostics(base).rows_total;
    std::vector<sonde_writer *> holders(rows);
    for (auto &h : holders) REQUIRE(api().writer_get(base, &h) == SONDE_OK);
    constexpr int kThreads = 2, kEach = 300000;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            sonde_writer *w = nullptr;  // every row is leased: the shared row
            if (api().writer_get(base, &w) != SONDE_OK) ++failures;
            sonde_counter c = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
            for (int i = 0; i < kEach; ++i)
                if (sonde_counter_add(&c, 1) != SONDE_OK) ++failures;
            api().writer_release(w);
        });
    for (auto &t : threads) t.join();
    CHECK(failures == 0);
    CHECK(test::diagnostics(base).shared_row_writers >= uint64_t(kThreads));
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == int64_t(kThreads) * kEach);
    api().base_close(base);
}

#ifndef _WIN32  // fork: Windows has no inherited address space
TEST_CASE("counter: inherited by a forked child, refused there", "[abi][counter]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    sonde_counter c = counter_for(w, SONDE_EV_MESSAGE_SENT, 0);
    REQUIRE(sonde_counter_add(&c, 1) == SONDE_OK);
    const pid_t pid = ::fork();
    if (pid == 0) {
        int refused = 0;
        for (int i = 0; i < 10000; ++i) refused += sonde_counter_add(&c, 1) == SONDE_E_HANDLE;
        ::_exit(refused == 10000 ? 0 : 1);
    }
    for (int i = 0; i < 10000; ++i) sonde_counter_add(&c, 1);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 10001);
    api().writer_release(w);
    api().base_close(base);
}
#endif
