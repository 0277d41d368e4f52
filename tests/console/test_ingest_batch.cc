// The ingestor's batches (console/batch_queue.hpp): which files go together, and the figures of
// a batch reduced to one row per key, checked against applying the files one by one. And the
// group commit of the pending directory (console/files.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "batch_queue.hpp"
#include "config.hpp"
#include "figures.hpp"
#include "files.hpp"
#include "fixtures.hpp"
#include "inbox.hpp"
#include "ingestor.hpp"
#include "service.hpp"
#include "store.hpp"

namespace {

using namespace console_test;
using sonde::console::BatchQueue;
using sonde::console::FigureRow;
using sonde::console::FileRef;

std::vector<std::string> names(const std::vector<FileRef> &refs) {
    std::vector<std::string> out;
    for (const FileRef &r : refs) out.push_back(r.base.substr(7) + std::to_string(r.sequence));
    return out;
}

FileRef file(char school, uint64_t sequence, int64_t received) {
    return {std::string("031000") + "0" + school, sequence, received};
}

}  // namespace

TEST_CASE("a batch: the oldest file with its base's others, then the next oldest base's") {
    BatchQueue q;
    // Arrival: A1 B1 A2 C1 B2 A3 D1
    CHECK(q.push(file('A', 1, 100)));
    CHECK(q.push(file('B', 1, 101)));
    CHECK(q.push(file('A', 2, 102)));
    CHECK(q.push(file('C', 1, 103)));
    CHECK(q.push(file('B', 2, 104)));
    CHECK(q.push(file('A', 3, 105)));
    CHECK(q.push(file('D', 1, 106)));
    CHECK_FALSE(q.push(file('B', 1, 107)));  // already queued
    CHECK(q.size() == 7);
    CHECK(q.oldest_received() == 100);

    const auto first = q.pick(4);
    CHECK(names(first) == std::vector<std::string>{"A1", "A2", "A3", "B1"});
    CHECK(q.size() == 7);  // picked files stay queued until done
    q.done(first);
    CHECK(q.size() == 3);
    CHECK(q.oldest_received() == 103);  // C1

    CHECK(names(q.pick(10)) == std::vector<std::string>{"C1", "B2", "D1"});
    CHECK(names(q.pick(1)) == std::vector<std::string>{"C1"});
    q.done(q.pick(10));
    CHECK(q.empty());
    CHECK(q.oldest_received() == 0);
    CHECK(q.pick(5).empty());
    CHECK(q.push(file('A', 1, 200)));  // applied files may come again (reingest, duplicates)
    CHECK(q.size() == 1);
}

TEST_CASE("batches over a random queue: every file once, the oldest always in the next batch") {
    std::mt19937_64 rng(20261202);
    BatchQueue q;
    std::deque<FileRef> reference;  // arrival order of the live files
    std::set<std::pair<std::string, uint64_t>> applied;
    uint64_t next_sequence[26] = {};
    size_t pushed = 0;
    for (int round = 0; round < 3000; ++round) {
        for (int i = int(rng() % 8); i > 0; --i) {
            const char school = char('A' + rng() % 26);
            const FileRef f = file(school, ++next_sequence[school - 'A'], 1000 + round);
            REQUIRE(q.push(f));
            reference.push_back(f);
            ++pushed;
        }
        if (rng() % 3 == 0 || reference.empty()) continue;
        const size_t limit = 1 + rng() % 20;
        const auto batch = q.pick(limit);
        REQUIRE(!batch.empty());
        REQUIRE(batch.size() <= limit);
        CHECK(batch.front() == reference.front());  // the oldest file is never left behind
        CHECK(q.oldest_received() == reference.front().received_unix);
        // Grouped by base, each base's files in arrival order.
        std::set<std::string> closed;
        for (size_t i = 0; i < batch.size(); ++i) {
            if (i && batch[i].base != batch[i - 1].base) closed.insert(batch[i - 1].base);
            REQUIRE_FALSE(closed.count(batch[i].base));
            if (i && batch[i].base == batch[i - 1].base)
                CHECK(batch[i].sequence > batch[i - 1].sequence);
        }
        for (const FileRef &f : batch) REQUIRE(applied.insert({f.base, f.sequence}).second);
        q.done(batch);
        std::erase_if(reference, [&](const FileRef &f) {
            return applied.count({f.base, f.sequence}) > 0;
        });
        REQUIRE(q.size() == reference.size());
    }
    while (!q.empty()) q.done(q.pick(7));
    CHECK(applied.size() + reference.size() == pushed);
}

