// Exact counts across threads and processes; rows released at thread end and taken back
// from dead processes without losing or double counting anything.
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "host_process.hpp"
#include "plugin.hpp"

using test::api;
using test::spawn_child;

TEST_CASE("exact counts across threads", "[abi][counts]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    constexpr int kThreads = 4;
    constexpr int64_t kEvents = 200000;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};  // Catch2 assertions are not thread-safe: checked after join
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            sonde_writer *w = nullptr;
            if (api().writer_get(base, &w) != SONDE_OK) ++failures;
            for (int64_t i = 0; i < kEvents; ++i) {
                api().count(w, SONDE_EV_MESSAGE_SENT, uint32_t(i % 4), 1);
                if (i % 10 == 0) api().count(w, SONDE_EV_MESSAGE_RECEIVED, 0, 2);
                if (i % 1000 == 0) api().count(w, SONDE_EV_WORK_REQUEST_IT, 0, -1);
            }
            (void)t;
            // no writer_release: the thread's end gives the row back
        });
    for (auto &th : threads) th.join();
    CHECK(failures == 0);
    auto v = tb.view();
    CHECK(v.event(SONDE_EV_MESSAGE_SENT) == kThreads * kEvents);
    for (int l = 0; l < 4; ++l) CHECK(v.event(SONDE_EV_MESSAGE_SENT, l) == kThreads * kEvents / 4);
    CHECK(v.event(SONDE_EV_MESSAGE_RECEIVED) == kThreads * (kEvents / 10) * 2);
    CHECK(v.event(SONDE_EV_WORK_REQUEST_IT) == -kThreads * (kEvents / 1000));
    CHECK(v.rows_leased() == 0);  // released at thread exit
    api().base_close(base);
}

TEST_CASE("exact counts across processes", "[abi][counts]") {
    test::TempBase tb;
    tb.enable();
    std::vector<std::unique_ptr<test::HostProcess>> hosts;
    for (int p = 0; p < 4; ++p) hosts.push_back(spawn_child(tb, "count", 100000 + p, p));
    for (auto &h : hosts) CHECK(h->wait() == 0);
    auto v = tb.view();
    CHECK(v.event(SONDE_EV_MESSAGE_SENT) == 4 * 100000 + 0 + 1 + 2 + 3);
    for (int p = 0; p < 4; ++p) CHECK(v.event(SONDE_EV_MESSAGE_SENT, p) == 100000 + p);
    CHECK(v.rows_leased() == 0);
}

TEST_CASE("when every row is leased, writers share a slower row and stay exact", "[abi][counts]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    const uint32_t rows = tb.view().header().row_count;
    std::vector<sonde_writer *> writers(rows + 3);
    for (auto &w : writers) REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(tb.view().rows_leased() == rows);
    CHECK(test::diagnostics(base).shared_row_writers == 3);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 2; ++t)  // two threads on the shared row: fetch_add keeps it exact
        threads.emplace_back([&, t] {
            sonde_writer *w = nullptr;
            if (api().writer_get(base, &w) != SONDE_OK) ++failures;
            for (int i = 0; i < 100000; ++i) api().count(w, SONDE_EV_FORUM_CREATED, 1, 1);
            (void)t;
        });
    for (auto &th : threads) th.join();
    CHECK(failures == 0);
    for (auto *w : writers) CHECK(api().count(w, SONDE_EV_FORUM_CREATED, 1, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_FORUM_CREATED) == 200000 + int64_t(writers.size()));
    for (auto *w : writers) api().writer_release(w);
    CHECK(tb.view().rows_leased() == 0);
    api().base_close(base);
}

TEST_CASE("rows of a killed process are reclaimed; its counts stay, once", "[abi][counts][crash]") {
    test::TempBase tb;
    tb.enable();
    auto victim = spawn_child(tb, "hold", 12345, 3);
    std::string line;
    REQUIRE(victim->read_line(line));
    REQUIRE(line == "ready");  // counted, and holding its row
    CHECK(tb.view().rows_leased() == 1);
    victim->kill();
    CHECK(victim->wait() == -1);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 3) == 12345);

    // Lease every free row, so the next writer must take the dead one back.
    sonde_base *base = tb.open();
    const uint32_t rows = tb.view().header().row_count;
    std::vector<sonde_writer *> writers(rows);
    for (auto &w : writers) REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(test::diagnostics(base).rows_reclaimed == 1);
    CHECK(test::diagnostics(base).shared_row_writers == 0);
    for (auto *w : writers) REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 3, 1) == SONDE_OK);
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 3) == 12345 + int64_t(rows));
    for (auto *w : writers) api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("the watcher takes back rows of dead processes in the background",
          "[abi][counts][crash]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    auto victim = spawn_child(tb, "hold", 10, 0);
    std::string line;
    REQUIRE(victim->read_line(line));
    REQUIRE(line == "ready");
    victim->kill();
    CHECK(victim->wait() == -1);
    REQUIRE(test::eventually([&] { return tb.view().rows_leased() == 0; }));
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT) == 10);
    api().base_close(base);
}

