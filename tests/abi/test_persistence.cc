// Issue 7: persistent segments through the real library. A reboot (every process of a base
// killed, a new boot id) keeps every count in the same generation; a segment file deleted or
// truncated under a counting host neither loses its counts (deleted) nor kills the host
// (truncated); something squatted at the segment path is refused and retried.

#if !defined(_WIN32)
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/process.hpp"
#include "core/tables.hpp"
#include "host_process.hpp"
#include "plugin.hpp"

using test::api;

namespace {

// A host process that counts `n` message_sent, prints "ready" and waits to be killed.
std::unique_ptr<test::HostProcess> spawn_holder(const test::TempBase &tb, long n,
                                                const char *boot_id) {
    test::HostProcess::Options options;
    options.env = {{"SONDE_BOOT_ID", boot_id}};
    auto p = std::make_unique<test::HostProcess>(
        SONDE_CHILD_PATH, test::child_args(tb, {"hold", std::to_string(n), "0"}), options);
    REQUIRE(p->started());
    std::string line;
    REQUIRE(p->read_line(line));
    REQUIRE(line == "ready");
    return p;
}

void set_boot_id(const char *value) {
#if defined(_WIN32)
    _putenv_s("SONDE_BOOT_ID", value ? value : "");  // "" removes it
#else
    if (value)
        ::setenv("SONDE_BOOT_ID", value, 1);
    else
        ::unsetenv("SONDE_BOOT_ID");
#endif
}

// Takes the segment file's name away under its hosts. Linux unlinks it. Windows (and Wine)
// keep the name of a deleted file until its last handle and view close (a delete pending), so
// there the file is renamed aside instead: the name is gone, as after an unlink.
bool delete_segment(const std::string &path) {
#if defined(_WIN32)
    std::error_code ec;
    std::filesystem::rename(path, path + ".deleted", ec);
    return !ec;
#else
    return ::unlink(path.c_str()) == 0;
#endif
}

bool exists(const std::string &path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
}

int64_t sent(const sonde::reader::SegmentView &v) { return v.event(SONDE_EV_MESSAGE_SENT); }

// Counts message_sent from a thread until stopped; returns how many calls succeeded.
struct Counter {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> ok{0}, failed{0};
    std::thread thread;
    explicit Counter(sonde_base *base) {
        thread = std::thread([this, base] {
            sonde_writer *w = nullptr;
            if (api().writer_get(base, &w) != SONDE_OK) return;
            while (!stop.load()) {
                for (int i = 0; i < 64; ++i)
                    (api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK ? ok : failed)++;
                std::this_thread::yield();
            }
            api().writer_release(w);
        });
    }
    void finish() {
        stop = true;
        thread.join();
    }
};

}  // namespace

