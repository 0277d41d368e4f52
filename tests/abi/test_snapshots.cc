// Snapshots end to end through the real plugin: latches, windows, privacy policy, sealing,
// durable spool, shipper election and takeover. Opened with the console-side library.
#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/stat.h>
#include <unistd.h>
#endif

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "catalog_layout.hpp"
#include "channel.hpp"
#include "core/config.hpp"
#include "core/siphash.hpp"
#include "host_process.hpp"
#include "platform/read_file.hpp"
#include "plugin.hpp"
#include "ship/spool.hpp"
#include "snapshot/console.hpp"
#include "snapshot/keys.hpp"

using test::api;
using test::Channel;
using test::kTue24Nov10h;
using test::make_channel;
using test::open;
using test::value_of;
namespace snap = sonde::snapshot;

namespace {

bool has_tally(const snap::v1::Snapshot &s, uint32_t tally) {
    for (const auto &v : s.values())
        if (v.measure_kind() == snap::v1::MEASURE_KIND_TALLY && v.measure_id() == tally)
            return true;
    for (const auto &d : s.distributions())
        if (d.tally() == tally) return true;
    return false;
}

}  // namespace

TEST_CASE("a snapshot carries the windows, exact figures and no identifier", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    Channel c = make_channel(tb, base, kTue24Nov10h, 5, false, 2000, /*interval_minutes=*/60);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().clock_set(base, kTue24Nov10h) == SONDE_OK);  // latches the open windows
    REQUIRE(api().level_declare(base, 1, "6EME") == SONDE_OK);
    REQUIRE(api().gauge_set(base, SONDE_GAUGE_STUDENTS_ENROLLED, 1, 120) == SONDE_OK);
    for (int i = 0; i < 7; ++i) REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 1, 1) == SONDE_OK);
    const std::string secret_user = "G-0310001A-SECRET-USER-KEY";
    REQUIRE(api().connection(w, SONDE_PROFILE_GUARDIAN, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT,
                             secret_user.data(), secret_user.size()) == SONDE_OK);
    for (int s = 0; s < 6; ++s) {  // six students absent: above k = 5
        const std::string key = "E-" + std::to_string(s);
        REQUIRE(api().student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key.data(), key.size(), 1, 2) ==
                SONDE_OK);
    }
    REQUIRE(api().student(w, SONDE_TALLY_LATE_ARRIVAL, "E-0", 3, 1, 2) ==
            SONDE_OK);  // 2 < k: suppressed
    REQUIRE(api().student(w, SONDE_TALLY_SANCTION, "E-1", 3, 1, 9) == SONDE_OK);  // school only
    REQUIRE(api().clock_set(base, kTue24Nov10h + 3600) ==
            SONDE_OK);  // 11:00: due, the 10:00 hour closed
    REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 1, 1) == SONDE_OK);
    REQUIRE(api().clock_set(base, kTue24Nov10h + 3600 + 15 * 60) ==
            SONDE_OK);  // 11:15: not due yet

    sonde::ship::Spool spool(c.spool, tb.id);
    REQUIRE(spool.pending().size() == 1);
    const auto first = open(c, spool.pending()[0].path);
    CHECK(first.sequence() == 1);
    using snap::v1::MEASURE_KIND_EVENT;
    using snap::v1::MEASURE_KIND_TALLY;
    // Minimisation (catalogue views): messages are shown per month and school year, not hour by
    // hour nor day by day, so neither the hour nor the open day carries them.
    CHECK(value_of(first, snap::v1::WINDOW_KIND_HOUR, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, -1,
                   kTue24Nov10h) == 0);
    CHECK(value_of(first, snap::v1::WINDOW_KIND_DAY, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT,
                   1) == 0);
    CHECK(value_of(first, snap::v1::WINDOW_KIND_MONTH, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT,
                   1) == 7);
    CHECK(value_of(first, snap::v1::WINDOW_KIND_HOUR, snap::v1::MEASURE_KIND_CONNECTION, 1, -1,
                   kTue24Nov10h) == 1);

    api().writer_release(w);
    api().base_close(base);  // clean shutdown: one more snapshot
    const auto files = spool.pending();
    REQUIRE(files.size() == 2);
