// The inbox's journal (console/journal.hpp, docs/delivery.md#the-journal): records appended and
// read back, group commit, replay at start, a torn tail cut off, rotation, retirement, and the
// inbox on top of it (stored, duplicate, conflict, archive).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "files.hpp"
#include "inbox.hpp"
#include "journal.hpp"
#include "service.hpp"

namespace {

namespace fs = std::filesystem;
using console_test::Dir;
using sonde::console::Inbox;
using sonde::console::Journal;
using sonde::console::JournalRecord;

std::vector<uint8_t> bytes_of(uint64_t seed, size_t size) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> out(size);
    for (uint8_t &b : out) b = uint8_t(rng());
    return out;
}

std::string base_of(int i) {
    char b[9];
    std::snprintf(b, sizeof b, "%07d%c", 310000 + i % 1000, 'A' + i % 26);
    return b;
}

const auto kNowhere = [] { return false; };

std::vector<fs::path> segments(const std::string &dir) {
    std::vector<fs::path> out;
    for (const auto &e : fs::directory_iterator(dir))
        if (e.path().extension() == ".journal") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Appends and syncs one record; the record.
JournalRecord add(Journal &j, const std::string &base, uint64_t seq,
                  const std::vector<uint8_t> &bytes) {
    std::string error;
    int err = 0;
    const Journal::Put p =
        j.append(base, seq, 1'700'000'000 + int64_t(seq), bytes, kNowhere, &error, &err);
    INFO(error);
    REQUIRE(p.kind == Journal::Put::Appended);
    REQUIRE(j.sync(p.ticket, &error));
    return p.record;
}

}  // namespace

TEST_CASE("journal: concurrent appends share their fdatasyncs and read back byte for byte") {
    Dir dir;
    Journal j(dir.path + "/journal", 64 << 20, 1 << 20);
    std::vector<JournalRecord> replay;
    std::string error;
    REQUIRE(j.open(replay, &error));
    CHECK(replay.empty());
    constexpr int kThreads = 16, kEach = 40;
    std::vector<std::vector<JournalRecord>> records(kThreads);
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                std::string why;
                int err = 0;
                const auto bytes = bytes_of(uint64_t(t * 1000 + i), 100 + size_t(i) * 37);
                const Journal::Put p =
                    j.append(base_of(t), uint64_t(i + 1), 5, bytes, kNowhere, &why, &err);
                if (p.kind != Journal::Put::Appended || !j.sync(p.ticket, &why)) {
                    ++failed;
                    continue;
                }
                records[size_t(t)].push_back(p.record);
            }
        });
    for (auto &t : threads) t.join();
    REQUIRE(failed == 0);
    const Journal::Stats s = j.stats();
    CHECK(s.appended == kThreads * kEach);
    CHECK(s.records == kThreads * kEach);
    CHECK(s.syncs >= 1);
    CHECK(s.syncs <= uint64_t(kThreads * kEach));
    WARN(kThreads * kEach << " appends took " << s.syncs << " fdatasyncs");
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kEach; ++i) {
            const JournalRecord &r = records[size_t(t)][size_t(i)];
            CHECK(r.base == base_of(t));
            CHECK(r.sequence == uint64_t(i + 1));
            std::vector<uint8_t> back;
            REQUIRE(j.read(r, back, &error));
            CHECK(back == bytes_of(uint64_t(t * 1000 + i), 100 + size_t(i) * 37));
        }
    // A key held already is not appended twice; a key the caller holds elsewhere neither.
    int err = 0;
    const Journal::Put again = j.append(base_of(3), 7, 5, bytes_of(1, 10), kNowhere, &error, &err);
    CHECK(again.kind == Journal::Put::Journaled);
    CHECK(again.record.offset == records[3][6].offset);
    CHECK(j.append(
               base_of(3), 1000, 5, bytes_of(1, 10), [] { return true; }, &error, &err)
              .kind == Journal::Put::Elsewhere);
    CHECK(j.stats().appended == kThreads * kEach);
    // Refused: an empty record, one over the bound, a bad UAI.
    CHECK(j.append(base_of(1), 99, 5, {}, kNowhere, &error, &err).kind == Journal::Put::Failed);
    CHECK(j.append(base_of(1), 99, 5, bytes_of(1, (1 << 20) + 1), kNowhere, &error, &err).kind ==
          Journal::Put::Failed);
    CHECK(j.append("0310001a", 99, 5, bytes_of(1, 10), kNowhere, &error, &err).kind ==
          Journal::Put::Failed);
}