TEST_CASE("a host may exit with its base still open", "[abi][counts]") {
    test::TempBase tb;
    tb.enable();
    CHECK(spawn_child(tb, "exit", 500, 1)->wait() == 0);  // no crash in static destructors
    CHECK(tb.view().event(SONDE_EV_MESSAGE_SENT, 1) == 500);
    sonde_base *base = tb.open();  // a live process's watcher takes the dead row back
    REQUIRE(test::eventually([&] { return tb.view().rows_leased() == 0; }));
    api().base_close(base);
}

// Issue 6 item 1.5: the tables hold their stated capacity through the plugin, and what does not
// fit past it is refused with SONDE_E_FULL and counted, never silently dropped.
TEST_CASE("the default capacities fit, and refusals past them are counted",
          "[abi][counts][capacity]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    const sonde::reader::SegmentView view = tb.view();
    const uint32_t users = view.header().user_stated_capacity;
    const uint32_t students = view.header().student_stated_capacity;
    CHECK(users == 24576);
    CHECK(students == 8192);

    auto connect = [&](uint32_t n) {
        const std::string key = "user-" + std::to_string(n);
        return api().connection(w, SONDE_PROFILE_GUARDIAN, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT,
                                key.data(), key.size());
    };
    auto tally = [&](uint32_t n) {
        const std::string key = "student-" + std::to_string(n);
        return api().student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key.data(), key.size(), 1, 1);
    };
    uint32_t refused = 0;
    for (uint32_t n = 0; n < users; ++n) refused += connect(n) != SONDE_OK;
    for (uint32_t n = 0; n < students; ++n) refused += tally(n) != SONDE_OK;
    CHECK(refused == 0);
    CHECK(view.users_used() == users);
    CHECK(view.students_used() == students);
    CHECK(view.diag(sonde::shm::Diag::UsersTableFull) == 0);
    CHECK(view.diag(sonde::shm::Diag::StudentsTableFull) == 0);

    // Far past the slots: refusals happen, each one returned and counted.
    uint64_t users_full = 0, students_full = 0;
    for (uint32_t n = users; n < 3 * view.header().user_capacity; ++n) {
        const int rc = connect(n);
        REQUIRE((rc == SONDE_OK || rc == SONDE_E_FULL));
        users_full += rc == SONDE_E_FULL;
    }
    for (uint32_t n = students; n < 3 * view.header().student_capacity; ++n) {
        const int rc = tally(n);
        REQUIRE((rc == SONDE_OK || rc == SONDE_E_FULL));
        students_full += rc == SONDE_E_FULL;
    }
    CHECK(users_full > 0);
    CHECK(students_full > 0);
    CHECK(view.diag(sonde::shm::Diag::UsersTableFull) == users_full);
    CHECK(view.diag(sonde::shm::Diag::StudentsTableFull) == students_full);
    const sonde_diagnostics d = test::diagnostics(base);
    CHECK(d.users_table_full == users_full);
    CHECK(d.students_table_full == students_full);
    CHECK(d.users_used == view.users_used());
    CHECK(d.users_capacity == 24576);  // the stated capacity, not the slots
    CHECK(d.students_capacity == 8192);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("an operator sizes a base's tables in its configuration", "[abi][counts][capacity]") {
    test::TempBase tb;
    tb.enable();
    std::string text;
    {
        std::ifstream in(sonde::config_path(tb.config_dir, tb.id));
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    tb.write_config(text + "users_capacity = 1000\nstudents_capacity = 300\n");
    sonde_base *base = tb.open();
    const sonde_diagnostics d = test::diagnostics(base);
    CHECK(d.enabled == 1);
    CHECK(d.users_capacity == 1000);
    CHECK(d.students_capacity == 300);
    const sonde::reader::SegmentView view = tb.view();
    CHECK(view.header().user_stated_capacity == 1000);
    CHECK(view.header().user_capacity == 2048);  // slots: at most half full at capacity
    CHECK(view.header().student_capacity == 1024);
    api().base_close(base);
}