#if !defined(_WIN32)  // Windows: the spool folder's ACL protects its files (docs/windows.md)
    struct stat st {};
    REQUIRE(::stat(files[1].path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
#endif
    const auto s = open(c, files[1].path);
    CHECK(s.base_id() == "0310001A");
    CHECK(s.sequence() == 2);
    CHECK(s.timezone() == "Europe/Paris");
    REQUIRE(s.levels_size() == 1);
    CHECK(s.levels(0).label() == "6EME");
    // The 10:00 hour went in the first snapshot; this one carries the hours after it.
    CHECK(value_of(s, snap::v1::WINDOW_KIND_HOUR, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, -1,
                   kTue24Nov10h) == 0);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_HOUR, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, -1,
                   kTue24Nov10h + 3600) == 0);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_DAY, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, 1) ==
          0);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_MONTH, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, 1) ==
          8);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_SCHOOL_YEAR, MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT,
                   1) == 8);
    // Social counts are released once per closed local day (docs/privacy.md): today's absences
    // are neither in the open day nor in the month or school year, which count up to midnight.
    CHECK(value_of(s, snap::v1::WINDOW_KIND_DAY, MEASURE_KIND_TALLY, SONDE_TALLY_ABSENCE_HALF_DAY,
                   1) == 0);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_MONTH, MEASURE_KIND_TALLY, SONDE_TALLY_ABSENCE_HALF_DAY,
                   1) == 0);
    CHECK(value_of(s, snap::v1::WINDOW_KIND_DAY, snap::v1::MEASURE_KIND_CONNECTION, 1) == 1);

    // Minimisation (views hourly:total, daily:total): the hour and the open day carry all
    // connections as one figure (profile, medium, access 0), never the breakdown.
    for (const auto &v : s.values())
        if (v.measure_kind() == snap::v1::MEASURE_KIND_CONNECTION &&
            (v.window().kind() == snap::v1::WINDOW_KIND_HOUR ||
             v.window().kind() == snap::v1::WINDOW_KIND_DAY)) {
            CHECK(v.profile() == 0);
            CHECK(v.medium() == 0);
            CHECK(v.access() == 0);
        }

    // Distinct users: one guardian on mobile via ENT, today. The open day carries the one
    // figure of Suivi journalier (people connected via PRONOTE.net); the month the breakdown.
    size_t today = 0, in_month = 0;
    for (const auto &d : s.distinct()) {
        if (d.window().kind() == snap::v1::WINDOW_KIND_DAY) {
            ++today;
            CHECK(d.profiles() == sonde::catalog::kDailyDistinctProfiles);
            CHECK(d.media() == sonde::catalog::kDailyDistinctMedia);
            CHECK(d.accesses() == sonde::catalog::kDailyDistinctAccesses);
            CHECK(d.users() == 1);
        }
        if (d.window().kind() == snap::v1::WINDOW_KIND_MONTH &&
            d.profiles() == (1u << (SONDE_PROFILE_GUARDIAN - 1)) &&
            d.media() == (1u << (SONDE_MEDIUM_MOBILE - 1)) &&
            d.accesses() == (1u << (SONDE_ACCESS_ENT - 1))) {
            CHECK(d.users() == 1);
            ++in_month;
        }
    }
    CHECK(today == 1);
    CHECK(in_month == 1);

    // Privacy: no Social count of today leaves the server, school-only indicators are absent
    // and listed once each with count 0, the distributions are rounded to a multiple of k.
    for (const auto &v : s.values()) CHECK(v.measure_kind() != MEASURE_KIND_TALLY);
    CHECK_FALSE(has_tally(s, SONDE_TALLY_SANCTION));
    CHECK(s.policy().k_anonymity() == 5);
    CHECK_FALSE(s.policy().include_school_only());
    CHECK(s.policy().privacy_rule() == 2);
    CHECK(s.suppressed_size() > 0);
    for (const auto &x : s.suppressed()) {
        CHECK(x.reason() == snap::v1::SUPPRESSION_REASON_SCHOOL_ONLY);
        CHECK(x.count() == 0);
    }
    bool absences = false;
    for (const auto &d : s.distributions())
        if (d.tally() == SONDE_TALLY_ABSENCE_HALF_DAY && d.level() == 1) {
            absences = true;
            CHECK(d.rounded());
            for (uint64_t n : d.students()) CHECK(n % 5 == 0);
        }
    CHECK(absences);

    // No identifier: neither the key nor its hash is anywhere in the plaintext.
    const std::string plain = s.SerializeAsString();
    CHECK(plain.find(secret_user) == std::string::npos);
    CHECK(plain.find("E-0") == std::string::npos);
    const uint64_t hashed = sonde::siphash24({1, 2}, secret_user.data(), secret_user.size());
    CHECK(plain.find(std::string(reinterpret_cast<const char *>(&hashed), sizeof hashed)) ==
          std::string::npos);
}