TEST_CASE("journal: replayed at start in order, one process at a time") {
    Dir dir;
    const std::string jd = dir.path + "/journal";
    std::string error;
    {
        Journal j(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> replay;
        REQUIRE(j.open(replay, &error));
        for (uint64_t q = 1; q <= 5; ++q) add(j, "0310001A", q, bytes_of(q, 500 + q));
        // A second process cannot open the same journal.
        Journal other(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> none;
        CHECK_FALSE(other.open(none, &error));
        CHECK(error.find("in use") != std::string::npos);
    }
    Journal j(jd, 64 << 20, 1 << 20);
    std::vector<JournalRecord> replay;
    REQUIRE(j.open(replay, &error));
    REQUIRE(replay.size() == 5);
    for (uint64_t q = 1; q <= 5; ++q) {
        const JournalRecord &r = replay[q - 1];
        CHECK(r.base == "0310001A");
        CHECK(r.sequence == q);
        CHECK(r.received_unix == 1'700'000'000 + int64_t(q));
        std::vector<uint8_t> back;
        REQUIRE(j.read(r, back, &error));
        CHECK(back == bytes_of(q, 500 + q));
    }
    // Replayed records are held: an upload of one is not appended again.
    int err = 0;
    CHECK(j.append("0310001A", 3, 5, bytes_of(3, 503), kNowhere, &error, &err).kind ==
          Journal::Put::Journaled);
    // New records go to a new segment.
    add(j, "0310001A", 6, bytes_of(6, 10));
    CHECK(segments(jd).size() == 2);
}

TEST_CASE("journal: a torn tail is cut off at start, the records before it kept") {
    Dir dir;
    const std::string jd = dir.path + "/journal";
    std::string error;
    uint64_t end_of_two = 0;
    {
        Journal j(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> replay;
        REQUIRE(j.open(replay, &error));
        add(j, "0310001A", 1, bytes_of(1, 300));
        const JournalRecord two = add(j, "0310001A", 2, bytes_of(2, 300));
        end_of_two = two.offset + two.length;
        add(j, "0310001A", 3, bytes_of(3, 300));
    }
    const fs::path seg = segments(jd).at(0);
    const auto reopen = [&] {
        Journal j(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> replay;
        REQUIRE(j.open(replay, &error));
        return replay.size();
    };
    SECTION("the last record cut short (a crash in its write)") {
        fs::resize_file(seg, fs::file_size(seg) - 10);
    }
    SECTION("its payload damaged (checksum)") {
        std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(std::streamoff(end_of_two + Journal::kHeader + 100));
        f.put('\x5a' ^ char(bytes_of(3, 300)[100]));
    }
    SECTION("only part of its header") { fs::resize_file(seg, end_of_two + 12); }
    SECTION("zeros after the last record (a file system's preallocation)") {
        fs::resize_file(seg, end_of_two);
        fs::resize_file(seg, end_of_two + 4096);
    }
    CHECK(reopen() == 2);
    CHECK(fs::file_size(seg) == end_of_two);
    CHECK(reopen() == 2);  // cut once, durably: nothing more to cut
}

TEST_CASE("journal: killed right after an append, before its sync: nothing torn, nothing lost") {
    Dir dir;
    const std::string jd = dir.path + "/journal";
    std::string error;
    {
        Journal j(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> replay;
        REQUIRE(j.open(replay, &error));
        add(j, "0310001A", 1, bytes_of(1, 3000));
    }
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        Journal j(jd, 64 << 20, 1 << 20);
        std::vector<JournalRecord> replay;
        std::string why;
        int err = 0;
        if (!j.open(replay, &why)) ::_exit(3);
        const Journal::Put p = j.append("0310001A", 2, 5, bytes_of(2, 3000), kNowhere, &why, &err);
        if (p.kind != Journal::Put::Appended) ::_exit(4);
        ::raise(SIGKILL);  // before sync(): never acknowledged
        ::_exit(5);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    // The lock died with the process; the record it wrote is in the page cache: replayed (and
    // made durable by open()), as an upload the client will send again and get `duplicate`.
    Journal j(jd, 64 << 20, 1 << 20);
    std::vector<JournalRecord> replay;
    REQUIRE(j.open(replay, &error));
    REQUIRE(replay.size() == 2);
    std::vector<uint8_t> back;
    REQUIRE(j.read(replay[1], back, &error));
    CHECK(back == bytes_of(2, 3000));
}

TEST_CASE("journal: segments rotate at their size and are retired once applied") {
    Dir dir;
    const std::string jd = dir.path + "/journal";
    std::string error;
    Journal j(jd, 10'000, 1 << 20);  // about 3 records of 3,000 bytes a segment
    std::vector<JournalRecord> replay;
    REQUIRE(j.open(replay, &error));
    std::vector<JournalRecord> records;
    for (uint64_t q = 1; q <= 10; ++q) records.push_back(add(j, "0310001A", q, bytes_of(q, 3000)));
    const size_t made = segments(jd).size();
    CHECK(made == 4);  // 3 + 3 + 3 + 1
    for (const fs::path &p : segments(jd)) CHECK(fs::file_size(p) <= 10'000);
    int durable_calls = 0;
    const auto durable = [&](std::string *) {
        ++durable_calls;
        return true;
    };
    // Nothing applied: nothing retired.
    CHECK(j.retire(0, durable, &error) == 0);
    CHECK(durable_calls == 0);
    // The first segment's records and one of the second's applied: the first goes.
    for (size_t i = 0; i < 4; ++i) j.applied(records[i]);
    // A failure to make the archive durable retires nothing.
    CHECK(j.retire(
              -1,
              [](std::string *why) {
                  *why = "no";
                  return false;
              },
              &error) == -1);
    CHECK(segments(jd).size() == made);
    CHECK(j.retire(-1, durable, &error) == 1);
    CHECK(durable_calls == 1);
    CHECK(segments(jd).size() == made - 1);
    // Its records are forgotten (their archive holds them now); the others are held.
    int err = 0;
    CHECK(j.append(
               "0310001A", 2, 5, bytes_of(2, 3000), [] { return true; }, &error, &err)
              .kind == Journal::Put::Elsewhere);
    CHECK(j.append(
               "0310001A", 5, 5, bytes_of(5, 3000), [] { return true; }, &error, &err)
              .kind == Journal::Put::Journaled);
    // Everything applied: the sealed ones go; the segment in use only when idle is asked for.
    for (size_t i = 4; i < 10; ++i) j.applied(records[i]);
    CHECK(j.retire(-1, durable, &error) == 2);
    CHECK(segments(jd).size() == 1);
    CHECK(j.retire(0, durable, &error) == 1);
    CHECK(segments(jd).empty());
    CHECK(j.stats().records == 0);
    CHECK(j.stats().bytes == 0);
    CHECK(j.stats().retired == 4);
    // And appending goes on in a new segment.
    add(j, "0310001A", 11, bytes_of(11, 3000));
    CHECK(segments(jd).size() == 1);
}

TEST_CASE("inbox on the journal: stored, duplicate, conflict, archived, retired") {
    Dir dir;
    std::string error;
    int err = 0;
    const auto a = bytes_of(1, 4000), b = bytes_of(2, 4000);
    {
        Inbox inbox(dir.path, 1 << 20, 1 << 20);
        REQUIRE(inbox.init(&error));
        sonde::console::FileRef ref;
        REQUIRE(inbox.put("0310001A", 42, a, &error, &err, &ref) == Inbox::Put::Stored);
        CHECK(ref.segment != 0);
        CHECK_FALSE(fs::exists(inbox.inbox_path("0310001A", 42)));  // archived by the ingestor
        CHECK(inbox.put("0310001A", 42, a, &error, &err) == Inbox::Put::Duplicate);
        CHECK(inbox.put("0310001A", 42, b, &error, &err) == Inbox::Put::Conflict);
        std::vector<uint8_t> back;
        REQUIRE(inbox.read(ref, back, 1 << 20, &error));
        CHECK(back == a);
        // Not applied: nothing retired, even idle.
        CHECK(inbox.retire(0, &error) == 0);
    }
    // A restart hands the record back; archived and applied, its segment is retired.
    Inbox inbox(dir.path, 1 << 20, 1 << 20);
    REQUIRE(inbox.init(&error));
    const std::vector<sonde::console::FileRef> again = inbox.journaled();
    REQUIRE(again.size() == 1);
    CHECK(again[0].base == "0310001A");
    CHECK(again[0].sequence == 42);
    std::vector<uint8_t> back;
    REQUIRE(inbox.read(again[0], back, 1 << 20, &error));
    REQUIRE(back == a);
    REQUIRE(inbox.archive(again[0], back, &error));
    std::vector<uint8_t> archived;
    REQUIRE(sonde::console::read_file(inbox.inbox_path("0310001A", 42), archived, 1 << 20));
    CHECK(archived == a);
    REQUIRE(inbox.done(again, &error));
    CHECK(inbox.retire(0, &error) == 1);
    CHECK(segments(dir.path + "/journal").empty());
    // Now held by its archive only: still a duplicate, and another file under it a conflict.
    CHECK(inbox.put("0310001A", 42, a, &error, &err) == Inbox::Put::Duplicate);
    CHECK(inbox.put("0310001A", 42, b, &error, &err) == Inbox::Put::Conflict);
    CHECK(inbox.journal_stats().appended == 0);
    CHECK(inbox.all().size() == 1);
    CHECK(inbox.all()[0].received_unix == again[0].received_unix);
}
