// Faults of issue 7 §4 that the watcher and the shipper must absorb: configuration and key
// files that block or are huge, a deleted election lock, a stopped shipper, clock jumps, a
// spool that refuses the final snapshot. Through the real plugin (dlopen, C ABI) and, for the
// figures, through the snapshots as the console reads them.
#if defined(_WIN32)
#include <windows.h>
// (after windows.h)
#include <psapi.h>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "channel.hpp"
#include "host_process.hpp"
#include "plugin.hpp"
#include "ship/spool.hpp"
#include "snapshot/ingest.hpp"

using test::api;
using test::Channel;
using test::kTue24Nov10h;
using test::make_channel;
namespace snap = sonde::snapshot;

namespace {

using Clock = std::chrono::steady_clock;

#if !defined(_WIN32)
// Replaces `path` by a FIFO. A watcher that opens it for reading without O_NONBLOCK blocks
// until a writer comes; Unblocker releases such a reader at the end of the test (opening the
// write side succeeds only while someone is blocked reading), so that a failing test fails
// instead of hanging.
void make_fifo(const std::string &path) {
    ::unlink(path.c_str());
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
}
struct Unblocker {
    std::string fifo;
    int released = 0;  // how many blocked readers it had to release
    void release() {
        for (int i = 0; i < 50; ++i) {
            const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) return;  // nobody reading (ENXIO): nothing blocked on it
            ::close(fd);
            ++released;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~Unblocker() { release(); }
};

// Whether a count on `w` is refused as disabled.
bool disabled(sonde_writer *w) {
    return api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_DISABLED;
}
#endif

// The process's peak resident set, kB, after resetting it (/proc/self/clear_refs "5"). Windows
// cannot reset its peak working set: the peak so far, which a 58 MB read would still raise
// (the test process stays far below it before).
long peak_rss_kb(bool reset) {
#if defined(_WIN32)
    (void)reset;
    PROCESS_MEMORY_COUNTERS pmc{};
    pmc.cb = sizeof pmc;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return -1;
    return long(pmc.PeakWorkingSetSize / 1024);
#else
    if (reset) std::ofstream("/proc/self/clear_refs") << "5";
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
#endif
}

#if !defined(_WIN32)
// Closes `base` with a watchdog: if the close is still running after 5 s (the watcher stuck on
// a FIFO), the watchdog releases the FIFO. Returns how long the close took.
double close_with_watchdog(sonde_base *base, Unblocker &unblock) {
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
        const auto limit = Clock::now() + std::chrono::seconds(5);
        while (!done && Clock::now() < limit)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!done) unblock.release();
    });
    const auto start = Clock::now();
    api().base_close(base);
    done = true;
    watchdog.join();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The second base of the process that a stuck watcher would fail: disabling it must reach its
// writers within ~1 s (the watcher checks configurations once a second).
void check_disable_applies(test::TempBase &other, sonde_writer *w) {
    REQUIRE_FALSE(disabled(w));
    other.enable(false);
    const auto start = Clock::now();
    const bool applied = test::eventually([&] { return disabled(w); }, 3000);
    const double took = std::chrono::duration<double>(Clock::now() - start).count();
    INFO("disable applied after " << took << " s");
    CHECK(applied);
    CHECK(took < 2.5);
}
#endif

}  // namespace

#if !defined(_WIN32)  // Windows has no FIFO in a folder (its named pipes live in \\.\pipe\)
TEST_CASE("a FIFO as a configuration file does not stall the watcher", "[abi][faults]") {
    test::TempBase a, b;
    a.enable();
    b.enable();
    sonde_base *base_a = a.open();
    sonde_base *base_b = b.open();
    sonde_writer *wb = nullptr;
    REQUIRE(api().writer_get(base_b, &wb) == SONDE_OK);
    const uint64_t errors = test::diagnostics(base_a).config_errors;
    const std::string conf = sonde::config_path(a.config_dir, a.id);
    make_fifo(conf);
    Unblocker unblock{conf};
    // The watcher meets the FIFO: it refuses it (not a regular file) and keeps the base's state.
    CHECK(test::eventually([&] { return test::diagnostics(base_a).config_errors > errors; }, 3000));
    check_disable_applies(b, wb);
    api().writer_release(wb);
    api().base_close(base_b);
    CHECK(close_with_watchdog(base_a, unblock) < 2.0);
    CHECK(unblock.released == 0);
}