TEST_CASE("school-only indicators travel when the base allows it", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    Channel c = make_channel(tb, base, kTue24Nov10h, 1, /*school_only=*/true);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    REQUIRE(api().clock_set(base, kTue24Nov10h) == SONDE_OK);
    REQUIRE(api().student(w, SONDE_TALLY_SANCTION, "E-1", 3, 1, 1) == SONDE_OK);
    api().writer_release(w);
    api().base_close(base);
    sonde::ship::Spool spool(c.spool, tb.id);
    REQUIRE(spool.pending().size() == 1);
    CHECK(has_tally(open(c, spool.pending()[0].path), SONDE_TALLY_SANCTION));
}

TEST_CASE("sequence numbers survive restarts; a crash before rename ships nothing twice",
          "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h - 60);
        api().base_close(base);  // run 0
    }
    sonde::ship::Spool spool(c.spool, tb.id);
    for (int run = 1; run < 3; ++run) {
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + run * 3600) == SONDE_OK);
        api().base_close(base);
    }
    auto files = spool.pending();
    REQUIRE(files.size() == 3);
    for (size_t i = 0; i < files.size(); ++i) CHECK(files[i].sequence == i + 1);

    // A temporary file left by a crash between write and rename is never shipped and is
    // removed by the next shipper; the sequence it had reserved is not reused.
    std::ofstream(c.spool + "/" + tb.id + "-00000000000000000004-0-0.sonde.tmp") << "partial";
    sonde::ship::SpoolState state;
    REQUIRE(spool.load_state(state, nullptr));
    state.sequence = 4;  // reserved by the crashed writer before it died
    REQUIRE(spool.save_state(state, nullptr));
    sonde_base *base = tb.open();
    REQUIRE(api().clock_set(base, kTue24Nov10h + 4 * 3600) == SONDE_OK);
    api().base_close(base);
    files = spool.pending();
    REQUIRE(files.size() == 4);
    CHECK(files.back().sequence == 5);
    CHECK_FALSE(
        std::filesystem::exists(c.spool + "/" + tb.id + "-00000000000000000004-0-0.sonde.tmp"));
}

namespace {

#if !defined(_WIN32)
// The pid holding a flock on `path`, from /proc/locks (0 if none): observing the election
// without taking part in it.
unsigned long flock_holder(const std::string &path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
        char type[16], kind[16], mode[16], dev_inode[64];
        int pid = 0;
        if (std::sscanf(line.c_str(), "%*[^:]: %15s %15s %15s %d %63s", type, kind, mode, &pid,
                        dev_inode) != 5)
            continue;
        const std::string di = dev_inode;
        const unsigned long inode = std::strtoul(di.substr(di.rfind(':') + 1).c_str(), nullptr, 10);
        if (std::string(type) == "FLOCK" && inode == st.st_ino) return (unsigned long)pid;
    }
    return 0;
}
#endif

// The elected shipper's pid, seen from outside the election: on Linux the holder of the
// spool's lock (/proc/locks); on Windows, which has no list of locks, the pid the shipper
// writes in the spool's status file (<spool>/<UAI>.status, "pid N"; docs/snapshot.md).
unsigned long shipper_pid(const Channel &c, const std::string &base) {
#if defined(_WIN32)
    std::string text;
    if (!sonde::platform::read_file(c.spool + "/" + base + ".status", 4096, text)) return 0;
    const size_t at = text.find("\npid ");
    return at == std::string::npos ? 0 : std::strtoul(text.c_str() + at + 5, nullptr, 10);
#else
    return flock_holder(c.spool + "/" + base + ".lock");
#endif
}

unsigned long own_pid() {
#if defined(_WIN32)
    return GetCurrentProcessId();
#else
    return (unsigned long)::getpid();
#endif
}

}  // namespace

