// sonde-console end to end (docs/delivery.md): every answer of the protocol table, the slow
// client, kill -9 between acknowledgement and ingestion, and the database against IngestStore.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "config.hpp"
#include "figures.hpp"
#include "fixtures.hpp"
#include "handler.hpp"
#include "ingestor.hpp"
#include "rate_limit.hpp"
#include "service.hpp"
#include "snapshot/ingest.hpp"
#include "store.hpp"

namespace {

using namespace console_test;
using namespace fixtures;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char *kOtherBase = "0310002B";

struct Sealed {
    Bytes file;
    Receipt receipt{};
};

Sealed seal_with(const Snapshot &s, const SealParams &p) {
    Sealed out;
    std::string error;
    INFO(error);
    REQUIRE(seal_snapshot(s, p, out.file, &error, &out.receipt));
    return out;
}

Sealed seal_school(const Snapshot &s) { return seal_with(s, seal_params(s)); }

std::string path_of(const std::string &base, uint64_t sequence) {
    return "/v1/bases/" + base + "/snapshots/" + std::to_string(sequence);
}

json body(const Reply &r) {
    INFO("status " << r.status << " body " << r.body << " error " << r.error);
    REQUIRE(json::accept(r.body));
    return json::parse(r.body);
}

// A 422 whose reason starts with `name`.
void require_rejected(const Reply &r, const std::string &name, long status = 422) {
    INFO("body " << r.body << " error " << r.error);
    REQUIRE(r.status == status);
    const json j = body(r);
    REQUIRE(j["status"] == "rejected");
    REQUIRE(j.contains("reason"));
    CHECK(j["reason"].get<std::string>().starts_with(name + ": "));
    CHECK_FALSE(j.contains("receipt"));
}

Bytes read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes{std::istreambuf_iterator<char>(in), {}};
}

size_t count_files(const std::string &dir) {
    size_t n = 0;
    std::error_code ec;
    for (const auto &f : fs::recursive_directory_iterator(dir, ec))
        if (f.is_regular_file()) ++n;
    return n;
}

// Registers the school's key for kBase and the stranger's for kOtherBase.
struct Registered : Setup {
    Registered() {
        REQUIRE(register_key(kBase, keys().school) == 0);
        REQUIRE(register_key(kOtherBase, keys().stranger) == 0);
    }
};

}  // namespace