TEST_CASE("a FIFO as the sender key does not stall the watcher", "[abi][faults]") {
    test::TempBase a, b;
    a.enable();
    b.enable();
    const std::string spool = a.dir + "/spool", fifo = a.dir + "/server.key";
    ::mkdir(spool.c_str(), 0700);
    std::string error;
    sonde::crypto::KeyPair console{};
    REQUIRE(snap::generate_key_file(a.dir + "/console.key", console, &error));
    make_fifo(fifo);
    Unblocker unblock{fifo};
    sonde::BaseConfig config;
    config.enabled = true;
    config.secret = {1, 2};
    config.snapshots.spool_dir = spool;
    config.snapshots.console_public_key = a.dir + "/console.key";
    config.snapshots.sender_key = fifo;
    REQUIRE(sonde::save_config(sonde::config_path(a.config_dir, a.id), config, &error));
    sonde_base *base_b = b.open();
    sonde_writer *wb = nullptr;
    REQUIRE(api().writer_get(base_b, &wb) == SONDE_OK);
    sonde_base *base_a = a.open();  // real clock: its shipper runs on the watcher
    CHECK(test::eventually([&] { return test::diagnostics(base_a).snapshot_errors > 0; }, 3000));
    check_disable_applies(b, wb);
    api().writer_release(wb);
    api().base_close(base_b);
    CHECK(close_with_watchdog(base_a, unblock) < 2.0);
    CHECK(unblock.released == 0);
}

#endif

TEST_CASE("a 58 MB configuration is refused without being read", "[abi][faults]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    const uint64_t errors = test::diagnostics(base).config_errors;
    const std::string conf = sonde::config_path(tb.config_dir, tb.id), big = conf + ".big";
    std::ofstream(big, std::ios::binary).close();
    std::filesystem::resize_file(big, 58 << 20);  // sparse on Linux: the size is what matters
    const long before = peak_rss_kb(true);
    std::filesystem::rename(big, conf);  // replaces the file on Windows too
    REQUIRE(test::eventually([&] { return test::diagnostics(base).config_errors > errors; }));
    const long after = peak_rss_kb(false);
    INFO("peak RSS before " << before << " kB, after " << after << " kB");
    REQUIRE(before > 0);
    CHECK(after - before < 8 * 1024);  // it was +460 MB per host
    // The previous state stays in force.
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    api().writer_release(w);
    api().base_close(base);
}

namespace {

// A host process (tests/abi/child.cc "replay"): opens the base, then for `steps` steps moves
// its own manual clock (from `start`, 15 minutes a step) and counts. Every clock_set is a
// shipper step, so whoever is elected latches and ships as it goes.
std::unique_ptr<test::HostProcess> spawn_replayer(const test::TempBase &tb, int64_t start,
                                                  int steps) {
    auto p = std::make_unique<test::HostProcess>(
        SONDE_CHILD_PATH,
        test::child_args(tb, {"replay", std::to_string(start), std::to_string(steps)}));
    REQUIRE(p->started());
    return p;
}

}  // namespace

