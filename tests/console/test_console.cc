// sonde-console end to end (docs/delivery.md): every answer of the protocol table, the slow
// client, kill -9 between acknowledgement and ingestion, and the database against IngestStore.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "figures.hpp"
#include "fixtures.hpp"
#include "service.hpp"
#include "snapshot/ingest.hpp"

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
    REQUIRE(first.status == 200);
    json j = body(first);
    REQUIRE(j["status"] == "stored");
    REQUIRE(j["receipt"] == to_hex(a.receipt));
    // Durable in the inbox, byte for byte.
    REQUIRE(read_bytes(setup.data + "/inbox/" + kBase + "/42.sonde") == a.file);

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
    REQUIRE(read_bytes(setup.data + "/inbox/" + kBase + "/9.sonde") == a.file);
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
    REQUIRE_FALSE(fs::exists(setup.data + "/figures.sqlite"));
    REQUIRE(count_files(setup.data + "/pending") == files.size());

    {
        Service restarted(setup);
        // Hang guard only: wait until every pending file is applied.
        for (int i = 0; i < 6000 && count_files(setup.data + "/pending") > 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        INFO(restarted.log());
        REQUIRE(count_files(setup.data + "/pending") == 0);
        Client client(setup);
        const Reply metrics = client.get(restarted.url("/metrics"));
        CHECK(metrics.body.find("sonde_console_inbox_backlog_files 0\n") != std::string::npos);
    }
    const std::map<FigureKey, FigureValue> expected = expected_figures(files);
    REQUIRE(expected.size() > 1000);  // the realistic snapshots: thousands of figures
    size_t rows = 0;
    {
        FigureDb db(setup.data + "/figures.sqlite");
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
    FigureDb db(setup.data + "/figures.sqlite");
    REQUIRE(db.figures() == expected);
    db.snapshots(&rows);
    REQUIRE(rows == files.size());
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