TEST_CASE("one row per key, the highest sequence's, as upserting file after file leaves it") {
    std::mt19937_64 rng(7);
    // Up to 400 rows over 60 keys in 5 files of 2 bases; the files in a random order.
    std::vector<std::vector<FigureRow>> files(5);
    for (size_t f = 0; f < files.size(); ++f) {
        std::set<std::tuple<std::string, uint32_t, uint32_t, int64_t, uint32_t>> in_file;
        for (int i = 0; i < 80; ++i) {
            FigureRow r;
            r.base = rng() % 2 ? "0310001A" : "0310002B";
            r.generation = 1;
            r.family = uint32_t(1 + rng() % 3);
            r.window_kind = uint32_t(rng() % 2);
            r.window_start = int64_t(1767225600 + 86400 * (rng() % 5));
            r.dims = {uint32_t(rng() % 2), 0, 0, 0, 0, 0};
            r.window_number = 7;
            r.value = int64_t(rng() % 1000);
            r.set_unix = 1767225600;
            r.sequence = 10 + f;  // each file its own sequence, and a key once in a file
            if (in_file.emplace(r.base, r.family, r.window_kind, r.window_start, r.dims[0]).second)
                files[f].push_back(r);
        }
    }
    std::shuffle(files.begin(), files.end(), rng);

    std::vector<FigureRow> batch;
    std::map<std::tuple<std::string, uint32_t, uint32_t, int64_t, uint32_t>, FigureRow> expected;
    for (const auto &f : files)
        for (const FigureRow &r : f) {
            batch.push_back(r);
            const auto key =
                std::make_tuple(r.base, r.family, r.window_kind, r.window_start, r.dims[0]);
            auto [it, inserted] = expected.emplace(key, r);
            if (!inserted && r.sequence > it->second.sequence) it->second = r;
        }
    // A row differing only by its generation is another key.
    FigureRow other_generation = batch.front();
    other_generation.generation = 2;
    other_generation.sequence = 1;
    std::vector<FigureRow> with_generation = batch;
    with_generation.push_back(other_generation);
    sonde::console::keep_newest_per_key(with_generation);
    CHECK(with_generation.size() == expected.size() + 1);

    sonde::console::keep_newest_per_key(batch);
    REQUIRE(batch.size() == expected.size());
    for (const FigureRow &r : batch) {
        const FigureRow &e = expected.at(
            std::make_tuple(r.base, r.family, r.window_kind, r.window_start, r.dims[0]));
        CHECK(r.sequence == e.sequence);
        CHECK(r.value == e.value);
    }

    // The store after the reduced batch equals the store after each file applied alone.
    Dir dir;
    std::string error;
    auto one_by_one = sonde::console::open_sqlite_store(dir.path + "/a.sqlite", &error);
    auto reduced = sonde::console::open_sqlite_store(dir.path + "/b.sqlite", &error);
    REQUIRE(one_by_one);
    REQUIRE(reduced);
    for (const auto &f : files) REQUIRE(one_by_one->apply({}, f, &error));
    REQUIRE(reduced->apply({}, batch, &error));
    one_by_one.reset();
    reduced.reset();
    FigureDb a(StoreRef{dir.path + "/a.sqlite", ""});
    FigureDb b(StoreRef{dir.path + "/b.sqlite", ""});
    const Figures fa = a.figures();
    CHECK(fa.size() == expected.size());
    CHECK(fa == b.figures());
}