TEST_CASE("another process takes over shipping when the shipper dies", "[abi][snapshot][crash]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h);
        api().base_close(base);  // writes snapshot 1 and resigns
    }
    // A host process on the real clock becomes the shipper.
    test::HostProcess shipper(SONDE_CHILD_PATH, test::child_args(tb, {"hold", "1", "0"}));
    REQUIRE(shipper.started());
    std::string line;
    REQUIRE(shipper.read_line(line));
    REQUIRE(line == "ready");
    REQUIRE(test::eventually([&] { return shipper_pid(c, tb.id) == shipper.pid(); }, 20000));

    sonde_base *base = tb.open();  // this process serves the base too, but does not ship
    REQUIRE(api().clock_set(base, kTue24Nov10h + 3600) == SONDE_OK);
    CHECK(shipper_pid(c, tb.id) == shipper.pid());
    shipper.kill();
    CHECK(shipper.wait() == -1);
    // At its next step (here: the next clock change) this process is elected and ships. (On
    // Windows, the killed process's lock is released a moment after its end: elected at one of
    // the next steps.)
#if defined(_WIN32)
    REQUIRE(test::eventually(
        [&] {
            api().clock_set(base, kTue24Nov10h + 2 * 3600);
            return shipper_pid(c, tb.id) == own_pid();
        },
        20000));
#else
    REQUIRE(api().clock_set(base, kTue24Nov10h + 2 * 3600) == SONDE_OK);
    CHECK(shipper_pid(c, tb.id) == own_pid());
#endif
    REQUIRE(api().clock_set(base, kTue24Nov10h + 3 * 3600) == SONDE_OK);
    CHECK(test::diagnostics(base).snapshots_written >= 2);
    sonde::ship::Spool spool(c.spool, tb.id);
    const auto files = spool.pending();
    REQUIRE(files.size() >= 2);
    // The sequence went on, never reused. The killed shipper may have taken a number for a file
    // it never finished (a snapshot closing the replayed day, since its clock is the real one):
    // at most one gap.
    for (size_t i = 1; i < files.size(); ++i) CHECK(files[i].sequence > files[i - 1].sequence);
    CHECK(files.back().sequence <= files.size() + 1);
    api().base_close(base);
}

TEST_CASE("a full spool merges recent snapshots and loses no figure", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    Channel c = make_channel(tb, base, kTue24Nov10h, 5, false, /*max_files=*/8);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    int64_t recorded = 0;
    for (int step = 1; step <= 40; ++step) {  // 10 hours in 15-minute steps
        // Connections: the only measure the console shows hour by hour (catalogue views).
        for (int i = 0; i < step; ++i)
            REQUIRE(api().connection(w, SONDE_PROFILE_TEACHER, SONDE_MEDIUM_WEB,
                                     SONDE_ACCESS_DIRECT, "T-1", 3) == SONDE_OK);
        recorded += step;
        REQUIRE(api().clock_set(base, kTue24Nov10h + step * 15 * 60) == SONDE_OK);
    }
    sonde::ship::Spool spool(c.spool, tb.id);
    const auto files = spool.pending();
    CHECK(files.size() <= 8);
    CHECK(test::diagnostics(base).spool_merges > 0);
    // The merged-away files took their receipts with them: one receipt per file in the spool,
    // each the one the console computes (checked by open() below).
    size_t receipts = 0;
    for (const auto &e : std::filesystem::directory_iterator(c.spool))
        receipts += e.path().extension() == ".receipt";
    CHECK(receipts == files.size());
    // As the console would: per hour window, the figure of the highest sequence.
    std::map<int64_t, std::pair<uint64_t, int64_t>> hours;
    for (const auto &f : files) {
        const auto s = open(c, f.path);
        for (const auto &v : s.values())
            if (v.window().kind() == snap::v1::WINDOW_KIND_HOUR &&
                v.measure_kind() == snap::v1::MEASURE_KIND_CONNECTION) {
                auto &slot = hours[v.window().start_unix()];
                if (s.sequence() >= slot.first) slot = {s.sequence(), v.value()};
            }
    }
    int64_t total = 0;
    for (const auto &[start, figure] : hours) total += figure.second;
    CHECK(total == recorded);
    api().writer_release(w);
    api().base_close(base);
}

TEST_CASE("spool file names give the first hour carried, an hour boundary", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    sonde_base *base = tb.open();
    const int64_t start = kTue24Nov10h + 23 * 60;  // the server starts at 10:23
    Channel c = make_channel(tb, base, start);
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    for (int64_t t = start; t < kTue24Nov10h + 2 * 3600; t += 7 * 60) {  // 10:23 .. 11:55
        REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 1, 1) == SONDE_OK);
        REQUIRE(api().clock_set(base, t) == SONDE_OK);
    }
    api().writer_release(w);
    api().base_close(base);
    sonde::ship::Spool spool(c.spool, tb.id);
    const auto files = spool.pending();
    REQUIRE(files.size() >= 6);
    for (const auto &f : files) {
        INFO(f.path);
        CHECK(f.first_hour % 3600 == 0);  // Paris is a whole number of hours from UTC
        const auto s = open(c, f.path);
        int64_t first = INT64_MAX;
        for (const auto &v : s.values())
            if (v.window().kind() == snap::v1::WINDOW_KIND_HOUR)
                first = std::min<int64_t>(first, v.window().start_unix());
        if (first != INT64_MAX) CHECK(f.first_hour == first);
    }
    CHECK(files.front().first_hour == kTue24Nov10h);  // not 09:23
}

