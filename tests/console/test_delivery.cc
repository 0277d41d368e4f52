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

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
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

// The pin of the console's certificate, as sonde-uplink's `pin` takes it: sha256// and the
// base64 SHA-256 of its SubjectPublicKeyInfo (docs/delivery.md#configuration-1).
std::string pin_of(const std::string &cert_pem) {
    FILE *f = std::fopen(cert_pem.c_str(), "r");
    REQUIRE(f != nullptr);
    X509 *x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    REQUIRE(x != nullptr);
    unsigned char *der = nullptr;
    const int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    REQUIRE(n > 0);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(der, size_t(n), md);
    unsigned char b64[64] = {};
    EVP_EncodeBlock(b64, md, SHA256_DIGEST_LENGTH);
    OPENSSL_free(der);
    X509_free(x);
    return "sha256//" + std::string(reinterpret_cast<const char *>(b64));
}

// What each kill test checks at the end: the spool drained with a verified receipt for every
// file (nothing left, nothing set aside), every sequence received once, applied once, and the
// database equal to the reference figure by figure (a key twice fails in FigureDb::figures).
// It fails on a lost file: the database would lack that file's figures, or hold an older
// sequence's values for them (the reference is built from every file; a reference built without
// one file differs from it, which the tests check); and on a doubled one: a second `snapshots`
// row or a second figure row under one key.
void check_exactly_once(const Setup &setup, const std::string &spool_dir, const Spool &spool,
                        const Figures &expected, const std::string &console_log,
                        bool console_killed) {
    size_t sonde_left = 0;
    for (const auto &e : fs::directory_iterator(spool_dir))
        sonde_left += e.path().filename().string().ends_with(".sonde");
    CHECK(sonde_left == 0);
    // A receipt sidecar is deleted right after its .sonde: a kill between the two may leave one
    // behind, which the shipper removes (docs/delivery.md); never a .sonde without its sidecar.
    for (const char *aside : {"rejected", "unverified"}) {
        INFO(aside);
        CHECK((!fs::exists(spool_dir + "/" + aside) || fs::is_empty(spool_dir + "/" + aside)));
    }
    check_database(setup.store, spool, expected);
    FigureDb db(setup.store);
    size_t rows = 0;
    const auto snapshots = db.snapshots(&rows);
    CHECK(rows == spool.files.size());  // one row per (base, sequence): none twice
    std::set<std::pair<std::string, uint64_t>> want;
    for (const fs::path &f : spool.files) {
        const std::string name = f.filename().string();  // UAI-sequence(20 digits)-...
        want.insert({name.substr(0, 8), std::stoull(name.substr(9, 20))});
    }
    std::set<std::pair<std::string, uint64_t>> got;
    for (const auto &[key, status] : snapshots) got.insert(key);
    CHECK(got == want);
    // Received once: no sequence "stored" twice over every life of the console (one that came
    // again was answered "duplicate"). Each was stored once; when the console itself was killed,
    // one may have been linked into the inbox just before a kill that came before the log line,
    // and then only its "duplicate" answer is logged.
    size_t stored = 0;
    std::set<std::pair<std::string, uint64_t>> answered;
    for (const auto &[base, seqs] : stored_order(console_log)) {
        std::set<uint64_t> once(seqs.begin(), seqs.end());
        CHECK(once.size() == seqs.size());
        stored += seqs.size();
        for (uint64_t q : seqs) answered.insert({base, q});
    }
    static const std::regex dup_re("duplicate ([0-9]{7}[A-Z])/([0-9]+) ");
    for (auto it = std::sregex_iterator(console_log.begin(), console_log.end(), dup_re);
         it != std::sregex_iterator(); ++it)
        answered.insert({(*it)[1], std::stoull((*it)[2])});
    CHECK(answered == want);
    if (!console_killed) CHECK(stored == spool.files.size());
    // The inbox holds each file once, byte for byte as sealed; nothing waits to be applied.
    for (const fs::path &f : spool.files) {
        const std::string name = f.filename().string();
        const std::string held = setup.data + "/inbox/" + name.substr(0, 8) + "/" +
                                 std::to_string(std::stoull(name.substr(9, 20))) + ".sonde";
        INFO(held);
        CHECK(fs::exists(held));
    }
    CHECK(fs::is_empty(setup.data + "/pending"));
    // Every journal record archived and applied: its segments retired (the last one once idle
    // for a second; hang guard only).
    for (int i = 0; i < 1000 && journal_bytes(setup.data) > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(journal_bytes(setup.data) == 0);
}

// What every test starts from: the shim's spool copied, the reference figures of its files,
// each base's sender key registered at the console, and a loopback port the console can come
// back on after an outage or a kill.
struct Week {
    Week() {
        setup.console_key = snapshots + "/keys/console.key";
        port = free_port();
        setup.listen = "127.0.0.1:" + std::to_string(port);
        spool = copy_spool(snapshots, spool_dir);
        REQUIRE(spool.files.size() >= 20);
        expected = reference(snapshots, contents(spool), spool.bases);
        REQUIRE(expected.size() > 100);
        register_bases(setup, snapshots, spool);
    }
    const std::string snapshots = snapshots_dir();
    Setup setup;
    const std::string spool_dir = setup.dir.path + "/spool";
    Spool spool;
    Figures expected;
    uint16_t port = 0;
};

// A reference without one file must differ from the full one: the comparison can fail.
void check_reference_sensitive(const std::string &snapshots, const Spool &spool,
                               const Figures &expected) {
    auto files = contents(spool);
    files.erase(files.begin() + std::ptrdiff_t(files.size() / 2));
    CHECK(reference(snapshots, files, spool.bases) != expected);
}

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

size_t count_sonde(const std::string &dir) {
    size_t n = 0;
    for (const auto &e : fs::directory_iterator(dir))
        n += e.path().filename().string().ends_with(".sonde");
    return n;
}

size_t stored_total(const std::string &log) {
    size_t n = 0;
    for (const auto &[base, seqs] : stored_order(log)) n += seqs.size();
    return n;
}

}  // namespace