// Not a test: the cost of parsing a realistic snapshot (1,148 figures) on the heap and on the
// arena the handler and the ingestor use, alternating, in one run (docs/delivery.md).
TEST_CASE("parse cost: heap and arena", "[.bench]") {
    const std::string bytes =
        fixtures::to_proto(fixtures::realistic_snapshot()).SerializeAsString();
    const auto time = [&](bool arena_parse) {
        const auto t0 = std::chrono::steady_clock::now();
        constexpr int kRuns = 2000;
        for (int i = 0; i < kRuns; ++i) {
            if (arena_parse) {
                google::protobuf::Arena arena(sonde::console::parse_arena_options());
                auto *s =
                    google::protobuf::Arena::CreateMessage<sonde::snapshot::v1::Snapshot>(&arena);
                REQUIRE(s->ParseFromString(bytes));
            } else {
                sonde::snapshot::v1::Snapshot s;
                REQUIRE(s.ParseFromString(bytes));
            }
        }
        return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                   .count() /
               kRuns;
    };
    for (int round = 0; round < 3; ++round) {
        const double heap = time(false), arena = time(true);
        WARN("parse + free of " << bytes.size() << " bytes: heap " << heap << " us, arena " << arena
                                << " us");
    }
}

TEST_CASE("ingest_nice: the ingest thread alone runs at that nice value") {
    sonde::console::Config c;
    std::string error;
    CHECK(sonde::console::parse_config("data_dir = /x\nconsole_key = /k\ningest_nice = 0\n", c,
                                       &error));
    CHECK(c.ingest_nice == 0);
    CHECK_FALSE(sonde::console::parse_config("data_dir = /x\nconsole_key = /k\ningest_nice = 20\n",
                                             c, &error));
    CHECK_FALSE(sonde::console::parse_config("data_dir = /x\nconsole_key = /k\ningest_nice = -1\n",
                                             c, &error));

    Setup setup;
    Service service(setup, "ingest_nice = 7\n");
    // Field 19 of /proc/PID/task/TID/stat is the thread's nice value. The ingest thread sets
    // it when it starts, just after the port file is written: wait for it.
    auto nices = [&] {
        std::multiset<long> out;
        for (const auto &t : std::filesystem::directory_iterator(
                 "/proc/" + std::to_string(service.pid()) + "/task")) {
            std::ifstream in(t.path() / "stat");
            std::string text((std::istreambuf_iterator<char>(in)), {});
            std::istringstream fields(text.substr(text.rfind(')') + 2));
            std::string f;
            for (int i = 3; i <= 19 && fields >> f; ++i) {
            }
            out.insert(std::stol(f));
        }
        return out;
    };
    std::multiset<long> seen;
    for (int i = 0; i < 100 && !(seen = nices()).count(7); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(seen.count(7) == 1);                // the ingest thread
    CHECK(seen.count(0) == seen.size() - 1);  // every other thread: the request threads, main
}

TEST_CASE("a pending file of an older version that lost its inbox link gets it back at start") {
    Dir dir;
    const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5};
    std::string error;
    int err = 0;
    {
        sonde::console::Inbox inbox(dir.path);
        REQUIRE(inbox.init(&error));
    }
    {
        // What an older version left: a pending link whose inbox link a power cut lost.
        std::ofstream out(dir.path + "/pending/0310001A.42.sonde", std::ios::binary);
        out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    }
    sonde::console::Inbox inbox(dir.path);
    REQUIRE(inbox.init(&error));
    std::vector<uint8_t> held;
    REQUIRE(sonde::console::read_file(inbox.inbox_path("0310001A", 42), held, 100));
    CHECK(held == bytes);
    REQUIRE(inbox.pending().size() == 1);
    CHECK(inbox.all().size() == 1);
    CHECK(inbox.settle(inbox.pending(), &error));
    // Uploading it again is a duplicate, not a second file; nothing goes to the journal.
    CHECK(inbox.put("0310001A", 42, bytes, &error, &err) == sonde::console::Inbox::Put::Duplicate);
    CHECK(inbox.journal_stats().appended == 0);
    // Applied: done() removes the pending link.
    CHECK(inbox.done(inbox.pending(), &error));
    CHECK(inbox.pending().empty());
    // settle() reports a base directory it cannot sync.
    CHECK_FALSE(inbox.settle({{"0310009Z", 1, 0}}, &error));
    CHECK(error.find("0310009Z") != std::string::npos);
}
