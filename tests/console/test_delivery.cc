// The whole delivery path on loopback (docs/delivery.md#tests-of-the-whole-path): the spool a
// shim week wrote through the real libsonde.so (ctest fixture delivery_shim_week, which checked
// the decrypted snapshots against the shim's oracle) is uploaded by the uplink's engine over
// HTTPS to the real sonde-console; once ingested, the console's database must hold, figure by
// figure, what IngestStore makes of the same files, and the spool must be empty. Then the same
// spool through a console outage (on the engine's injected clock), and through kills: the
// uplink SIGKILLed during an upload, the console SIGKILLed while ingesting.
//
// The spool comes from SONDE_DELIVERY_SNAPSHOTS (the shim's --snapshots directory: keys/ and
// spool/); each test copies it, since an upload deletes what it delivered.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "figures.hpp"
#include "service.hpp"
#include "snapshot/console.hpp"
#include "snapshot/ingest.hpp"
#include "snapshot/keys.hpp"
#include "uplink.hpp"

namespace {

using namespace console_test;
namespace fs = std::filesystem;
namespace snap = sonde::snapshot;
namespace up = sonde::uplink;

std::string snapshots_dir() {
    const char *d = std::getenv("SONDE_DELIVERY_SNAPSHOTS");
    REQUIRE(d != nullptr);
    REQUIRE(fs::is_directory(std::string(d) + "/spool"));
    return d;
}

std::vector<uint8_t> read_bytes(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The shim's spool: its .sonde files (sorted by name: base, then sequence) and their bases.
struct Spool {
    std::vector<fs::path> files;
    std::set<std::string> bases;
};

Spool copy_spool(const std::string &from, const std::string &to) {
    fs::create_directories(to);
    Spool s;
    for (const auto &e : fs::directory_iterator(from + "/spool")) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file()) continue;
        if (name.ends_with(".sonde") || name.ends_with(".receipt"))
            fs::copy_file(e.path(), fs::path(to) / name);
        if (name.ends_with(".sonde")) {
            s.files.push_back(fs::path(to) / name);
            s.bases.insert(name.substr(0, 8));
        }
    }
    std::sort(s.files.begin(), s.files.end());
    return s;
}

size_t count_spool(const std::string &dir) {
    size_t n = 0;
    for (const auto &e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        n += name.ends_with(".sonde") || name.ends_with(".receipt");
    }
    return n;
}

// The reference: the library's own ingestion (IngestStore) of the same files.
Figures reference(const std::string &snapshots, const std::vector<std::vector<uint8_t>> &files,
                  const std::set<std::string> &bases) {
    snap::OpenParams p;
    std::string error;
    INFO(error);
    REQUIRE(snap::load_key_pair(snapshots + "/keys/console.key", p.recipient, &error));
    for (const std::string &base : bases) {
        snap::PublicKey pub{};
        REQUIRE(snap::load_public_key(snapshots + "/keys/" + base + ".server.pub", pub, &error));
        snap::trust_sender(p, pub, base);
    }
    snap::IngestStore store;
    for (const auto &file : files) {
        snap::v1::Snapshot s;
        snap::Header h;
        REQUIRE(snap::open_snapshot(file, p, s, h, &error) == snap::OpenError::None);
        store.ingest(s);
    }
    return store_figures(store);
}