TEST_CASE_METHOD(Week, "delivery: a shim week's spool over HTTPS into the console's database") {
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
    // The uplink sends its clock (the Date header) and the console records, per UAI, its clock
    // minus the uplink's (docs/delivery.md#clock): one machine, so about zero (a second of the
    // Date's resolution, and the request's time).
    std::set<std::string> bases;
    for (const fs::path &f : spool.files) bases.insert(f.filename().string().substr(0, 8));
    FigureDb db(setup.store);
    FigureDb::Rows rows;
    for (int i = 0; i < 600; ++i) {  // hang guard: the ingest thread writes them each second
        if (db.query("SELECT base, skew_seconds FROM clock_skew ORDER BY base", rows) &&
            rows.size() == bases.size())
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(rows.size() == bases.size());
    for (const auto &row : rows) {
        INFO(*row[0] << " " << *row[1]);
        CHECK(bases.count(*row[0]) == 1);
        CHECK(std::stoll(*row[1]) >= -1);
        CHECK(std::stoll(*row[1]) <= 60);
    }
}

TEST_CASE_METHOD(
    Week, "delivery: console down for 72 simulated hours, then back: nothing lost or doubled") {
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

TEST_CASE_METHOD(
    Week, "delivery: the uplink killed during an upload, the console killed while ingesting") {
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
        // Every .sonde delivered; a receipt may outlive its .sonde when the kill landed between
        // the two unlinks (swept a minute later by the uplink or the shipper).
        CHECK(count_sonde(spool_dir) == 0);
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

TEST_CASE_METHOD(Week,
                 "delivery: the real sonde-uplink SIGKILLed again and again during its uploads",
                 "[kills]") {
    check_reference_sensitive(snapshots, spool, expected);
    Service service(setup, "ingest_batch = 1\n");

    // sonde-uplink as an operator runs it: its configuration file, the console's pinned key.
    const std::string config = setup.dir.path + "/uplink.conf";
    std::ofstream(config) << "url = https://127.0.0.1:" << service.port() << "\n"
                          << "pin = " << pin_of(setup.cert) << "\n"
                          << "spool_dir = " << spool_dir << "\n"
                          << "connect_timeout = 5\n";
    const std::string uplink_log = setup.dir.path + "/uplink.log";
    const std::vector<std::string> argv{SONDE_UPLINK_PATH, "--config", config, "--once"};

    // Each round starts `sonde-uplink --once` and SIGKILLs it. Even rounds after a delay, at
    // whatever point it has reached (starting, handshaking, reading, uploading, deleting). Odd
    // rounds with a request surely in flight: once the console has stored a new file, it is
    // frozen (SIGSTOP), the uplink is killed while waiting for its answer, and the console goes
    // on (SIGCONT): it stores the request it holds and answers a dead peer. The next uplink
    // finds that file still there, and the console answers it `duplicate` with its receipt.
    const int delays_ms[] = {30, 120, 60, 200, 90, 300};
    size_t kills = 0;
    for (size_t round = 0; count_sonde(spool_dir) > 0; ++round) {
        INFO(read_text(uplink_log));
        REQUIRE(round < 40);  // hang guard
        const size_t stored_before = stored_total(service.log());
        const pid_t pid = spawn(argv, uplink_log, true);
        int status = 0;
        if (round >= 16) {  // enough kills: let it finish
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            continue;
        }
        if (round % 2 == 0) {
            // The delay, cut short after a few stores: on an idle machine an uplink gets through
            // the whole week in a few hundred ms, and every round must find files left to kill.
            const auto until = std::chrono::steady_clock::now() +
                               std::chrono::milliseconds(delays_ms[(round / 2) % 6]);
            while (std::chrono::steady_clock::now() < until &&
                   stored_total(service.log()) < stored_before + 4 &&
                   ::waitpid(pid, &status, WNOHANG) == 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            while (stored_total(service.log()) == stored_before &&
                   ::waitpid(pid, &status, WNOHANG) == 0 &&
                   std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            ::kill(service.pid(), SIGSTOP);
            // Long enough for the uplink's next request to be whole in the console's socket:
            // libcurl asks `Expect: 100-continue` and sends the body after 1 s without an
            // answer. With 150 ms only its headers were there, which the console cannot store:
            // 0 to 3 duplicates in 8 rounds, and 0 in one run of 8 under load.
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        }
        if (::waitpid(pid, &status, WNOHANG) == 0) {
            ::kill(pid, SIGKILL);
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            ++kills;
        }
        ::kill(service.pid(), SIGCONT);
    }
    const std::string log = service.log();
    INFO(log);
    INFO(read_text(uplink_log));
    // A file stored whose answer never reached the uplink comes back as a duplicate: the kills
    // did land while a request was in flight.
    static const std::regex dup_re("duplicate [0-9]{7}[A-Z]/[0-9]+ ");
    const auto in_flight = size_t(std::distance(
        std::sregex_iterator(log.begin(), log.end(), dup_re), std::sregex_iterator()));
    WARN("sonde-uplink SIGKILLed " << kills << " times; " << in_flight
                                   << " files stored by the console without the uplink hearing "
                                      "it (sent again: duplicate)");
    CHECK(kills >= 8);
    CHECK(in_flight >= 1);
    const std::string uplink_text = read_text(uplink_log);
    CHECK(uplink_text.find(" forged: ") == std::string::npos);
    CHECK(uplink_text.find(" rejected: ") == std::string::npos);
    check_exactly_once(setup, spool_dir, spool, expected, log, false);
}

TEST_CASE_METHOD(
    Week, "delivery: sonde-console SIGKILLed again and again while it acknowledges and ingests",
    "[kills]") {
    check_reference_sensitive(snapshots, spool, expected);
    const std::string config = "ingest_batch = 1\n";  // one transaction per file
    std::string logs;                                 // of every life of the console

    auto service = std::make_unique<Service>(setup, config);
    Upload upload(spool_dir, setup, port);
    // The uplink's engine in a thread of its own, on its own clock (its backoff after each kill
    // costs no real time), until the spool is empty.
    std::atomic<bool> stop{false}, drained{false};
    std::thread uplink([&] {
        int64_t now = kT0;
        while (!stop.load()) {
            if (count_sonde(spool_dir) == 0) {
                drained = true;
                return;
            }
            const int64_t next = upload.engine->step(now);
            if (next > now + 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            now = std::max(next, now + 1);
        }
    });
    // Even rounds: a kill after a delay, wherever the console is (reading a body, opening,
    // appending to the journal, archiving, applying a file, retiring a segment, idle). Odd
    // rounds: a kill as soon as a new record is appended to the journal, before its fdatasync
    // and the answer; the uplink then sends that file again and gets `duplicate` with the same
    // receipt (the record was replayed), or `stored` (the record was cut off as a torn tail).
    const int delays_ms[] = {20, 70, 40, 110, 55, 150};
    size_t kills = 0, kills_with_pending = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    for (size_t round = 0; !drained.load() && std::chrono::steady_clock::now() < deadline;
         ++round) {
        if (round >= 16) {  // enough kills: let it drain
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        if (round % 2 == 0) {
            // The delay, cut short after a few stores, so that files are left for every round.
            const size_t stored_before = stored_total(service->log());
            const auto until = std::chrono::steady_clock::now() +
                               std::chrono::milliseconds(delays_ms[(round / 2) % 6]);
            while (std::chrono::steady_clock::now() < until && !drained.load() &&
                   stored_total(service->log()) < stored_before + 4)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else {
            const uint64_t before = journal_bytes(setup.data);
            for (;;) {  // busy: the window is one fdatasync long
                if (drained.load() || std::chrono::steady_clock::now() > deadline) break;
                if (journal_bytes(setup.data) > before) break;
            }
        }
        if (drained.load()) break;
        kills_with_pending += journal_bytes(setup.data) > 0;
        service->kill9();
        ++kills;
        logs += service->log();
        service = std::make_unique<Service>(setup, config);  // the same port
    }
    stop = true;
    uplink.join();
    REQUIRE(drained.load());
    logs += service->log();
    INFO(logs);
    INFO(upload.log());
    uint64_t duplicates = 0, network_errors = 0;
    for (const auto &[key, st] : upload.engine->bases()) {
        duplicates += st.counts[size_t(up::Outcome::Duplicate)];
        network_errors += st.counts[size_t(up::Outcome::NetworkError)];
        CHECK(st.counts[size_t(up::Outcome::Forged)] == 0);
        CHECK(st.counts[size_t(up::Outcome::Rejected)] == 0);
        CHECK(st.counts[size_t(up::Outcome::Unverified)] == 0);
    }
    WARN("sonde-console SIGKILLed " << kills << " times (" << kills_with_pending
                                    << " with files waiting to be applied); the uplink saw "
                                    << network_errors << " network errors and " << duplicates
                                    << " duplicates (files stored before the kill, answer lost)");
    CHECK(kills >= 8);
    CHECK(duplicates >= 1);
    CHECK(kills_with_pending >= 1);
    check_exactly_once(setup, spool_dir, spool, expected, logs, true);
}