TEST_CASE("a deleted lock file never makes two shippers write one sequence", "[abi][faults]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h);
        api().base_close(base);  // sequence 1; no base open in this process before forking
    }
    const std::string lock = c.spool + "/" + tb.id + ".lock";
    // Two hosts whose clocks are one second apart (so their files never have the same name).
    auto one = spawn_replayer(tb, kTue24Nov10h + 900, 60);
    auto two = spawn_replayer(tb, kTue24Nov10h + 901, 60);
    int one_status = -1, two_status = -1;
    bool one_done = false, two_done = false;
    for (int i = 0; i < 2000; ++i) {
        // The operator's (or a cleaner's) mistake, again and again. (On Windows the removal
        // fails while a shipper has the file open without FILE_SHARE_DELETE; it is tried
        // whenever nobody has it open.)
        std::error_code ec;
        std::filesystem::remove(lock, ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        one_done = one_done || one->try_wait(one_status);
        two_done = two_done || two->try_wait(two_status);
        if (one_done && two_done) break;
    }
    REQUIRE(one_done);
    REQUIRE(two_done);
    CHECK(one_status == 0);
    CHECK(two_status == 0);
    sonde::ship::Spool spool(c.spool, tb.id);
    const auto files = spool.pending();
    CHECK(files.size() > 10);
    std::map<uint64_t, std::vector<std::string>> by_sequence;
    for (const auto &f : files) {
        by_sequence[f.sequence].push_back(f.path);
        CHECK(test::open(c, f.path).sequence() == f.sequence);
    }
    for (const auto &[sequence, paths] : by_sequence) {
        INFO("sequence " << sequence << " written " << paths.size() << " times, first "
                         << paths.front());
        CHECK(paths.size() == 1);
    }
    sonde::ship::SpoolState state;
    REQUIRE(spool.load_state(state, nullptr));
    CHECK(state.sequence == by_sequence.rbegin()->first);  // nothing handed out twice later
}

TEST_CASE("a stopped shipper keeps the lock; its next step after SIGCONT ships everything",
          "[abi][faults]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h);
        api().base_close(base);  // sequence 1
    }
    // The shipper (tests/abi/child.cc "ship"): elected at 10:01, it latches; told to go on, it
    // moves to 11:00 (the 10:00 hour closes: a snapshot) and closes the base.
    test::HostProcess shipper(SONDE_CHILD_PATH,
                              test::child_args(tb, {"ship", std::to_string(kTue24Nov10h + 60),
                                                    std::to_string(kTue24Nov10h + 3600)}));
    REQUIRE(shipper.started());
    std::string line;
    REQUIRE(shipper.read_line(line));
    REQUIRE(line == "ready");
    REQUIRE(shipper.suspend());  // SIGSTOP; NtSuspendProcess on Windows
    sonde_base *base = tb.open();
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().clock_set(base, kTue24Nov10h + 120) == SONDE_OK);
    const uint64_t written =
        test::diagnostics(base).snapshots_written;  // by the segment's shippers
    // Connections: carried hour by hour and day by day (docs/snapshot.md, views).
    for (int i = 0; i < 500; ++i)
        REQUIRE(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT,
                                 "E-1", 3) == SONDE_OK);
    sonde::ship::Spool spool(c.spool, tb.id);
    // This process does not take over while the shipper is stopped (it holds the flock), so
    // nothing is shipped meanwhile...
    for (int step = 1; step <= 5; ++step)
        REQUIRE(api().clock_set(base, kTue24Nov10h + 120 + step * 900) == SONDE_OK);
    CHECK(spool.pending().size() == 1);
    CHECK(test::diagnostics(base).snapshots_written == written);
    // ...and nothing is lost: the shipper's first step after SIGCONT ships it all.
    REQUIRE(shipper.resume());
    REQUIRE(shipper.send_line("go"));
    CHECK(shipper.wait() == 0);
    snap::IngestStore store;
    for (const auto &f : spool.pending()) store.ingest(test::open(c, f.path));
    int64_t hour10 = 0, day = 0;
    store.visit([&](const snap::IngestStore::FigureView &f) {
        if (f.family != snap::IngestStore::Family::Value) return;
        if (f.window_kind == snap::v1::WINDOW_KIND_HOUR && f.window_start == kTue24Nov10h)
            hour10 += f.value;
        if (f.window_kind == snap::v1::WINDOW_KIND_DAY) day += f.value;
    });
    CHECK(hour10 == 500);
    CHECK(day == 500);
    api().writer_release(w);
    api().base_close(base);
}