TEST_CASE("a gauge is never carried by a snapshot made before it was set", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h);
        api().base_close(base);  // no base open in this process before forking
    }
    // The shipper: another process whose clock says 10:05.
    // (tests/abi/child.cc "ship": elected at 10:05, then, told to go on, closes the base: a
    // snapshot made at 10:05.)
    test::HostProcess shipper(
        SONDE_CHILD_PATH,
        test::child_args(tb, {"ship", std::to_string(kTue24Nov10h + 5 * 60), "0"}));
    REQUIRE(shipper.started());
    std::string line;
    REQUIRE(shipper.read_line(line));
    REQUIRE(line == "ready");
    {
        // A process whose clock runs an hour ahead of the shipper's sets the gauge (in a
        // replay; in real time, between the shipper's reading of the clock and of the segment).
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + 3600) == SONDE_OK);  // not the shipper
        REQUIRE(api().gauge_set(base, SONDE_GAUGE_ROOM_OCCUPANCY_BP, 0, 6100) == SONDE_OK);
        REQUIRE(shipper.send_line("go"));
        CHECK(shipper.wait() == 0);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 2 * 3600) == SONDE_OK);  // elected now
        api().base_close(base);  // a snapshot made at 12:00
    }
    sonde::ship::Spool spool(c.spool, tb.id);
    const auto files = spool.pending();
    REQUIRE(files.size() >= 2);
    int carried = 0;
    for (const auto &f : files) {
        const auto s = open(c, f.path);
        for (const auto &g : s.gauges()) {
            CHECK(g.set_unix() <= s.created_unix());
            if (g.gauge() == SONDE_GAUGE_ROOM_OCCUPANCY_BP) {
                CHECK(g.value() == 6100);
                CHECK(g.set_unix() == kTue24Nov10h + 3600);
                ++carried;
            }
        }
    }
    CHECK(carried == 1);  // only by the 12:00 snapshot
}

TEST_CASE("a final snapshot that repeats the last one is not written", "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    sonde::ship::Spool spool(tb.dir + "/spool", tb.id);
    Channel c;
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h + 5 * 60);
        sonde_writer *w = nullptr;
        REQUIRE(api().writer_get(base, &w) == SONDE_OK);
        REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 1, 3) == SONDE_OK);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 15 * 60) == SONDE_OK);  // due: snapshot 1
        REQUIRE(spool.pending().size() == 1);
        api().writer_release(w);
        api().base_close(base);  // nothing changed since 10:15, at 10:15: no second file
        CHECK(spool.pending().size() == 1);
    }
    // The other processes of the base close one after the other, each becoming the shipper
    // when the previous one resigns: with nothing new, none of them writes a file.
    for (int process = 0; process < 2; ++process) {
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + 15 * 60) == SONDE_OK);
        api().base_close(base);
    }
    CHECK(spool.pending().size() == 1);
    // Something new, or a later hour, is written.
    {
        sonde_base *base = tb.open();
        sonde_writer *w = nullptr;
        REQUIRE(api().writer_get(base, &w) == SONDE_OK);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 15 * 60) == SONDE_OK);
        REQUIRE(api().count(w, SONDE_EV_MESSAGE_SENT, 1, 1) == SONDE_OK);
        api().writer_release(w);
        api().base_close(base);
    }
    REQUIRE(spool.pending().size() == 2);
    {
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + 3600) == SONDE_OK);
        api().base_close(base);
    }
    const auto files = spool.pending();
    REQUIRE(files.size() == 3);
    for (size_t i = 0; i < files.size(); ++i) CHECK(files[i].sequence == i + 1);  // no gap
    CHECK(value_of(open(c, files[1].path), snap::v1::WINDOW_KIND_MONTH,
                   snap::v1::MEASURE_KIND_EVENT, SONDE_EV_MESSAGE_SENT, 1) == 4);
}