// Waits (hang guard only) until the console has applied `n` snapshots.
void wait_applied(const StoreRef &store, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    size_t got = 0;
    FigureDb db(store);
    while (std::chrono::steady_clock::now() < deadline) {
        got = db.snapshots().size();
        if (got >= n) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(got == n);
}

// Everything the console received, applied once, equal to the reference figure by figure.
void check_database(const StoreRef &store, const Spool &spool,
                    const std::map<FigureKey, FigureValue> &expected) {
    wait_applied(store, spool.files.size());
    FigureDb db(store);
    const auto rows = db.snapshots();
    REQUIRE(rows.size() == spool.files.size());
    for (const auto &[key, status] : rows) {
        INFO(key.first << "/" << key.second);
        CHECK(status == "applied");
    }
    const auto got = db.figures();
    REQUIRE(got.size() == expected.size());
    size_t mismatched = 0;
    for (const auto &[key, value] : expected) {
        const auto it = got.find(key);
        if (it == got.end() || !(it->second == value)) ++mismatched;
    }
    CHECK(mismatched == 0);
}

struct Upload {
    up::Config config;
    std::unique_ptr<up::Transport> transport;
    std::unique_ptr<up::Engine> engine;
    std::vector<std::string> lines;
    uint64_t rng = 42;

    Upload(const std::string &spool, const Setup &setup, uint16_t port) {
        config.transport.url = "https://127.0.0.1:" + std::to_string(port);
        config.transport.ca_file = setup.cert;
        config.transport.connect_timeout_ms = 5'000;
        config.spool_dirs = {spool};
        std::string error;
        transport = up::make_curl_transport(config.transport, &error);
        INFO(error);
        REQUIRE(transport);
        engine = std::make_unique<up::Engine>(
            config, *transport,
            [this] {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                return rng >> 11;
            },
            [this](const std::string &line) { lines.push_back(line); });
    }
    std::string log() const {
        std::string out;
        for (const auto &l : lines) out += l + "\n";
        return out;
    }
};

void register_bases(const Setup &setup, const std::string &snapshots, const Spool &spool) {
    for (const std::string &base : spool.bases) {
        std::string out;
        INFO(out);
        REQUIRE(setup.run_cli({"keys", "add", base, snapshots + "/keys/" + base + ".server.pub"},
                              &out) == 0);
    }
}

std::vector<std::vector<uint8_t>> contents(const Spool &spool) {
    std::vector<std::vector<uint8_t>> out;
    for (const auto &f : spool.files) out.push_back(read_bytes(f));
    return out;
}

// The sequences in the order the console stored them, per base ("stored 0310001A/42 ...").
std::map<std::string, std::vector<uint64_t>> stored_order(const std::string &log) {
    std::map<std::string, std::vector<uint64_t>> out;
    static const std::regex re("stored ([0-9]{7}[A-Z])/([0-9]+) ");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
         ++it)
        out[(*it)[1]].push_back(std::stoull((*it)[2]));
    return out;
}

uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

constexpr int64_t kT0 = 1'800'000'000'000;  // the engine's injected clock, ms

}  // namespace

TEST_CASE("delivery: a shim week's spool over HTTPS into the console's database") {
    const std::string snapshots = snapshots_dir();
    Setup setup;
    setup.console_key = snapshots + "/keys/console.key";
    const std::string spool_dir = setup.dir.path + "/spool";
    const Spool spool = copy_spool(snapshots, spool_dir);
    REQUIRE(spool.files.size() >= 2);
    const auto expected = reference(snapshots, contents(spool), spool.bases);
    REQUIRE(expected.size() > 100);
    register_bases(setup, snapshots, spool);

    Service service(setup);
    Upload upload(spool_dir, setup, service.port());
    INFO(upload.log());
    INFO(service.log());
    REQUIRE(upload.engine->run_once(kT0));  // every file left with a verified receipt
    CHECK(count_spool(spool_dir) == 0);     // .sonde and .receipt sidecars all deleted
    for (const auto &[key, st] : upload.engine->bases()) {
        CHECK(st.counts[size_t(up::Outcome::Stored)] > 0);
        CHECK(st.counts[size_t(up::Outcome::Forged)] == 0);
        CHECK(st.counts[size_t(up::Outcome::Rejected)] == 0);
    }
    check_database(setup.store, spool, expected);
}