namespace {

// The console's view of every file in the spool: per (window kind, window start), the sum of
// the event figures the store kept (the highest sequence of each figure).
struct ConsoleView {
    std::map<std::pair<uint32_t, int64_t>, int64_t> events;
    int64_t negatives = 0;
    int64_t sum(uint32_t kind) const {
        int64_t total = 0;
        for (const auto &[key, value] : events)
            if (key.first == kind) total += value;
        return total;
    }
    int64_t at(uint32_t kind, int64_t start) const {
        const auto it = events.find({kind, start});
        return it == events.end() ? 0 : it->second;
    }
};

ConsoleView console_view(const Channel &c, const std::string &base_id) {
    snap::IngestStore store;
    for (const auto &f : sonde::ship::Spool(c.spool, base_id).pending())
        store.ingest(test::open(c, f.path));
    ConsoleView view;
    store.visit([&](const snap::IngestStore::FigureView &f) {
        if (f.family != snap::IngestStore::Family::Value) return;
        if (f.value < 0) ++view.negatives;
        view.events[{f.window_kind, f.window_start}] += f.value;
    });
    return view;
}

constexpr int64_t kDay = 86400;
constexpr int64_t kSun22Nov10h = kTue24Nov10h - 2 * kDay;
constexpr int64_t kWed24Nov2027At10h = kTue24Nov10h + 365 * kDay;  // 2027-11-24 10:00 CET
constexpr int64_t kTue24NovMidnight = 1795474800;                  // 2026-11-24 00:00 CET
constexpr int64_t kNov2026 = 1793487600;                           // 2026-11-01 00:00 CET
constexpr int64_t kSep2026 = 1788213600;                           // 2026-09-01 00:00 CEST
constexpr int64_t kWed24Nov2027Midnight = kTue24NovMidnight + 365 * kDay;
constexpr int64_t kNov2027 = kNov2026 + 365 * kDay;
constexpr int64_t kSep2027 = kSep2026 + 365 * kDay;

}  // namespace

TEST_CASE("clock jumps never give a negative figure nor move counts between closed windows",
          "[abi][faults][clock]") {
    // The rule (docs/snapshot.md, "Clock jumps"): a window never reopens; a clock behind the
    // latest latch counts in the windows open at that latch; a jump ahead first closes the
    // open windows with everything counted in them.
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    Channel c = make_channel(tb, base, kTue24Nov10h);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    // Connections: the one measure the console shows hour by hour and day by day (the
    // snapshot carries other measures only per month and school year).
    auto count = [&](int n) {
        for (int i = 0; i < n; ++i)
            REQUIRE(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB,
                                     SONDE_ACCESS_DIRECT, "E-1", 3) == SONDE_OK);
    };
    auto at = [&](int64_t t) { REQUIRE(api().clock_set(base, t) == SONDE_OK); };
    count(100);
    at(kTue24Nov10h + 1800);  // a snapshot: Tuesday = 100
    at(kSun22Nov10h);         // back two days (an operator's fix, an NTP step)
    count(50);                // still Tuesday's: Sunday was never open
    at(kSun22Nov10h + 1800);  // a snapshot while the clock is behind
    at(kTue24Nov10h + 3600);  // the clock catches up
    count(10);
    at(kWed24Nov2027At10h);  // a year ahead: Tuesday closes with 160
    count(7);
    at(kWed24Nov2027At10h + 1800);
    at(kTue24Nov10h + 2 * 3600);  // and back: the 2027 windows stay open
    count(3);
    api().writer_release(w);
    api().base_close(base);  // the final snapshot

    using snap::v1::WINDOW_KIND_DAY;
    using snap::v1::WINDOW_KIND_HOUR;
    using snap::v1::WINDOW_KIND_MONTH;
    using snap::v1::WINDOW_KIND_SCHOOL_YEAR;
    const ConsoleView v = console_view(c, tb.id);
    CHECK(v.negatives == 0);
    CHECK(v.at(WINDOW_KIND_DAY, kSun22Nov10h - 10 * 3600) == 0);
    CHECK(v.at(WINDOW_KIND_DAY, kTue24NovMidnight) == 160);
    CHECK(v.at(WINDOW_KIND_MONTH, kNov2026) == 160);
    CHECK(v.at(WINDOW_KIND_SCHOOL_YEAR, kSep2026) == 160);
    CHECK(v.at(WINDOW_KIND_DAY, kWed24Nov2027Midnight) == 10);
    CHECK(v.at(WINDOW_KIND_MONTH, kNov2027) == 10);
    CHECK(v.at(WINDOW_KIND_SCHOOL_YEAR, kSep2027) == 10);
    CHECK(v.at(WINDOW_KIND_HOUR, kTue24Nov10h) == 150);
    CHECK(v.at(WINDOW_KIND_HOUR, kTue24Nov10h + 3600) == 10);
    CHECK(v.at(WINDOW_KIND_HOUR, kWed24Nov2027At10h) == 10);
    // Every count in exactly one window of each kind.
    CHECK(v.sum(WINDOW_KIND_HOUR) == 170);
    CHECK(v.sum(WINDOW_KIND_DAY) == 170);
    CHECK(v.sum(WINDOW_KIND_MONTH) == 170);
    CHECK(v.sum(WINDOW_KIND_SCHOOL_YEAR) == 170);
}