TEST_CASE("snapshots say which hours they complete, across a restart and a new segment",
          "[abi][snapshot]") {
    test::TempBase tb;
    tb.enable();
    Channel c;
    int64_t recorded = 0;
    auto connect = [&](sonde_base *base, int n) {
        sonde_writer *w = nullptr;
        REQUIRE(api().writer_get(base, &w) == SONDE_OK);
        for (int i = 0; i < n; ++i)
            REQUIRE(api().connection(w, SONDE_PROFILE_TEACHER, SONDE_MEDIUM_WEB,
                                     SONDE_ACCESS_DIRECT, "T-1", 3) == SONDE_OK);
        recorded += n;
        api().writer_release(w);
    };
    {
        sonde_base *base = tb.open();
        c = make_channel(tb, base, kTue24Nov10h + 5 * 60);
        for (int step = 1; step <= 10; ++step) {  // 10:15 .. 12:30, a snapshot each quarter
            connect(base, step);
            REQUIRE(api().clock_set(base, kTue24Nov10h + step * 15 * 60) == SONDE_OK);
        }
        api().base_close(base);  // final snapshot at 12:30
    }
    {
        // Every process stopped; one starts again the next day at 13:10 (the hours in between
        // have no latch and no count), counts, and stops.
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + 27 * 3600 + 10 * 60) == SONDE_OK);
        connect(base, 4);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 28 * 3600 + 20 * 60) == SONDE_OK);
        api().base_close(base);
    }
    sonde::ship::Spool spool(c.spool, tb.id);
    auto files = spool.pending();
    REQUIRE(files.size() >= 10);
    int64_t reached = 0;
    uint64_t generation = 0;
    std::map<int64_t, std::pair<uint64_t, int64_t>> hours;  // as the console: highest sequence
    for (size_t i = 0; i < files.size(); ++i) {
        const auto s = open(c, files[i].path);
        INFO("file " << i << " sequence " << s.sequence());
        REQUIRE(s.has_coverage());
        const auto &cov = s.coverage();
        CHECK(cov.hours_from() <= cov.hours_to());
        if (i == 0) {
            CHECK(cov.restart());  // the segment's first snapshot
            CHECK(cov.hours_from() <= kTue24Nov10h);
            generation = s.segment_generation();
        } else {
            CHECK_FALSE(cov.restart());
            // No gap: each starts where the one before stopped (or earlier, while the first
            // hour of the segment is still open: hours before it had no latch and no count).
            CHECK(cov.hours_from() <= reached);
            CHECK(cov.hours_to() >= reached);
            if (reached > kTue24Nov10h) CHECK(cov.hours_from() == reached);
            CHECK(s.segment_generation() == generation);
        }
        reached = std::max(reached, cov.hours_to());
        for (const auto &v : s.values())
            if (v.window().kind() == snap::v1::WINDOW_KIND_HOUR) {
                CHECK(v.window().start_unix() >= cov.hours_from());
                CHECK(v.window().start_unix() <= cov.hours_to());  // the open hour at most
                auto &slot = hours[v.window().start_unix()];
                if (s.sequence() >= slot.first) slot = {s.sequence(), v.value()};
            }
    }
    // The hours up to the last one open are complete, and hold every connection made before it.
    CHECK(reached == kTue24Nov10h + 28 * 3600);
    int64_t total = 0;
    for (const auto &[start, figure] : hours) total += figure.second;
    CHECK(total == recorded);

    // A new segment (the old one gone while no process ran) restarts the coverage.
#if defined(_WIN32)
    // (Windows keeps a deleted file's name while a view of it exists, and this process's view
    // of the closed base stays for a grace period: the file is renamed aside.)
    std::filesystem::rename(tb.segment_path(), tb.segment_path() + ".deleted");
#else
    REQUIRE(::unlink(tb.segment_path().c_str()) == 0);
#endif
    {
        sonde_base *base = tb.open();
        REQUIRE(api().clock_set(base, kTue24Nov10h + 30 * 3600) == SONDE_OK);
        connect(base, 1);
        REQUIRE(api().clock_set(base, kTue24Nov10h + 31 * 3600) == SONDE_OK);
        api().base_close(base);
    }
    const auto after = spool.pending();
    REQUIRE(after.size() > files.size());
    for (size_t i = files.size(); i < after.size(); ++i) {
        const auto s = open(c, after[i].path);
        CHECK(s.segment_generation() != generation);
        CHECK(s.coverage().restart() == (i == files.size()));  // its first file only
    }
}