TEST_CASE("after a reboot every count is kept in the same generation", "[abi][persist]") {
    test::TempBase tb;
    tb.enable();
    std::unique_ptr<test::HostProcess> hosts[3];
    for (auto &h : hosts) h = spawn_holder(tb, 1000, "boot-before");
    uint64_t generation = 0;
    {
        const auto v = tb.view();
        CHECK(sent(v) == 3000);
        generation = v.mapping().layout().generation;
    }
    // The machine goes down: every process of the base dies at once.
    for (auto &h : hosts) h->kill();
    for (auto &h : hosts) h->wait();
    // After the boot, a lease of the old boot names a (pid, start time) that a live process
    // now has: ours. Process identities alone would keep that row leased forever.
    {
        std::string error;
        auto rw = sonde::reader::SegmentView::open(tb.segment_path(), &error,
                                                   sonde::shm::Access::ReadWrite);
        REQUIRE(rw);
        rw->mapping().leases()[40].owner.store(sonde::self_identity());
    }
    set_boot_id("boot-after");
    sonde_base *base = tb.open();
    set_boot_id(nullptr);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    for (int i = 0; i < 500; ++i) REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    const auto v = tb.view();
    CHECK(v.mapping().layout().generation == generation);  // the same generation goes on
    CHECK(sent(v) == 3500);                                // nothing lost, nothing twice
    CHECK(v.rows_leased() == 1);                           // only ours: every old lease folded
    CHECK(v.diag(sonde::shm::Diag::RowsReclaimed) == 4);
    CHECK(v.diag(sonde::shm::Diag::SegmentReboots) == 1);
    CHECK(v.header().boots.load() == 2);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("a segment file deleted under a counting host loses no count", "[abi][persist]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    const uint64_t generation = tb.view().mapping().layout().generation;
    Counter counter(base);
    REQUIRE(test::eventually([&] { return counter.ok.load() > 10000; }));
    REQUIRE(delete_segment(tb.segment_path()));
    // The watcher publishes it again (same generation) within about a second.
    REQUIRE(test::eventually([&] { return exists(tb.segment_path()); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    counter.finish();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // rows moved at the next tick
    const auto v = tb.view();
    CHECK(v.mapping().layout().generation == generation);
    CHECK(counter.failed.load() == 0);
    CHECK(sent(v) == counter.ok.load());
    CHECK(v.diag(sonde::shm::Diag::SegmentsRecovered) == 1);
    WARN("counted " << counter.ok.load() << ", in the republished segment " << sent(v));
    api().base_close(base);
}

namespace {

// A host process recording from `threads` threads (and one more through another thread's
// writer: the shared row) until `stop_file` exists; see run_until in child.cc.
struct Recorder {
    test::HostProcess host;
    Recorder(const test::TempBase &tb, int threads, const std::string &stop_file)
        : host(SONDE_CHILD_PATH,
               test::child_args(tb, {"run", std::to_string(threads), stop_file})) {
        REQUIRE(host.started());
        std::string line;
        REQUIRE(host.read_line(line));
        REQUIRE(line == "ready");
    }
    // What it recorded (calls that returned SONDE_OK), once it stopped: message_sent, tallies.
    std::pair<long, long> finish() {
        long sent = -1, tallies = -1;
        std::string line;
        REQUIRE(host.read_line(line));
        REQUIRE(std::sscanf(line.c_str(), "%ld %ld", &sent, &tallies) == 2);
        CHECK(host.wait() == 0);
        return {sent, tallies};
    }
};

// The student tallies of the segment, summed over every student (both school-year parities).
int64_t tally_sum(const sonde::reader::SegmentView &v, uint32_t tally) {
    const auto &m = v.mapping();
    int64_t sum = 0;
    for (uint32_t i = 0; i < m.layout().student_slots; ++i) {
        const sonde::shm::StudentEntry &e = m.students()[i];
        if (!sonde::tables::live_key(e.key.load())) continue;
        for (uint32_t p = 0; p < 2; ++p)
            sum += sonde::shm::tally_count(e.tally[p][sonde::catalog::kTallies[tally].slot].load());
    }
    return sum;
}

}  // namespace

TEST_CASE("a segment file deleted under hosts recording in several processes loses no count",
          "[abi][persist]") {
    // The durability table (docs/architecture.md): everything recorded before, during and after
    // the deletion, in every process, every row, the shared row and the student tallies.
    test::TempBase tb;
    tb.enable();
    const std::string stop = tb.dir + "/stop";
    std::vector<std::unique_ptr<Recorder>> hosts;
    for (int i = 0; i < 3; ++i) hosts.push_back(std::make_unique<Recorder>(tb, 2, stop));
    const uint64_t generation = tb.view().mapping().layout().generation;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(delete_segment(tb.segment_path()));
    REQUIRE(test::eventually([&] { return exists(tb.segment_path()); }));
    // Every host notices within a second and moves; they go on recording meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    std::FILE *f = std::fopen(stop.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
    long sent = 0, tallies = 0;
    for (auto &h : hosts) {
        const auto [s, t] = h->finish();
        sent += s;
        tallies += t;
    }
    const auto v = tb.view();
    INFO("recorded " << sent << " message_sent and " << tallies << " tallies");
    CHECK(v.mapping().layout().generation == generation);
    CHECK(v.diag(sonde::shm::Diag::SegmentsRecovered) == 1);
    CHECK(sent > 0);
    CHECK(v.event(SONDE_EV_MESSAGE_SENT) == sent);
    CHECK(v.tally_counter(SONDE_TALLY_ABSENCE_HALF_DAY) == tallies);
    CHECK(tally_sum(v, SONDE_TALLY_ABSENCE_HALF_DAY) == tallies);
    CHECK(v.rows_leased() == 0);  // every host released its rows, none leaked by the move
}

#if !defined(_WIN32)  // Windows refuses to truncate a file that has a view (docs/windows.md)
TEST_CASE("a segment file truncated under a counting host does not kill it", "[abi][persist]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    const uint64_t generation = tb.view().mapping().layout().generation;
    Counter counter(base);
    REQUIRE(test::eventually([&] { return counter.ok.load() > 10000; }));
    REQUIRE(::truncate(tb.segment_path().c_str(), 0) == 0);  // SIGBUS on the next store
    // The watcher sets the file aside and starts a new generation; the host lives on.
    REQUIRE(test::eventually([&] {
        std::string error;
        auto v = sonde::reader::SegmentView::open(tb.segment_path(), &error);
        return v && v->mapping().layout().generation != generation;
    }));
    const int64_t before = counter.ok.load();
    REQUIRE(test::eventually([&] { return counter.ok.load() > before + 10000; }));
    counter.finish();
    CHECK(counter.failed.load() == 0);
    const auto v = tb.view();
    CHECK(sent(v) > 0);  // counting goes on in the new generation
    CHECK(v.diag(sonde::shm::Diag::SegmentsReplaced) >= 1);
    api().base_close(base);
}

#endif

#if !defined(_WIN32)  // a FIFO in a sticky folder: neither exists on Windows
TEST_CASE("something squatted at the segment path is refused, then retried", "[abi][persist]") {
    test::TempBase tb;
    tb.enable();
    // In a sticky directory (like /dev/shm) another user's file cannot be set aside; a FIFO
    // stands for it. The open must neither hang nor record into it.
    ::chmod(tb.shm_dir.c_str(), 01777);
    REQUIRE(::mkfifo(tb.segment_path().c_str(), 0600) == 0);
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_DISABLED);
    CHECK_FALSE(test::diagnostics(base).enabled);
    // The squatter goes: the watcher tries again (every 5 s) and the base records.
    ::unlink(tb.segment_path().c_str());
    REQUIRE(test::eventually(
        [&] { return api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK; }, 8000));
    CHECK(test::diagnostics(base).enabled);
    api().writer_release(w);
    api().base_close(base);
}

#endif

TEST_CASE("the plugin reclaims students of school years no longer shown", "[abi][persist]") {
    test::TempBase tb;
    sonde::BaseConfig c;
    c.enabled = true;
    c.secret = {0x1234567890abcdefULL, 0x0fedcba987654321ULL};
    c.students_capacity = 256;  // 512 slots
    std::string error;
    REQUIRE(sonde::save_config(sonde::config_path(tb.config_dir, tb.id), c, &error));
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    // 300 students in each of three school years two years apart: 900 in 512 slots, which
    // only fits if the students of years the console no longer shows are reclaimed.
    int refused = 0;
    for (int year = 2022; year <= 2026; year += 2) {
        const int64_t november = (int64_t(year) - 1970) * 31556952 + 26000000;  // ~Nov 1
        REQUIRE(api().clock_set(base, november) == SONDE_OK);
        if (year > 2022)  // the watcher's two passes, a second apart
            REQUIRE(test::eventually(
                [&] {
                    return tb.view().diag(sonde::shm::Diag::EntriesReclaimed) >=
                           uint64_t(300 * (year - 2022) / 2);
                },
                8000));
        for (int s = 0; s < 300; ++s) {
            const std::string key = std::to_string(year) + "/" + std::to_string(s);
            refused += api().student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key.data(), key.size(), 0,
                                     1) != SONDE_OK;
        }
    }
    CHECK(refused == 0);
    CHECK(test::diagnostics(base).students_table_full == 0);
    CHECK(tb.view().students_used() == 300);
    api().writer_release(w);
    api().base_close(base);
}