TEST_CASE("delivery: console down for 72 simulated hours, then back: nothing lost or doubled") {
    const std::string snapshots = snapshots_dir();
    Setup setup;
    setup.console_key = snapshots + "/keys/console.key";
    setup.listen = "127.0.0.1:" + std::to_string(free_port());
    const std::string spool_dir = setup.dir.path + "/spool";
    const Spool spool = copy_spool(snapshots, spool_dir);
    REQUIRE(spool.files.size() >= 2);
    const auto expected = reference(snapshots, contents(spool), spool.bases);
    register_bases(setup, snapshots, spool);
    const uint16_t port = uint16_t(std::stoul(setup.listen.substr(10)));

    Upload upload(spool_dir, setup, port);
    INFO(upload.log());
    // The console is down: nobody listens on its port (connection refused). The engine runs on
    // its own clock through 72 hours: it keeps trying, with backoff, and deletes nothing.
    int64_t now = kT0;
    int attempts = 0;
    while (now < kT0 + 72 * 3'600'000) {
        const int64_t next = upload.engine->step(now);
        ++attempts;
        REQUIRE(attempts < 100'000);  // hang guard
        now = std::max(next, now + 1);
    }
    CHECK(count_spool(spool_dir) == 2 * spool.files.size());
    uint64_t network_errors = 0;
    for (const auto &[key, st] : upload.engine->bases())
        network_errors += st.counts[size_t(up::Outcome::NetworkError)];
    CHECK(network_errors > 10);    // it never gave up...
    CHECK(network_errors < 1000);  // ...and backed off (15 minutes at most between tries)
    CHECK(upload.engine->console_failures() > 0);

    // The console comes back on the same port; the engine goes on with its clock.
    Service service(setup);
    REQUIRE(service.port() == port);
    INFO(service.log());
    while (count_spool(spool_dir) > 0) {
        const int64_t next = upload.engine->step(now);
        ++attempts;
        REQUIRE(attempts < 200'000);                   // hang guard
        REQUIRE(now < kT0 + 80 * int64_t(3'600'000));  // 8 simulated hours at most
        now = std::max(next, now + 1);
    }
    check_database(setup.store, spool, expected);

    // Each file was stored once, the newest first, then the backlog oldest first.
    const auto order = stored_order(service.log());
    REQUIRE(order.size() == spool.bases.size());
    size_t stored = 0;
    for (const auto &[base, seqs] : order) stored += seqs.size();
    CHECK(stored == spool.files.size());
    for (const auto &[base, seqs] : order) {
        INFO(base);
        std::vector<uint64_t> sorted = seqs;
        std::sort(sorted.begin(), sorted.end());
        REQUIRE(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // once each
        CHECK(seqs.front() == sorted.back());                                       // newest first
        CHECK(std::is_sorted(seqs.begin() + 1, seqs.end()));  // then oldest first
    }
}

TEST_CASE("delivery: the uplink killed during an upload, the console killed while ingesting") {
    const std::string snapshots = snapshots_dir();
    Setup setup;
    setup.console_key = snapshots + "/keys/console.key";
    setup.listen = "127.0.0.1:" + std::to_string(free_port());
    const std::string spool_dir = setup.dir.path + "/spool";
    const Spool spool = copy_spool(snapshots, spool_dir);
    REQUIRE(spool.files.size() >= 20);
    const auto expected = reference(snapshots, contents(spool), spool.bases);
    register_bases(setup, snapshots, spool);
    const uint16_t port = uint16_t(std::stoul(setup.listen.substr(10)));
    // One file per transaction: many points at which a SIGKILL can land.
    const std::string config = "ingest_batch = 1\n";

    auto stored_count = [](const Service &s) {
        size_t n = 0;
        for (const auto &[base, seqs] : stored_order(s.log())) n += seqs.size();
        return n;
    };
    {
        Service service(setup, config);
        // The uplink, in its own process, SIGKILLed once the console has stored a few files.
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            try {
                Upload upload(spool_dir, setup, port);
                upload.engine->run_once(kT0);
            } catch (...) {
                ::_exit(1);
            }
            ::_exit(0);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (stored_count(service) < 5 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        INFO(service.log());
        REQUIRE(stored_count(service) >= 5);
        CHECK(count_spool(spool_dir) > 0);  // killed before the end: files left behind

        // A new uplink takes the rest; the console, SIGKILLed while it applies them.
        Upload upload(spool_dir, setup, port);
        INFO(upload.log());
        REQUIRE(upload.engine->run_once(kT0));
        CHECK(count_spool(spool_dir) == 0);
        const auto deadline2 = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        FigureDb db(setup.store);
        while (std::chrono::steady_clock::now() < deadline2) {
            if (db.snapshots().size() >= 1) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        service.kill9();
    }
    // Back up: the pending files are applied, every figure exactly once.
    Service again(setup, config);
    INFO(again.log());
    check_database(setup.store, spool, expected);
}