TEST_CASE("an upload is stored with its receipt, and again is a duplicate with the same one") {
    Registered setup;
    Service service(setup);
    Client client(setup);
    const Sealed a = seal_school(realistic_snapshot(42));
    const Sealed b = seal_school(realistic_snapshot(43, kCreated + 900, 2));

    const Reply first = client.put(service.url(path_of(kBase, 42)), a.file);
    INFO(service.log() << first.error);
    REQUIRE(first.status == 200);
    json j = body(first);
    REQUIRE(j["status"] == "stored");
    REQUIRE(j["receipt"] == to_hex(a.receipt));
    // Durable in the journal at once; archived in the inbox, byte for byte, by the ingestor
    // (hang guard only).
    REQUIRE(journal_bytes(setup.data) >= a.file.size() + 40);
    const std::string archive = setup.data + "/inbox/" + kBase + "/42.sonde";
    for (int i = 0; i < 1000 && !fs::exists(archive); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    INFO(service.log());
    REQUIRE(read_bytes(archive) == a.file);

    const Reply again = client.put(service.url(path_of(kBase, 42)), a.file);
    REQUIRE(again.status == 200);
    j = body(again);
    REQUIRE(j["status"] == "duplicate");
    REQUIRE(j["receipt"] == to_hex(a.receipt));

    // Each file has its own receipt.
    const Reply second = client.put(service.url(path_of(kBase, 43)), b.file);
    REQUIRE(second.status == 200);
    REQUIRE(body(second)["receipt"] == to_hex(b.receipt));
    REQUIRE(a.receipt != b.receipt);

    // The other base, with its own key.
    Snapshot other = small_snapshot(5);
    other.base_id = kOtherBase;
    SealParams p = seal_params(other);
    p.sender = keys().stranger;
    const Sealed c = seal_with(other, p);
    const Reply third = client.put(service.url(path_of(kOtherBase, 5)), c.file);
    REQUIRE(third.status == 200);
    REQUIRE(body(third)["receipt"] == to_hex(c.receipt));

    const Reply health = client.get(service.url("/healthz"));
    REQUIRE(health.status == 200);
    REQUIRE(body(health)["status"] == "ok");
    const Reply metrics = client.get(service.url("/metrics"));
    REQUIRE(metrics.status == 200);
    CHECK(metrics.body.find("sonde_console_uploads_total{status=\"stored\"} 3\n") !=
          std::string::npos);
    CHECK(metrics.body.find("sonde_console_uploads_total{status=\"duplicate\"} 1\n") !=
          std::string::npos);
    CHECK(metrics.body.find("sonde_console_last_snapshot_sequence{base=\"0310001A\"} 43\n") !=
          std::string::npos);
    // The journal's metrics (docs/delivery.md#the-journal): a counter's sample ends in _total.
    CHECK(metrics.body.find("# TYPE sonde_console_journal_syncs counter\n") != std::string::npos);
    CHECK(metrics.body.find("\nsonde_console_journal_appends_total ") != std::string::npos);
    CHECK(metrics.body.find("\nsonde_console_journal_failed 0\n") != std::string::npos);
    CHECK(metrics.body.ends_with("# EOF\n"));
}

TEST_CASE("files that can never be accepted are rejected with their reason, and nothing kept") {
    Registered setup;
    Service service(setup);
    Client client(setup);
    const Snapshot s = small_snapshot(7);

    SECTION("sealed to another console") {
        SealParams p = seal_params(s);
        p.recipient_public = keys().stranger.public_key;
        require_rejected(client.put(service.url(path_of(kBase, 7)), seal_with(s, p).file),
                         "wrong recipient");
    }
    SECTION("a sender key registered nowhere") {
        SealParams p = seal_params(s);
        p.sender = keys().console;  // a valid key pair, but never enrolled
        require_rejected(client.put(service.url(path_of(kBase, 7)), seal_with(s, p).file),
                         "unknown sender");
    }
    SECTION("a sender key registered for another base") {
        // The stranger's key is enrolled for 0310002B only: it cannot upload 0310001A's files.
        SealParams p = seal_params(s);
        p.sender = keys().stranger;
        require_rejected(client.put(service.url(path_of(kBase, 7)), seal_with(s, p).file),
                         "unknown sender");
        // Nor can the school's key upload 0310002B's.
        Snapshot other = s;
        other.base_id = kOtherBase;
        require_rejected(client.put(service.url(path_of(kOtherBase, 7)), seal_school(other).file),
                         "unknown sender");
    }
    SECTION("a tampered body") {
        Bytes file = seal_school(s).file;
        file[file.size() - 20] ^= 0x01;
        require_rejected(client.put(service.url(path_of(kBase, 7)), file), "authentication failed");
    }
    SECTION("a tampered header") {
        Bytes file = seal_school(s).file;
        file[48] ^= 0x01;  // created
        require_rejected(client.put(service.url(path_of(kBase, 7)), file), "authentication failed");
    }
    SECTION("junk") {
        Bytes junk(4096, 0x5a);
        require_rejected(client.put(service.url(path_of(kBase, 7)), junk), "bad magic");
    }
    SECTION("a path that names another sequence or base than the header") {
        const Bytes file = seal_school(s).file;
        require_rejected(client.put(service.url(path_of(kBase, 8)), file), "path mismatch");
        require_rejected(client.put(service.url(path_of(kOtherBase, 7)), file), "path mismatch");
    }
    SECTION("malformed requests") {
        const Bytes file = seal_school(s).file;
        require_rejected(client.put(service.url("/v1/bases/0310001A/snapshots/07"), file),
                         "bad path", 404);
        require_rejected(client.put(service.url("/v1/bases/0310001a/snapshots/7"), file),
                         "bad path", 404);
        require_rejected(client.put(service.url("/v1/bases/0310001A/snapshots/7/"), file),
                         "bad path", 404);
        require_rejected(client.put(service.url("/v1/bases/0310001A/snapshots/7?x=1"), file),
                         "bad path", 404);
        require_rejected(client.put(service.url("/v1/bases/0310001A/snapshots/"
                                                "18446744073709551616"),
                                    file),
                         "bad path", 404);
        require_rejected(client.get(service.url(path_of(kBase, 7))), "bad method", 405);
        require_rejected(client.put(service.url(path_of(kBase, 7)), file, "text/plain"),
                         "bad content type", 415);
    }
    // The service is still up and kept nothing.
    const Reply health = client.get(service.url("/healthz"));
    REQUIRE(health.status == 200);
    REQUIRE(count_files(setup.data + "/inbox") == 0);
    REQUIRE(count_files(setup.data + "/pending") == 0);
    REQUIRE(journal_bytes(setup.data) == 0);
}

TEST_CASE("another file under a sequence already stored is a conflict and the first one stays") {
    Registered setup;
    Service service(setup);
    Client client(setup);
    const Sealed a = seal_school(small_snapshot(9));
    const Sealed b = seal_school(small_snapshot(9));  // same figures, fresh ephemeral key
    REQUIRE(a.file != b.file);
    REQUIRE(client.put(service.url(path_of(kBase, 9)), a.file).status == 200);
    require_rejected(client.put(service.url(path_of(kBase, 9)), b.file), "conflict");
    // Archived by the ingestor (hang guard only); a conflict again once it is.
    const std::string archive = setup.data + "/inbox/" + kBase + "/9.sonde";
    for (int i = 0; i < 1000 && !fs::exists(archive); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(read_bytes(archive) == a.file);
    require_rejected(client.put(service.url(path_of(kBase, 9)), b.file), "conflict");
}

TEST_CASE("a body over the bound gets 413 before the client sends any of it") {
    Registered setup;
    Service service(setup, "max_body_bytes = 65536\n");
    Client client(setup);
    uint64_t sent = 0;
    const Reply r = client.put_declared(service.url(path_of(kBase, 1)), 64u << 20, sent);
    require_rejected(r, "too large", 413);
    REQUIRE(sent == 0);
    // A file within the bound still goes through on a new connection.
    const Sealed a = seal_school(small_snapshot(1));
    REQUIRE(client.put(service.url(path_of(kBase, 1)), a.file).status == 200);
}

namespace {

// A TLS client that sends `prefix` and then nothing: returns once the server closes the
// connection (true), or when the hang guard expires (false).
class SlowClient {
  public:
    SlowClient(uint16_t port, const std::string &prefix) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        REQUIRE(ctx_);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
        timeval guard{120, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        REQUIRE(SSL_connect(ssl_) == 1);
        REQUIRE(SSL_write(ssl_, prefix.data(), int(prefix.size())) == int(prefix.size()));
    }
    ~SlowClient() {
        SSL_free(ssl_);
        ::close(fd_);
        SSL_CTX_free(ctx_);
    }
    // True if the server closed (clean close or reset), false if the guard expired.
    bool closed_by_server() {
        char byte;
        errno = 0;
        const int n = SSL_read(ssl_, &byte, 1);
        if (n > 0) return false;  // the server answered instead of closing: not expected here
        return !(errno == EAGAIN || errno == EWOULDBLOCK);
    }

  private:
    SSL_CTX *ctx_ = nullptr;
    SSL *ssl_ = nullptr;
    int fd_ = -1;
};

}  // namespace

TEST_CASE("slow clients are cut off while the service keeps serving others") {
    Registered setup;
    // One thread: the slow clients must not hold it.
    Service service(setup, "threads = 1\nheader_timeout = 2\nbody_timeout = 2\n");
    Client client(setup);
    SlowClient headers(service.port(),
                       "PUT /v1/bases/0310001A/snapshots/1 HTTP/1.1\r\nHost: x\r\n");
    SlowClient slow_body(service.port(),
                         "PUT /v1/bases/0310001A/snapshots/2 HTTP/1.1\r\nHost: x\r\nContent-Type: "
                         "application/vnd.sonde.snapshot\r\nContent-Length: 1000\r\n\r\nSONDSNAP");
    const Sealed a = seal_school(small_snapshot(3));
    const Reply r = client.put(service.url(path_of(kBase, 3)), a.file);
    REQUIRE(r.status == 200);
    REQUIRE(body(r)["status"] == "stored");
    REQUIRE(headers.closed_by_server());
    REQUIRE(slow_body.closed_by_server());
    REQUIRE(client.get(service.url("/healthz")).status == 200);
}

namespace {

Figures expected_figures(const std::vector<Bytes> &files) {
    IngestStore store;
    for (const Bytes &file : files) {
        OpenParams p = open_params();
        trust_sender(p, keys().stranger.public_key, kOtherBase);  // as the console registered it
        v1::Snapshot s;
        Header h;
        std::string error;
        INFO(error);
        REQUIRE(open_snapshot(file, p, s, h, &error) == OpenError::None);
        store.ingest(s);
    }
    return store_figures(store);
}

}  // namespace

TEST_CASE("kill -9 after acknowledging, before ingesting: the restart applies every file once") {
    Registered setup;
    // Sequences of one base, overlapping windows with different figures, sent out of order.
    std::vector<Bytes> files;
    std::vector<std::pair<std::string, uint64_t>> names;
    for (uint64_t seq : {3, 1, 6, 2, 5, 4}) {
        files.push_back(
            seal_school(realistic_snapshot(seq, kCreated + int64_t(seq) * 900, seq)).file);
        names.push_back({kBase, seq});
    }
    Snapshot other = small_snapshot(11);
    other.base_id = kOtherBase;
    SealParams p = seal_params(other);
    p.sender = keys().stranger;
    files.push_back(seal_with(other, p).file);
    names.push_back({kOtherBase, 11});

    {
        Service receiving(setup, "ingest = off\n");
        Client client(setup);
        for (size_t i = 0; i < files.size(); ++i) {
            const Reply r =
                client.put(receiving.url(path_of(names[i].first, names[i].second)), files[i]);
            REQUIRE(r.status == 200);
            REQUIRE(body(r)["status"] == "stored");
        }
        // A duplicate too.
        REQUIRE(
            client.put(receiving.url(path_of(names[0].first, names[0].second)), files[0]).status ==
            200);
        receiving.kill9();
    }
    REQUIRE_FALSE(FigureDb(setup.store).has_table("figures"));  // no store opened
    // Held in the journal only: not archived yet.
    uint64_t total = 0;
    for (const auto &f : files) total += f.size() + 40;
    REQUIRE(journal_bytes(setup.data) == total);
    REQUIRE(count_files(setup.data + "/inbox") == 0);

    {
        Service restarted(setup);
        // Hang guard only: wait until every journaled file is archived, applied and its
        // segment retired (once idle for a second).
        for (int i = 0; i < 6000 && journal_bytes(setup.data) > 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        INFO(restarted.log());
        REQUIRE(journal_bytes(setup.data) == 0);
        REQUIRE(count_files(setup.data + "/inbox") == files.size());
        // The ingestor updates the backlog gauge once its batch has committed: wait for it
        // (hang guard only).
        Client client(setup);
        Reply metrics;
        for (int i = 0; i < 600; ++i) {
            metrics = client.get(restarted.url("/metrics"));
            if (metrics.body.find("sonde_console_inbox_backlog_files 0\n") != std::string::npos)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        CHECK(metrics.body.find("sonde_console_inbox_backlog_files 0\n") != std::string::npos);
    }
    const std::map<FigureKey, FigureValue> expected = expected_figures(files);
    REQUIRE(expected.size() > 1000);  // the realistic snapshots: thousands of figures
    size_t rows = 0;
    {
        FigureDb db(setup.store);
        const auto got = db.figures();
        REQUIRE(got.size() == expected.size());
        REQUIRE(got == expected);
        const auto snapshots = db.snapshots(&rows);
        REQUIRE(rows == files.size());
        for (const auto &name : names) REQUIRE(snapshots.at(name) == "applied");
    }
    // The winning figures come from the highest sequence where windows overlap.
    bool from_six = false;
    for (const auto &[key, value] : expected) from_six = from_six || value.sequence == 6;
    REQUIRE(from_six);

    // Re-applying the whole inbox changes nothing.
    std::string out;
    REQUIRE(setup.run_cli({"reingest"}, &out) == 0);
    INFO(out);
    FigureDb db(setup.store);
    REQUIRE(db.figures() == expected);
    db.snapshots(&rows);
    REQUIRE(rows == files.size());
}

// PostgreSQL only: the SQLite registration leaves it out (tests/console/CMakeLists.txt).
TEST_CASE("the database connection lost while the service ingests: every file applied once",
          "[postgresql]") {
    if (!postgres()) FAIL("PostgreSQL only: run with --store postgresql");
    Registered setup;
    const std::string app = "sonde_e2e_" + setup.store.schema;
    // The same database and schema as Setup's, under a name the test can find.
    Service service(setup, "ingest_batch = 1\npostgresql = " + postgres_conninfo() +
                               " application_name=" + app +
                               " options='-c search_path=" + setup.store.schema + "'\n");
    Client client(setup);
    std::vector<Bytes> files;
    for (uint64_t seq = 1; seq <= 4; ++seq)
        files.push_back(
            seal_school(realistic_snapshot(seq, kCreated + int64_t(seq) * 900, seq)).file);
    FigureDb db(setup.store);
    auto wait_rows = [&](size_t n) {  // hang guard only
        for (int i = 0; i < 3000 && db.snapshots().size() < n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        REQUIRE(db.snapshots().size() == n);
    };
    REQUIRE(client.put(service.url(path_of(kBase, 1)), files[0]).status == 200);
    wait_rows(1);
    // The server ends the service's session (a restart, a failover), and it is gone.
    FigureDb::Rows rows;
    REQUIRE(
        db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                 "application_name = '" +
                     app + "'",
                 rows));
    REQUIRE(rows.size() == 1);
    for (int i = 0; i < 500; ++i) {  // hang guard only
        REQUIRE(db.query("SELECT 1 FROM pg_stat_activity WHERE application_name = '" + app + "'",
                         rows));
        if (rows.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(rows.empty());
    for (uint64_t seq = 2; seq <= 4; ++seq)
        REQUIRE(client.put(service.url(path_of(kBase, seq)), files[seq - 1]).status == 200);
    // The first batch after that fails; the ingestor retries (when another file comes, or 5 s
    // later) and reconnects.
    wait_rows(files.size());
    INFO(service.log());
    CHECK(service.log().find("retrying in 5 s") != std::string::npos);
    REQUIRE(db.figures() == expected_figures(files));
    for (const auto &[key, status] : db.snapshots()) CHECK(status == "applied");
}

TEST_CASE("keys add list revoke: a revoked key cannot upload and cannot come back") {
    Registered setup;
    std::string out;
    REQUIRE(setup.run_cli({"keys", "list"}, &out) == 0);
    const std::string school = to_hex(key_id(keys().school.public_key));
    const std::string stranger = to_hex(key_id(keys().stranger.public_key));
    REQUIRE(out == std::string(kBase) + " " + school + " active\n" + kOtherBase + " " + stranger +
                       " active\n");
    REQUIRE(setup.register_key(kBase, keys().school) != 0);                      // already there
    REQUIRE(setup.run_cli({"keys", "add", "0310001", setup.console_key}) != 0);  // not a UAI

    Service service(setup);
    Client client(setup);
    REQUIRE(
        client.put(service.url(path_of(kBase, 1)), seal_school(small_snapshot(1)).file).status ==
        200);
    REQUIRE(setup.run_cli({"keys", "revoke", kBase, school}) == 0);
    require_rejected(
        client.put(service.url(path_of(kBase, 2)), seal_school(small_snapshot(2)).file),
        "unknown sender");
    REQUIRE(setup.register_key(kBase, keys().school) != 0);
    REQUIRE(setup.run_cli({"keys", "list"}, &out) == 0);
    REQUIRE(out.find(std::string(kBase) + " " + school + " revoked\n") != std::string::npos);
}

namespace {

// What a reader must get for one key from the rows of several generations
// (docs/delivery.md#the-ingestor): counts summed, distinct users and distributions the newest
// generation's with `partial` when more than one generation has the window, levels and gauges
// the newest generation's.
struct Combined {
    int64_t value = 0;
    bool suppressed = false;
    std::string bin_low, students;
    uint64_t sequence = 0;
    size_t generations = 0;
    bool partial = false;
    auto operator<=>(const Combined &) const = default;
};

}  // namespace

TEST_CASE("two segment generations: counts summed, distinct users and distributions partial") {
    Registered setup;
    constexpr uint64_t kFirst = 0x1111, kSecond = 0xF00DFACE12345678;  // the second above 2^63
    using Family = IngestStore::Family;
    // Sequences 1-3 of a first segment; then a new segment (the first one was corrupt) counts
    // from zero under another generation, sequences 4-6: only the current windows, so the
    // previous day, month and school year, and the first hour, belong to the first generation.
    std::vector<Bytes> files;
    std::map<uint64_t, IngestStore> per_generation;
    for (uint64_t seq = 1; seq <= 6; ++seq) {
        Snapshot s = realistic_snapshot(seq, kCreated + int64_t(seq) * 60, seq);
        s.segment_generation = seq <= 3 ? kFirst : kSecond;
        if (seq > 3) {
            std::erase_if(s.values, [](const auto &v) { return v.window.start_unix == kHour09; });
            std::erase_if(s.distinct, [](const auto &d) {
                return d.window.start_unix == kPreviousDay ||
                       d.window.start_unix == kPreviousMonth ||
                       d.window.start_unix == kPreviousSchoolYear;
            });
        }
        files.push_back(seal_school(s).file);
        v1::Snapshot opened;
        Header h;
        std::string error;
        INFO(error);
        REQUIRE(open_snapshot(files.back(), open_params(), opened, h, &error) == OpenError::None);
        per_generation[s.segment_generation].ingest(opened);  // one generation's own figures
    }
    // The reference, from each generation's figures and the rule above.
    std::map<FigureKey, Combined> expected;
    std::map<FigureKey, uint64_t> newest;
    for (const auto &[generation, store] : per_generation)
        for (const auto &[key, f] : store_figures(store)) {
            Combined &c = expected[key];
            ++c.generations;
            const auto family = Family(std::get<1>(key));
            if (family == Family::Value) {
                c.value += f.value;
                c.suppressed = c.suppressed || f.suppressed;
            }
            if (f.sequence > c.sequence) {
                c.sequence = f.sequence;
                if (family != Family::Value) {
                    c.value = f.value;
                    c.suppressed = f.suppressed;
                }
                c.bin_low = f.bin_low;
                c.students = f.students;
            }
            c.partial =
                (family == Family::Distinct || family == Family::Distribution) && c.generations > 1;
        }

    Service service(setup);
    Client client(setup);
    for (uint64_t seq = 1; seq <= 6; ++seq)
        REQUIRE(client.put(service.url(path_of(kBase, seq)), files[seq - 1]).status == 200);
    FigureDb db(setup.store);
    for (int i = 0; i < 6000 && db.snapshots().size() < files.size(); ++i)  // hang guard
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(db.snapshots().size() == files.size());

    FigureDb::Rows rows;
    REQUIRE(
        db.query("SELECT base, family, window_kind, window_start, d0, d1, d2, d3, d4, d5, "
                 "value, suppressed, bin_low, students, sequence, generations, partial "
                 "FROM window_figures",
                 rows));
    std::map<FigureKey, Combined> got;
    for (const auto &r : rows) {
        std::vector<uint32_t> dims;
        for (int i = 4; i < 10; ++i) dims.push_back(uint32_t(std::stoul(*r[i])));
        const FigureKey key{*r[0], uint32_t(std::stoul(*r[1])), uint32_t(std::stoul(*r[2])),
                            std::stoll(*r[3]), dims};
        REQUIRE(got.count(key) == 0);  // one row per key, whatever the generations
        got[key] = {std::stoll(*r[10]),         *r[11] != "0", *r[12], *r[13], to_u64(*r[14]),
                    size_t(std::stoul(*r[15])), *r[16] != "0"};
    }
    REQUIRE(got.size() == expected.size());
    size_t mismatched = 0;
    for (const auto &[key, c] : expected)
        if (got.at(key) != c) ++mismatched;
    CHECK(mismatched == 0);

    // The cases the rule distinguishes are all there: a count in both generations (its sum is
    // neither part), distinct users and distributions partial, and windows of one generation
    // only, not partial.
    const auto first = store_figures(per_generation.at(kFirst));
    const auto second = store_figures(per_generation.at(kSecond));
    size_t summed = 0, partial[5] = {}, whole_distinct = 0;
    for (const auto &[key, c] : got) {
        const auto family = Family(std::get<1>(key));
        if (family == Family::Value && c.generations == 2 && first.at(key).value > 0 &&
            second.at(key).value > 0)
            ++summed;
        if (c.partial) ++partial[size_t(family)];
        if (family == Family::Distinct && c.generations == 1 && !c.partial) ++whole_distinct;
    }
    CHECK(summed > 100);
    CHECK(partial[size_t(Family::Distinct)] > 10);
    CHECK(partial[size_t(Family::Distribution)] > 10);
    CHECK(partial[size_t(Family::Value)] + partial[size_t(Family::Gauge)] +
              partial[size_t(Family::Level)] ==
          0);
    CHECK(whole_distinct > 10);
    // The table keeps each generation's own rows: two for a key of both.
    FigureDb::Rows count;
    REQUIRE(db.query("SELECT count(*) FROM figures", count));
    CHECK(std::stoul(*count[0][0]) == first.size() + second.size());
}

TEST_CASE("configuration: store = sqlite | postgresql, a connection string without password") {
    using sonde::console::Config;
    using sonde::console::parse_config;
    Config c;
    std::string error;
    REQUIRE(parse_config("data_dir = /x\n", c, &error));
    CHECK(c.store == Config::StoreKind::Sqlite);
    c = {};
    REQUIRE(parse_config("store = postgresql\npostgresql = host=/run/postgresql dbname=sonde\n", c,
                         &error));
    CHECK(c.store == Config::StoreKind::Postgresql);
    CHECK(c.postgresql == "host=/run/postgresql dbname=sonde");
    c = {};
    REQUIRE(parse_config("store = postgresql\npostgresql = postgresql://sonde@db.example/sonde\n",
                         c, &error));
    const char *refused[] = {
        "store = postgresql\n",                                           // no connection string
        "postgresql = dbname=sonde\n",                                    // store is sqlite
        "store = mysql\n",                                                // not a store
        "store = postgresql\npostgresql = dbname='x\n",                   // unterminated quote
        "store = postgresql\npostgresql = nosuch=1\n",                    // not a libpq keyword
        "store = postgresql\npostgresql = \n",                            // empty
        "store = postgresql\npostgresql = dbname=x password=secret\n",    // password
        "store = postgresql\npostgresql = postgresql://u:secret@h/db\n",  // password in a URI
    };
    for (const char *text : refused) {
        INFO(text);
        c = {};
        error.clear();
        CHECK_FALSE(parse_config(text, c, &error));
        CHECK_FALSE(error.empty());
    }
    c = {};
    CHECK_FALSE(
        parse_config("store = postgresql\npostgresql = dbname=x password=secret\n", c, &error));
    CHECK(error.find("pgpass") != std::string::npos);
}

// PostgreSQL only: the SQLite registration leaves it out (tests/console/CMakeLists.txt).
TEST_CASE("a lost PostgreSQL connection fails one apply, and the next one reconnects",
          "[postgresql]") {
    if (!postgres()) FAIL("PostgreSQL only: run with --store postgresql");
    Registered setup;
    const std::string app = "sonde_reconnect_" + setup.store.schema;
    std::string error;
    auto store = sonde::console::open_postgres_store(
        postgres_conninfo() + " application_name=" + app +
            " options='-c search_path=" + setup.store.schema + "'",
        &error);
    INFO(error);
    REQUIRE(store);
    auto rows = [](uint64_t sequence) {
        std::vector<sonde::console::FigureRow> f(3);
        for (size_t i = 0; i < f.size(); ++i) {
            f[i].base = kBase;
            f[i].generation = 1;
            f[i].family = uint32_t(IngestStore::Family::Value);
            f[i].window_kind = 1;
            f[i].dims = {1, uint32_t(i + 1), 0, 0, 0, 0};
            f[i].value = int64_t(sequence * 10 + i);
            f[i].sequence = sequence;
        }
        return f;
    };
    REQUIRE(store->apply({}, rows(1), &error));
    // The server ends that session (a restart, a failover, an idle timeout in between).
    FigureDb db(setup.store);
    FigureDb::Rows killed;
    REQUIRE(
        db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                 "application_name = '" +
                     app + "'",
                 killed));
    REQUIRE(killed.size() == 1);
    error.clear();
    // Hang guard only: the termination reaches the session asynchronously.
    bool failed = false;
    for (int i = 0; i < 100 && !failed; ++i) {
        failed = !store->apply({}, rows(2), &error);
        if (!failed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(failed);
    CHECK_FALSE(error.empty());
    REQUIRE(store->apply({}, rows(3), &error));  // reconnected
    FigureDb::Rows values;
    REQUIRE(db.query("SELECT value, sequence FROM figures ORDER BY value", values));
    REQUIRE(values.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
        CHECK(*values[i][0] == std::to_string(30 + i));
        CHECK(*values[i][1] == "3");
    }
}

// Not a test: the stores' throughput, for docs/delivery.md. Run by hand:
//   SONDE_TEST_POSTGRES=... build/tests/console/sonde_console_tests "[.bench]"
TEST_CASE("store throughput: SQLite and PostgreSQL, batches of 64 snapshots", "[.bench]") {
    // 10 bases x 32 quarter-hour snapshots of the realistic lycée: each one repeats the day,
    // month and school-year windows of the previous ones, as real snapshots do.
    std::vector<sonde::console::SnapshotRow> snapshots;
    std::vector<std::vector<sonde::console::FigureRow>> figures;
    for (uint64_t seq = 1; seq <= 32; ++seq)
        for (int b = 0; b < 10; ++b) {
            Snapshot s = realistic_snapshot(seq, kCreated + int64_t(seq) * 900, seq * 10 + b);
            s.base_id = "03100" + std::to_string(10 + b) + "A";
            auto &rows = figures.emplace_back();
            sonde::console::figure_rows(to_proto(s), rows);
            sonde::console::SnapshotRow r;
            r.base = s.base_id;
            r.sequence = seq;
            r.generation = s.segment_generation;
            r.created_unix = s.created_unix;
            r.figures = rows.size();
            r.status = "applied";
            snapshots.push_back(r);
        }
    size_t total = 0;
    for (const auto &f : figures) total += f.size();
    auto run = [&](const char *name, sonde::console::Store &store) {
        const auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < snapshots.size(); i += 64) {
            std::vector<sonde::console::SnapshotRow> s;
            std::vector<sonde::console::FigureRow> f;
            for (size_t j = i; j < std::min(i + 64, snapshots.size()); ++j) {
                s.push_back(snapshots[j]);
                f.insert(f.end(), figures[j].begin(), figures[j].end());
            }
            std::string error;
            INFO(error);
            REQUIRE(store.apply(s, f, &error));
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        WARN(name << ": " << snapshots.size() << " snapshots, " << total << " figures in "
                  << seconds << " s: " << snapshots.size() / seconds << " snapshots/s, "
                  << total / seconds << " figures/s");
    };
    Dir dir;
    std::string error;
    auto sqlite = sonde::console::open_sqlite_store(dir.path + "/figures.sqlite", &error);
    REQUIRE(sqlite);
    run("sqlite", *sqlite);
    const char *conninfo = std::getenv("SONDE_TEST_POSTGRES");
    if (!conninfo) return;
    if (!postgres()) use_postgres(conninfo);
    Setup setup;  // a fresh schema
    auto pg = sonde::console::open_postgres_store(
        std::string(conninfo) + " options='-c search_path=" + setup.store.schema + "'", &error);
    INFO(error);
    REQUIRE(pg);
    run("postgresql", *pg);
}

TEST_CASE("labels with tabs, line feeds and backslashes round-trip, a NUL or bad UTF-8 passes") {
    Registered setup;
    std::string error;
    std::unique_ptr<sonde::console::Store> store =
        postgres()
            ? sonde::console::open_postgres_store(
                  postgres_conninfo() + " options='-c search_path=" + setup.store.schema + "'",
                  &error)
            : sonde::console::open_sqlite_store(setup.store.sqlite_path, &error);
    INFO(error);
    REQUIRE(store);
    const std::string tricky = "1ERE\tG\\n\n\r\\\\ é";
    std::vector<sonde::console::FigureRow> rows(3);
    for (uint32_t i = 0; i < rows.size(); ++i) {
        rows[i].base = kBase;
        rows[i].generation = 0x9E3779B97F4A7C15ULL;
        rows[i].family = uint32_t(IngestStore::Family::Level);
        rows[i].dims = {i + 1, 0, 0, 0, 0, 0};
        rows[i].sequence = 18446744073709551615ULL;  // 2^64 - 1: the highest sequence there is
    }
    rows[0].label = tricky;
    rows[1].label = std::string("A\0B", 3);
    rows[2].label = "caf\xC3";  // truncated UTF-8
    // A batch the database cannot take would be retried for ever: it must go in.
    REQUIRE(store->apply({}, rows, &error));
    FigureDb db(setup.store);
    FigureDb::Rows got;
    REQUIRE(db.query("SELECT label, sequence, generation FROM figures ORDER BY d0", got));
    REQUIRE(got.size() == 3);
    CHECK(*got[0][0] == tricky);
    CHECK(to_u64(*got[0][1]) == 18446744073709551615ULL);
    CHECK(to_u64(*got[0][2]) == 0x9E3779B97F4A7C15ULL);
    // A lower sequence does not replace it, a higher one does: sequences compare as unsigned
    // numbers, above 2^63 too.
    rows.resize(2);
    rows[0].label = "older";
    rows[0].sequence = 1;
    rows[1].label = "newer";
    rows[1].dims[0] = 4;
    rows[1].sequence = 9223372036854775808ULL;  // 2^63
    REQUIRE(store->apply({}, rows, &error));
    rows[0].dims[0] = 4;
    rows[0].label = "between";
    rows[0].sequence = 9223372036854775807ULL;  // 2^63 - 1
    rows.resize(1);
    REQUIRE(store->apply({}, rows, &error));
    REQUIRE(db.query("SELECT label FROM figures WHERE d0 = 1", got));
    CHECK(*got[0][0] == tricky);
    REQUIRE(db.query("SELECT label, sequence FROM figures WHERE d0 = 4", got));
    CHECK(*got[0][0] == "newer");
    CHECK(to_u64(*got[0][1]) == 9223372036854775808ULL);
}

TEST_CASE("over the per-client rate limit an upload gets 429 with Retry-After, before its body") {
    Registered setup;
    // 1 upload a minute sustained, 3 at once, per (client address, UAI).
    Service service(setup, "rate_limit_per_base = 1\nrate_limit_burst = 3\n");
    Client client(setup);
    std::vector<Sealed> files;
    for (uint64_t seq = 1; seq <= 5; ++seq)
        files.push_back(seal_school(realistic_snapshot(seq, kCreated + 900 * int64_t(seq))));

    // Within the burst: stored, and a duplicate is an upload like any other.
    for (uint64_t seq = 1; seq <= 2; ++seq) {
        const Reply r = client.put(service.url(path_of(kBase, seq)), files[seq - 1].file);
        INFO(r.body << r.error);
        REQUIRE(r.status == 200);
        CHECK(body(r)["status"] == "stored");
        CHECK(r.retry_after.empty());
    }
    REQUIRE(client.put(service.url(path_of(kBase, 2)), files[1].file).status == 200);

    // The fourth within the minute: 429, status retry, Retry-After in whole seconds, at most the
    // time one token takes to come back (60 s); nothing kept, no cryptography (the body is junk
    // of the declared length and is never read: no rejection).
    uint64_t sent = 0;
    const Reply limited = client.put_declared(service.url(path_of(kBase, 3)), 200'000, sent);
    INFO(limited.body << limited.error);
    REQUIRE(limited.status == 429);
    CHECK(body(limited)["status"] == "retry");
    CHECK_FALSE(body(limited).contains("receipt"));
    REQUIRE_FALSE(limited.retry_after.empty());
    const int wait = std::stoi(limited.retry_after);
    CHECK(wait >= 1);
    CHECK(wait <= 60);
    CHECK(sent == 0);
    CHECK_FALSE(fs::exists(setup.data + "/inbox/" + kBase + "/3.sonde"));
    // A real file is refused the same way, and the refusal does not reset the bucket.
    CHECK(client.put(service.url(path_of(kBase, 3)), files[2].file).status == 429);

    // Another UAI from the same address has its own bucket (a hosting farm's uplink).
    Snapshot other = small_snapshot(5);
    other.base_id = kOtherBase;
    SealParams p = seal_params(other);
    p.sender = keys().stranger;
    const Reply third = client.put(service.url(path_of(kOtherBase, 5)), seal_with(other, p).file);
    CHECK(third.status == 200);

    // Requests that are not uploads are not limited.
    CHECK(client.get(service.url("/healthz")).status == 200);
    const Reply metrics = client.get(service.url("/metrics"));
    CHECK(metrics.body.find("sonde_console_rate_limited_total 2\n") != std::string::npos);
    CHECK(metrics.body.find("sonde_console_uploads_total{status=\"retry\"} 2\n") !=
          std::string::npos);
    CHECK(metrics.body.find("sonde_console_uploads_total{status=\"stored\"} 3\n") !=
          std::string::npos);
}

TEST_CASE("rate limit off (0): any number of uploads of one UAI is served") {
    Registered setup;
    Service service(setup, "rate_limit_per_base = 0\nrate_limit_burst = 1\n");
    Client client(setup);
    const Sealed a = seal_school(realistic_snapshot(42));
    for (int i = 0; i < 20; ++i) {
        const Reply r = client.put(service.url(path_of(kBase, 42)), a.file);
        REQUIRE(r.status == 200);
        CHECK(r.retry_after.empty());
    }
}

TEST_CASE("the rate limiter: token bucket per client and UAI, within a bounded table") {
    using sonde::console::RateLimiter;
    SECTION("burst, then one token per 1/rate; Retry-After is the time to the next token") {
        RateLimiter limit(6, 2, 100);  // one token every 10 s
        CHECK(limit.take("10.0.0.1", kBase, 0) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 0) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 0) == 10);
        CHECK(limit.take("10.0.0.1", kBase, 4'000) == 6);
        CHECK(limit.take("10.0.0.1", kBase, 9'999) == 1);
        CHECK(limit.take("10.0.0.1", kBase, 10'000) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 10'000) == 10);
        // Other keys are not charged.
        CHECK(limit.take("10.0.0.2", kBase, 10'000) == 0);
        CHECK(limit.take("10.0.0.1", kOtherBase, 10'000) == 0);
        // A long pause refills up to the burst only.
        CHECK(limit.take("10.0.0.1", kBase, 1'000'000) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 1'000'000) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 1'000'000) > 0);
    }
    SECTION("off: never limits, holds nothing") {
        RateLimiter limit(0, 1, 100);
        for (int i = 0; i < 1000; ++i) CHECK(limit.take("10.0.0.1", kBase, 0) == 0);
        CHECK(limit.clients() == 0);
    }
    SECTION("a flood of distinct UAIs never holds more than the cap") {
        RateLimiter limit(60, 5, 1000);
        char uai[9] = "0000000A";
        for (int i = 0; i < 100'000; ++i) {
            std::snprintf(uai, sizeof uai, "%07d%c", i % 10'000'000, 'A' + i % 26);
            limit.take("192.0.2.1", uai, i);
            REQUIRE(limit.clients() <= 1000);
        }
        // A client caught in the middle of a flood is held again once the flood has passed.
        for (int i = 0; i < 5; ++i) CHECK(limit.take("10.0.0.1", kBase, 200'000) == 0);
        CHECK(limit.take("10.0.0.1", kBase, 200'000) == 1);
    }
}

TEST_CASE("keys import registers a list of keys in one command, each for its own UAI") {
    Setup setup;
    std::string error;
    const std::string school = setup.dir.path + "/school.pub",
                      stranger = setup.dir.path + "/stranger.pub",
                      list = setup.dir.path + "/bases.txt";
    REQUIRE(save_public_key(school, keys().school.public_key, false, &error));
    REQUIRE(save_public_key(stranger, keys().stranger.public_key, false, &error));
    {
        std::ofstream out(list);
        out << "# UAI public key file\n"
            << kBase << " " << school << "\n\n"
            << kOtherBase << "   " << stranger << "\n"
            << "0310001 " << school << "\n"                       // line 5: not a UAI
            << "0310003C " << setup.dir.path << "/missing.pub\n"  // line 6: no such file
            << "0310004D\n"                                       // line 7: no file named
            << "0310005E " << school << " extra\n";               // line 8: one word too many
    }
    std::string out;
    REQUIRE(setup.run_cli({"keys", "import", list}, &out) == 1);  // some lines failed
    INFO(out);
    CHECK(out.find("registered 2 keys, 0 already registered, 4 failed") != std::string::npos);
    for (const char *line : {":5: ", ":6: ", ":7: ", ":8: "})
        CHECK(out.find(list + line) != std::string::npos);
    REQUIRE(setup.run_cli({"keys", "list"}, &out) == 0);
    const std::string school_id = to_hex(key_id(keys().school.public_key));
    const std::string stranger_id = to_hex(key_id(keys().stranger.public_key));
    REQUIRE(out == std::string(kBase) + " " + school_id + " active\n" + kOtherBase + " " +
                       stranger_id + " active\n");

    // The service accepts what was imported, each key for its own UAI only.
    {
        Service service(setup);
        Client client(setup);
        const Sealed ok = seal_school(small_snapshot(1));
        const Reply r = client.put(service.url(path_of(kBase, 1)), ok.file);
        REQUIRE(r.status == 200);
        CHECK(body(r)["receipt"] == to_hex(ok.receipt));
        SealParams p = seal_params(small_snapshot(2));
        p.sender = keys().stranger;
        require_rejected(
            client.put(service.url(path_of(kBase, 2)), seal_with(small_snapshot(2), p).file),
            "unknown sender");
    }

    // Again: nothing new, nothing failed. A revoked key does not come back through an import.
    {
        std::ofstream out2(list);
        out2 << kBase << " " << school << "\n" << kOtherBase << " " << stranger << "\n";
    }
    REQUIRE(setup.run_cli({"keys", "import", list}, &out) == 0);
    CHECK(out.find("registered 0 keys, 2 already registered, 0 failed") != std::string::npos);
    REQUIRE(setup.run_cli({"keys", "revoke", kBase, school_id}) == 0);
    REQUIRE(setup.run_cli({"keys", "import", list}, &out) == 1);
    CHECK(out.find("registered 0 keys, 1 already registered, 1 failed") != std::string::npos);
    REQUIRE(setup.run_cli({"keys", "list"}, &out) == 0);
    CHECK(out.find(std::string(kBase) + " " + school_id + " revoked\n") != std::string::npos);
}

TEST_CASE("refused uploads of an enrolled UAI are recorded per UAI, a snapshot's coverage kept") {
    Registered setup;
    Service service(setup);
    Client client(setup);
    // A snapshot with its coverage: kept with its row of `snapshots` (docs/snapshot.md#coverage).
    Snapshot s = small_snapshot(7);
    s.coverage = {kCreated / 3600 * 3600 - 7200, kCreated / 3600 * 3600, true};
    REQUIRE(client.put(service.url(path_of(kBase, 7)), seal_school(s).file).status == 200);
    // Refused: twice junk and once a file of another school for kBase (enrolled), once junk for
    // a UAI never enrolled (nothing recorded: made-up UAIs add no rows).
    const Bytes junk(200, 0x42);
    require_rejected(client.put(service.url(path_of(kBase, 8)), junk), "bad magic");
    require_rejected(client.put(service.url(path_of(kBase, 9)), junk), "bad magic");
    Snapshot other = small_snapshot(10);
    other.base_id = kOtherBase;
    SealParams p = seal_params(other);
    p.sender = keys().stranger;
    require_rejected(client.put(service.url(path_of(kBase, 10)), seal_with(other, p).file),
                     "path mismatch");
    require_rejected(client.put(service.url(path_of("0990001Z", 3)), junk), "bad magic");

    FigureDb db(setup.store);
    FigureDb::Rows rows;
    auto recorded = [&] {
        return db.query(
                   "SELECT base, reason, count, first_unix, last_unix, detail FROM "
                   "upload_rejections ORDER BY base, reason",
                   rows) &&
               rows.size() >= 2 && db.snapshots().size() == 1;
    };
    for (int i = 0; i < 600 && !recorded(); ++i)  // hang guard: the ingestor writes each second
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(recorded());
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0] == kBase);
    CHECK(rows[0][1] == "bad magic");
    CHECK(rows[0][2] == "2");
    CHECK(std::stoll(*rows[0][3]) <= std::stoll(*rows[0][4]));
    CHECK(rows[0][5]->starts_with("bad magic: "));
    CHECK(rows[1][0] == kBase);
    CHECK(rows[1][1] == "path mismatch");
    CHECK(rows[1][2] == "1");
    FigureDb::Rows coverage;
    REQUIRE(db.query("SELECT coverage FROM snapshots", coverage));
    REQUIRE(coverage.size() == 1);
    CHECK(coverage[0][0] ==
          std::to_string(s.coverage.hours_from) + "," + std::to_string(s.coverage.hours_to) + ",1");
}

TEST_CASE(
    "clock skew: the console's clock minus the uploader's Date, per UAI, accepted files only") {
    using sonde::console::format_http_date;
    using sonde::console::parse_http_date;
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(format_http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    CHECK(parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT") == 1835438400);
    CHECK(format_http_date(1835438400) == "Tue, 29 Feb 2028 12:00:00 GMT");
    for (const char *bad : {"Mon, 06 Nov 1994 08:49:37 GMT",   // not that day's weekday
                            "Sun, 29 Feb 2027 08:49:37 GMT",   // no 29 February in 2027
                            "Sunday, 06-Nov-94 08:49:37 GMT",  // RFC 850, obsolete
                            "Sun Nov  6 08:49:37 1994",        // asctime, obsolete
                            "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", ""})
        CHECK_FALSE(parse_http_date(bad));

    Registered setup;
    Service service(setup);
    Client client(setup);
    FigureDb db(setup.store);
    FigureDb::Rows rows;
    auto skew = [&](int64_t after) -> std::optional<int64_t> {
        // Hang guard: the ingest thread writes the measures each second.
        for (int i = 0; i < 600; ++i) {
            if (db.query("SELECT skew_seconds, measured_unix FROM clock_skew WHERE base = '" +
                             std::string(kBase) + "'",
                         rows) &&
                rows.size() == 1 && std::stoll(*rows[0][1]) >= after)
                return std::stoll(*rows[0][0]);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return std::nullopt;
    };
    // A school whose clock is an hour ahead: negative.
    int64_t before = std::time(nullptr);
    REQUIRE(client
                .put(service.url(path_of(kBase, 7)), seal_school(small_snapshot(7)).file,
                     "application/vnd.sonde.snapshot", {"Date: " + format_http_date(before + 3600)})
                .status == 200);
    std::optional<int64_t> s = skew(before);
    INFO(service.log());
    REQUIRE(s);
    // Bounded by the request: at most the time from the Date's second to the headers' arrival.
    CHECK(*s >= -3600 - 1);
    CHECK(*s <= -3600 + (std::time(nullptr) - before) + 1);
    // Two hours behind: positive.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later measure
    before = std::time(nullptr);
    REQUIRE(client
                .put(service.url(path_of(kBase, 8)), seal_school(small_snapshot(8)).file,
                     "application/vnd.sonde.snapshot", {"Date: " + format_http_date(before - 7200)})
                .status == 200);
    s = skew(before);
    REQUIRE(s);
    CHECK(*s >= 7200 - 1);
    CHECK(*s <= 7200 + (std::time(nullptr) - before) + 1);
    // Not measured: a refused upload (anyone can send junk with any Date), an upload without a
    // Date, or with a malformed one. The last measure stays.
    const Bytes junk(200, 0x42);
    require_rejected(
        client.put(service.url(path_of(kBase, 9)), junk, "application/vnd.sonde.snapshot",
                   {"Date: " + format_http_date(std::time(nullptr) + 86400)}),
        "bad magic");
    REQUIRE(
        client.put(service.url(path_of(kBase, 10)), seal_school(small_snapshot(10)).file).status ==
        200);
    REQUIRE(client
                .put(service.url(path_of(kBase, 11)), seal_school(small_snapshot(11)).file,
                     "application/vnd.sonde.snapshot", {"Date: yesterday"})
                .status == 200);
    // The refusal is written by the same flush as the measures: once it is, nothing else came.
    for (int i = 0; i < 600; ++i) {
        if (db.query("SELECT count FROM upload_rejections", rows) && !rows.empty() &&
            db.snapshots().size() == 4)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // one more flush at least
    s = skew(0);
    REQUIRE(s);
    CHECK(*s >= 7200 - 1);
    CHECK(*s < 7200 + 120);
}