TEST_CASE("distinct users follow the windows' rule when the clock goes back",
          "[abi][faults][clock]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    make_channel(tb, base, kTue24Nov10h);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().clock_set(base, kSun22Nov10h) == SONDE_OK);
    REQUIRE(api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT, "u",
                             1) == SONDE_OK);
    auto v = tb.view();
    const uint64_t all = sonde::reader::connection_mask(0, 0, 0);
    CHECK(v.distinct(sonde::shm::kDay, uint32_t(kTue24NovMidnight / kDay + 1), all) == 1);  // Tue
    CHECK(v.distinct(sonde::shm::kDay, uint32_t(kTue24NovMidnight / kDay - 1), all) == 0);  // Sun
    api().writer_release(w);
    api().base_close(base);
}

namespace {

// Makes the spool refuse every write of the state (as a full disk would): a directory where
// the state's temporary file goes.
struct BlockedSpool {
    std::string path;
    BlockedSpool(const Channel &c, const std::string &id)
        : path(c.spool + "/" + id + ".state.tmp") {
        REQUIRE(std::filesystem::create_directory(path));
    }
    void free() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    ~BlockedSpool() { free(); }
};

void spool_full_at_shutdown(int64_t restart_at) {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h);
        sonde_writer *w = nullptr;
        REQUIRE(api().writer_get(base, &w) == SONDE_OK);
        // Connections: shown hour by hour and day by day, so every window kind carries them.
        auto connect = [&] {
            return api().connection(w, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_WEB, SONDE_ACCESS_DIRECT,
                                    "E-1", 3);
        };
        for (int i = 0; i < 1000; ++i) REQUIRE(connect() == SONDE_OK);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 1800) == SONDE_OK);  // shipped: 1000
        for (int i = 0; i < 7171; ++i) REQUIRE(connect() == SONDE_OK);
        BlockedSpool blocked(c, tb.id);
        const size_t files = sonde::ship::Spool(c.spool, tb.id).pending().size();
        api().writer_release(w);
        api().base_close(base);  // the final snapshot fails: the spool is full
        CHECK(sonde::ship::Spool(c.spool, tb.id).pending().size() == files);
    }                              // the spool is freed; every process of the base has stopped
    sonde_base *base = tb.open();  // a later process, on the segment that persisted
    REQUIRE(api().clock_set(base, restart_at) == SONDE_OK);
    REQUIRE(api().clock_set(base, restart_at + 1800) == SONDE_OK);  // its next snapshot
    api().base_close(base);
    const ConsoleView v = console_view(c, tb.id);
    CHECK(v.negatives == 0);
    CHECK(v.at(snap::v1::WINDOW_KIND_DAY, kTue24NovMidnight) == 8171);
    CHECK(v.at(snap::v1::WINDOW_KIND_MONTH, kNov2026) == 8171);
    CHECK(v.at(snap::v1::WINDOW_KIND_SCHOOL_YEAR, kSep2026) == 8171);
    CHECK(v.sum(snap::v1::WINDOW_KIND_HOUR) == 8171);
}

}  // namespace

TEST_CASE("counts left unshipped by a full spool at shutdown go out with the next process",
          "[abi][faults]") {
    SECTION("restarted the same day") { spool_full_at_shutdown(kTue24Nov10h + 3 * 3600); }
    SECTION("restarted three days later") { spool_full_at_shutdown(kTue24Nov10h + 3 * kDay); }
}
