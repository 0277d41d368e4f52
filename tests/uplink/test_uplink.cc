// The uplink against a loopback HTTPS server playing the console (docs/delivery.md): the
// server opens every upload with the console's key and computes the real receipt, then
// answers as each test needs (honest, forging, rejecting, busy).

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "core/config.hpp"
#include "ctl/command.hpp"
#include "pacing.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/keys.hpp"
#include "tls_server.hpp"
#include "uplink.hpp"

namespace fs = std::filesystem;
using namespace sonde;
using namespace sonde::uplink;
using Json = nlohmann::json;

namespace {

constexpr int64_t kInterval = 15 * 60'000;
constexpr int64_t kT0 = 1'795'510'800'000;  // an interval boundary (ms)

struct Keys {
    crypto::KeyPair console, school;
    Keys() {
        const std::vector<uint8_t> a(32, 0x11), b(32, 0x22);
        console = crypto::derive_key_pair(a);
        school = crypto::derive_key_pair(b);
    }
};
const Keys &keys() {
    static const Keys k;
    return k;
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "sonde-uplink-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    std::string str() const { return path_.string(); }
    fs::path path() const { return path_; }

  private:
    fs::path path_;
};

std::string hex(const snapshot::Receipt &r) { return snapshot::to_hex(r); }

std::string spool_name(const std::string &uai, uint64_t seq, int64_t created) {
    char name[128];
    std::snprintf(name, sizeof name, "%s-%020llu-%lld-%lld.sonde", uai.c_str(),
                  (unsigned long long)seq, (long long)(created - created % 3600),
                  (long long)created);
    return name;
}

// Seals a file as the shipper does and writes it with its receipt sidecar (written first).
std::string write_snapshot(const std::string &dir, const std::string &uai, uint64_t seq,
                           bool sidecar = true) {
    snapshot::SealParams p;
    p.recipient_public = keys().console.public_key;
    p.sender = keys().school;
    p.base_id = uai;
    p.sequence = seq;
    p.created_unix = 1'795'510'800 + int64_t(seq) * 900;
    std::string payload = "snapshot " + uai + " " + std::to_string(seq);
    snapshot::Bytes file;
    snapshot::Receipt receipt{};
    std::string error;
    REQUIRE(snapshot::seal_snapshot(
        std::span(reinterpret_cast<const uint8_t *>(payload.data()), payload.size()), p, file,
        &error, &receipt));
    const std::string name = spool_name(uai, seq, p.created_unix);
    if (sidecar)
        std::ofstream(dir + "/" + name.substr(0, name.size() - 6) + ".receipt")
            << hex(receipt) << "\n";
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char *>(file.data()), std::streamsize(file.size()));
    return name;
}

// The console's side: opens the body with its key and says what it saw.
struct Opened {
    bool ok = false;
    std::string uai;
    uint64_t sequence = 0;
    snapshot::Receipt receipt{};
    std::string error;
};
Opened open_upload(const testing::HttpRequest &req) {
    Opened o;
    snapshot::OpenParams p;
    p.recipient = keys().console;
    // This console registered the school's key for every base the test uploads.
    const std::span body(reinterpret_cast<const uint8_t *>(req.body.data()), req.body.size());
    snapshot::Header peek;
    if (snapshot::parse_header(body, peek, nullptr) == snapshot::OpenError::None)
        snapshot::trust_sender(p, keys().school.public_key, peek.base());
    p.receipt = &o.receipt;
    snapshot::Bytes plain;
    snapshot::Header header;
    const auto err = snapshot::open_payload(
        std::span(reinterpret_cast<const uint8_t *>(req.body.data()), req.body.size()), p, plain,
        header, &o.error);
    o.ok = err == snapshot::OpenError::None;
    o.uai = header.base();
    o.sequence = header.sequence;
    // The path must name the header's base and sequence.
    if (req.path != "/v1/bases/" + o.uai + "/snapshots/" + std::to_string(o.sequence)) {
        o.ok = false;
        o.error = "PathMismatch";
    }
    return o;
}

testing::HttpReply json_reply(int status, Json body) { return {status, body.dump(), {}}; }

// An honest console that records the order of what it received.
struct Console {
    std::mutex mu;
    std::vector<uint64_t> received;
    std::set<std::string> seen;
    std::function<void(const Opened &)> during;  // runs before answering (races)

    testing::HttpReply operator()(const testing::HttpRequest &req) {
        if (req.method != "PUT" || req.headers.count("content-type") == 0 ||
            req.headers.at("content-type") != "application/vnd.sonde.snapshot")
            return json_reply(415, {{"status", "rejected"}, {"reason", "BadRequest: type"}});
        const Opened o = open_upload(req);
        if (!o.ok) return json_reply(422, {{"status", "rejected"}, {"reason", o.error}});
        std::lock_guard lock(mu);
        received.push_back(o.sequence);
        if (during) during(o);
        const std::string key = o.uai + "/" + std::to_string(o.sequence);
        const bool dup = !seen.insert(key).second;
        return json_reply(200,
                          {{"status", dup ? "duplicate" : "stored"}, {"receipt", hex(o.receipt)}});
    }
};

Config config_for(const testing::TlsServer &server, const std::string &spool) {
    Config c;
    c.transport.url = server.url();
    c.transport.pin = server.pin();
    c.transport.connect_timeout_ms = 5'000;
    c.transport.transfer_timeout_ms = 20'000;
    c.spool_dirs = {spool};
    c.interval_ms = kInterval;
    return c;
}

struct Rig {
    std::unique_ptr<Transport> transport;
    std::vector<std::string> logs;
    uint64_t random = 0;
    std::unique_ptr<Engine> engine;

    explicit Rig(const Config &c) {
        std::string error;
        transport = make_curl_transport(c.transport, &error);
        REQUIRE(transport);
        engine = std::make_unique<Engine>(
            c, *transport, [this] { return random; },
            [this](const std::string &l) { logs.push_back(l); });
    }
    const BaseStatus &base(const std::string &dir, const std::string &uai) {
        return engine->bases().at(dir + "/" + uai);
    }
    uint64_t count(const std::string &dir, const std::string &uai, Outcome o) {
        return base(dir, uai).counts[size_t(o)];
    }
};

bool exists(const std::string &p) { return fs::exists(p); }
std::string stem(const std::string &name) { return name.substr(0, name.size() - 6); }

// The first instant a new base is due (its slot) when the engine starts at kT0.
int64_t first_slot(const std::string &uai) {
    return next_slot_ms(kT0, base_offset_ms(uai, kInterval), kInterval);
}

}  // namespace

TEST_CASE("a verified receipt deletes the file and its sidecar") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    REQUIRE(rig.engine->run_once(kT0));
    CHECK(server.requests() == 1);
    CHECK_FALSE(exists(dir.str() + "/" + name));
    CHECK_FALSE(exists(dir.str() + "/" + stem(name) + ".receipt"));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Stored) == 1);
}

TEST_CASE("a duplicate with a verified receipt deletes the file too") {
    TempDir dir;
    Console console;
    console.seen.insert("0310001A/4");  // the console already holds it
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = write_snapshot(dir.str(), "0310001A", 4);
    Rig rig(config_for(server, dir.str()));
    REQUIRE(rig.engine->run_once(kT0));
    CHECK_FALSE(exists(dir.str() + "/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Duplicate) == 1);
}

TEST_CASE("a wrong pinned key is refused during the handshake: nothing is sent") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Config c = config_for(server, dir.str());
    c.transport.pin = testing::unrelated_pin();
    Rig rig(c);
    CHECK_FALSE(rig.engine->run_once(kT0));
    CHECK(server.requests() == 0);
    CHECK(server.connections() >= 1);  // it did reach the server, and stopped there
    CHECK(exists(dir.str() + "/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::NetworkError) == 1);
}

TEST_CASE("a CA file authenticates the console; a certificate it does not sign is refused") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    testing::TlsServer other([&](const auto &r) { return console(r); });
    const std::string ca = dir.str() + "/ca.pem";
    std::ofstream(ca) << server.certificate_pem();
    fs::create_directory(dir.path() / "spool");
    const std::string spool = dir.str() + "/spool";
    write_snapshot(spool, "0310001A", 1);
    Config c = config_for(other, spool);
    c.transport.pin.clear();
    c.transport.ca_file = ca;
    {
        Rig rig(c);
        CHECK_FALSE(rig.engine->run_once(kT0));
        CHECK(other.requests() == 0);
    }
    c.transport.url = server.url();
    Rig rig(c);
    CHECK(rig.engine->run_once(kT0));
    CHECK(server.requests() == 1);
}

TEST_CASE("a 200 without a valid receipt (forged acknowledgement) deletes nothing") {
    TempDir dir;
    int variant = 0;
    testing::TlsServer server([&](const testing::HttpRequest &) {
        switch (variant++ % 4) {
            case 0:
                return json_reply(200, {{"status", "stored"}});
            case 1:
                return json_reply(200, {{"status", "stored"}, {"receipt", std::string(64, 'a')}});
            case 2:
                return json_reply(200, {{"status", "duplicate"}, {"receipt", "zz"}});
            default:
                return testing::HttpReply{200, "<html>Welcome to the proxy</html>", {}};
        }
    });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    CHECK(rig.engine->step(kT0) == first_slot("0310001A"));  // found, waits for its slot
    int64_t now = first_slot("0310001A");
    for (int i = 0; i < 4; ++i) {
        rig.random = backoff_ceiling_ms(uint32_t(i + 1));
        now = rig.engine->step(now);
    }
    CHECK(server.requests() == 4);
    CHECK(exists(dir.str() + "/" + name));
    CHECK(exists(dir.str() + "/" + stem(name) + ".receipt"));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Forged) == 4);
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Stored) == 0);
    // Each forged answer backs off like a failure.
    CHECK(rig.engine->console_failures() == 4);
    CHECK_FALSE(rig.engine->run_once(now));
}

TEST_CASE("a receipt that belongs to another file is a forgery too") {
    TempDir dir;
    snapshot::Receipt other_receipt{};
    testing::TlsServer server([&](const testing::HttpRequest &) {
        return json_reply(200, {{"status", "stored"}, {"receipt", hex(other_receipt)}});
    });
    // A replaying man in the middle: the real receipt of another file.
    TempDir side;
    const std::string other = write_snapshot(side.str(), "0310001A", 2);
    {
        std::ifstream in(side.str() + "/" + stem(other) + ".receipt");
        std::stringstream ss;
        ss << in.rdbuf();
        other_receipt = *parse_receipt(ss.str());
    }
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    CHECK_FALSE(rig.engine->run_once(kT0));
    CHECK(exists(dir.str() + "/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Forged) == 1);
}

TEST_CASE("a rejected file goes to rejected/ with its reason and is not retried") {
    TempDir dir;
    testing::TlsServer server([&](const testing::HttpRequest &) {
        return json_reply(422,
                          {{"status", "rejected"}, {"reason", "UnknownSender: not registered"}});
    });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    CHECK(rig.engine->step(kT0) == first_slot("0310001A"));  // found, waits for its slot
    int64_t now = first_slot("0310001A");
    for (int i = 0; i < 5; ++i) now = rig.engine->step(now + 1);
    CHECK(server.requests() == 1);
    CHECK_FALSE(exists(dir.str() + "/" + name));
    CHECK(exists(dir.str() + "/rejected/" + name));
    CHECK(exists(dir.str() + "/rejected/" + stem(name) + ".receipt"));
    std::ifstream reason(dir.str() + "/rejected/" + stem(name) + ".reason");
    std::string text;
    std::getline(reason, text);
    CHECK(text.find("UnknownSender: not registered") != std::string::npos);
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Rejected) == 1);
}

TEST_CASE("a file whose header is not a snapshot is set aside locally, never sent") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = spool_name("0310001A", 3, 1'795'510'800);
    std::ofstream(dir.str() + "/" + name)
        << "not a sealed snapshot at all, but long enough to parse a header from it..........";
    Rig rig(config_for(server, dir.str()));
    CHECK_FALSE(rig.engine->run_once(kT0));
    CHECK(server.requests() == 0);
    CHECK(exists(dir.str() + "/rejected/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Rejected) == 1);
}

TEST_CASE("503 or 429 with Retry-After holds every upload until it has passed") {
    // 503: the console's backlog or disk; 429: its per-client rate limit. Same contract.
    const int code = GENERATE(503, 429);
    INFO("HTTP " << code);
    TempDir dir;
    Console console;
    bool busy = true;
    testing::TlsServer server([&](const testing::HttpRequest &r) {
        if (busy)
            return testing::HttpReply{
                code, R"({"status":"retry","reason":"busy"})", {{"Retry-After", "120"}}};
        return console(r);
    });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    rig.engine->step(kT0);
    CHECK(server.requests() == 0);
    const int64_t slot = first_slot("0310001A");
    rig.random = 0;  // the backoff alone would allow a retry after 1 s
    const int64_t next = rig.engine->step(slot);
    CHECK(server.requests() == 1);
    CHECK(next == slot + 120'000);
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Retry) == 1);
    rig.engine->step(slot + 1'000);
    rig.engine->step(slot + 119'999);
    CHECK(server.requests() == 1);
    busy = false;
    rig.engine->step(slot + 120'000);
    CHECK(server.requests() == 2);
    CHECK_FALSE(exists(dir.str() + "/" + name));
}

TEST_CASE("a console that cannot be reached is retried with growing backoff, never given up") {
    TempDir dir;
    std::string url;
    {
        testing::TlsServer gone([](const testing::HttpRequest &) { return testing::HttpReply{}; });
        url = gone.url();
    }  // closed: connections to its port are refused
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Config c;
    c.transport.url = url;
    c.transport.pin = testing::unrelated_pin();
    c.spool_dirs = {dir.str()};
    c.interval_ms = kInterval;
    Rig rig(c);
    rig.engine->step(kT0);
    int64_t now = first_slot("0310001A");
    for (uint32_t f = 1; f <= 12; ++f) {
        rig.random = backoff_ceiling_ms(f);  // the top of the jitter range
        const int64_t next = rig.engine->step(now);
        REQUIRE(rig.engine->console_failures() == f);
        CHECK(next - now == backoff_ceiling_ms(f));
        // Nothing happens before the backoff is over.
        CHECK(rig.engine->step(next - 1) == next);
        CHECK(rig.engine->console_failures() == f);
        now = next;
    }
    CHECK(backoff_ceiling_ms(12) == 15 * 60'000);
    CHECK(exists(dir.str() + "/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::NetworkError) == 12);
    // The status file says so.
    std::ifstream in(status_path(dir.str(), "0310001A"));
    const Json st = Json::parse(in);
    CHECK(st["backlog_files"] == 1);
    CHECK(st["counts"]["network_error"] == 12);
    CHECK(st["last_success"] == 0);
    CHECK(st["last_error"].get<std::string>().find("network_error") == 0);
    CHECK(st["next_attempt"].get<int64_t>() == now / 1000);
}

TEST_CASE("after an outage the newest file goes first, then the backlog oldest first") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    for (uint64_t s = 1; s <= 6; ++s) write_snapshot(dir.str(), "0310001A", s);
    Rig rig(config_for(server, dir.str()));
    CHECK(rig.engine->step(kT0) == first_slot("0310001A"));  // found, waits for its slot
    int64_t now = first_slot("0310001A");
    // The backlog drains one request at a time, without waiting between files.
    for (int i = 0; i < 6; ++i) {
        const int64_t next = rig.engine->step(now);
        if (i < 5) CHECK(next == now);
        now = next;
    }
    CHECK(console.received == std::vector<uint64_t>{6, 1, 2, 3, 4, 5});
    // A file written meanwhile jumps the queue.
    for (uint64_t s = 7; s <= 9; ++s) write_snapshot(dir.str(), "0310001A", s);
    // The backlog is empty: the base waits for its next slot, one interval later.
    const int64_t slot = now;
    CHECK(slot == first_slot("0310001A") + kInterval);
    CHECK(rig.engine->step(slot - 1) == slot);
    CHECK(console.received.size() == 6);
    now = slot;
    write_snapshot(dir.str(), "0310001A", 10);
    for (int i = 0; i < 4; ++i) now = rig.engine->step(now);
    CHECK(console.received == std::vector<uint64_t>{6, 1, 2, 3, 4, 5, 10, 7, 8, 9});
    CHECK(rig.base(dir.str(), "0310001A").backlog.files == 0);
}

TEST_CASE("bases take turns, one request in flight each, at their own offsets") {
    TempDir dir;
    Console console;
    std::vector<std::string> order;
    console.during = [&](const Opened &o) { order.push_back(o.uai); };
    testing::TlsServer server([&](const auto &r) { return console(r); });
    write_snapshot(dir.str(), "0310001A", 1);
    write_snapshot(dir.str(), "0310002B", 1);
    Rig rig(config_for(server, dir.str()));
    const int64_t a = first_slot("0310001A"), b = first_slot("0310002B");
    REQUIRE(a != b);
    rig.engine->step(kT0);  // discovers both, none due
    CHECK(server.requests() == 0);
    rig.engine->step(std::min(a, b));
    CHECK(order == std::vector<std::string>{a < b ? "0310001A" : "0310002B"});
    rig.engine->step(std::max(a, b));
    CHECK(order.size() == 2);
}

TEST_CASE("a file merged away by the shipper during its upload: no crash, no error loop") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string a1 = write_snapshot(dir.str(), "0310001A", 1);
    const std::string b1 = write_snapshot(dir.str(), "0310002B", 1);
    // While 0310001A/1 is being uploaded the shipper merges it and 0310002B/1 away.
    console.during = [&](const Opened &o) {
        if (o.uai == "0310001A") {
            fs::remove(dir.path() / a1);
            fs::remove(dir.path() / (stem(a1) + ".receipt"));
            fs::remove(dir.path() / b1);
            fs::remove(dir.path() / (stem(b1) + ".receipt"));
        }
    };
    Rig rig(config_for(server, dir.str()));
    rig.engine->step(kT0);
    const int64_t t = std::max(first_slot("0310001A"), first_slot("0310002B"));
    rig.engine->step(t);
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Stored) == 1);
    CHECK(rig.count(dir.str(), "0310002B", Outcome::Vanished) == 1);
    CHECK(server.requests() == 1);
    // Nothing left to do, and no error recorded.
    for (int i = 0; i < 3; ++i) rig.engine->step(t + 1 + i);
    CHECK(server.requests() == 1);
    CHECK(rig.base(dir.str(), "0310001A").last_error.empty());
    CHECK(rig.base(dir.str(), "0310002B").last_error.empty());
    CHECK(rig.engine->console_failures() == 0);
}

TEST_CASE(".tmp files are never read, only complete .sonde files") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = write_snapshot(dir.str(), "0310001A", 5);
    fs::rename(dir.path() / name, dir.path() / (name + ".tmp"));
    // Other names the shipper or an operator may leave: none of them is a snapshot to send.
    std::ofstream(dir.str() + "/0310001A.state") << "x";
    std::ofstream(dir.str() + "/0310001A-00000000000000000001-1-2.sonde~") << "x";
    fs::create_directory(dir.path() / "0310001A-00000000000000000002-1-2.sonde");
    Rig rig(config_for(server, dir.str()));
    CHECK(rig.engine->run_once(kT0));
    CHECK(server.requests() == 0);
    CHECK(exists(dir.str() + "/" + name + ".tmp"));
}

TEST_CASE("a receipt left without its .sonde is removed once a minute old, never sooner") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    // A receipt with its file, the leftover of a kill between the two unlinks (old), one the
    // shipper has just written before renaming its .sonde (fresh), and a stranger's file.
    const std::string kept = write_snapshot(dir.str(), "0310001A", 3);
    const std::string old_orphan = dir.str() + "/0310001A-00000000000000000001-1-2.receipt";
    const std::string fresh_orphan = dir.str() + "/0310001A-00000000000000000002-1-2.receipt";
    const std::string stranger = dir.str() + "/notes.receipt";
    for (const std::string &p : {old_orphan, fresh_orphan, stranger}) std::ofstream(p) << "x\n";
    const auto old_time = fs::file_time_type::clock::now() - std::chrono::seconds(61);
    fs::last_write_time(old_orphan, old_time);
    fs::last_write_time(stranger, old_time);
    fs::last_write_time(dir.str() + "/" + stem(kept) + ".receipt", old_time);

    std::string error;
    const auto files = uplink::scan_spool(dir.str(), &error);
    CHECK(error.empty());
    REQUIRE(files.size() == 1);
    CHECK_FALSE(exists(old_orphan));
    CHECK(exists(fresh_orphan));
    CHECK(exists(stranger));
    CHECK(exists(dir.str() + "/" + stem(kept) + ".receipt"));
    CHECK(server.requests() == 0);
}

TEST_CASE("a file without a receipt sidecar is uploaded but never deleted: unverified/") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1, /*sidecar=*/false);
    Rig rig(config_for(server, dir.str()));
    CHECK_FALSE(rig.engine->run_once(kT0));
    CHECK(server.requests() == 1);
    CHECK(exists(dir.str() + "/unverified/" + name));
    CHECK(exists(dir.str() + "/unverified/" + stem(name) + ".reason"));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::Unverified) == 1);
}

TEST_CASE("an answer over 64 KiB is aborted and decides nothing") {
    TempDir dir;
    testing::TlsServer server([&](const testing::HttpRequest &) {
        return testing::HttpReply{200, std::string(100'000, ' ') + R"({"status":"stored"})", {}};
    });
    const std::string name = write_snapshot(dir.str(), "0310001A", 1);
    Rig rig(config_for(server, dir.str()));
    CHECK_FALSE(rig.engine->run_once(kT0));
    CHECK(exists(dir.str() + "/" + name));
    CHECK(rig.count(dir.str(), "0310001A", Outcome::NetworkError) == 1);
}

TEST_CASE("one connection is reused for many uploads") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    for (uint64_t s = 1; s <= 20; ++s) write_snapshot(dir.str(), "0310001A", s);
    Rig rig(config_for(server, dir.str()));
    CHECK(rig.engine->run_once(kT0));
    CHECK(server.requests() == 20);
    CHECK(server.connections() == 1);
}

TEST_CASE("each upload carries the uplink's clock as it leaves, in the Date header") {
    CHECK(sonde::uplink::http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(sonde::uplink::http_date(1835438400) == "Tue, 29 Feb 2028 12:00:00 GMT");
    TempDir dir;
    Console console;
    std::mutex mu;
    std::vector<std::string> dates, types;
    testing::TlsServer server([&](const auto &r) {
        std::lock_guard lock(mu);
        dates.push_back(r.headers.count("date") ? r.headers.at("date") : "");
        types.push_back(r.headers.count("content-type") ? r.headers.at("content-type") : "");
        return console(r);
    });
    for (uint64_t s = 1; s <= 3; ++s) write_snapshot(dir.str(), "0310001A", s);
    Rig rig(config_for(server, dir.str()));
    const int64_t before = std::time(nullptr);
    const bool ran = rig.engine->run_once(kT0);
    std::string logs;
    for (const std::string &l : rig.logs) logs += l + "\n";
    INFO(logs);
    CHECK(ran);
    const int64_t after = std::time(nullptr);
    std::lock_guard lock(mu);
    REQUIRE(dates.size() == 3);
    for (size_t i = 0; i < dates.size(); ++i) {
        INFO(dates[i]);
        bool within = false;  // the wall clock of the request, not the engine's injected one
        for (int64_t t = before; t <= after; ++t) within |= dates[i] == sonde::uplink::http_date(t);
        CHECK(within);
        CHECK(types[i] == "application/vnd.sonde.snapshot");  // the fixed headers stay
    }
}

TEST_CASE("uplink configuration: required names, unknown names refused") {
    Config c;
    std::string error;
    CHECK(parse_config("url = https://console.example:8443\npin = sha256//x\nspool_dir = /s\n", c,
                       &error));
    CHECK(c.interval_ms == 15 * 60'000);
    CHECK_FALSE(parse_config("url = https://c\nspool_dir = /s\n", c, &error));  // no pin, no CA
    CHECK(error.find("pin or ca_file") != std::string::npos);
    CHECK_FALSE(
        parse_config("url = https://c\npin = p\nspool_dir = /s\ncolour = blue\n", c, &error));
    CHECK(error.find("unknown name") != std::string::npos);
    CHECK_FALSE(parse_config("url = https://c\npin = p\nspool_dir = relative\n", c, &error));
    TransportConfig t;
    t.url = "http://console.example";
    t.pin = testing::unrelated_pin();
    CHECK_FALSE(make_curl_transport(t, &error));  // https only
    t.url = "https://console.example/v1";
    CHECK_FALSE(make_curl_transport(t, &error));  // no path
    t.url = "https://console.example";
    t.pin = "sha256//short";
    CHECK_FALSE(make_curl_transport(t, &error));
}

TEST_CASE("sonde-ctl upload flushes a spool by hand and says whether something is left") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    for (uint64_t s = 1; s <= 3; ++s) write_snapshot(dir.str(), "0310001A", s);
    std::ostringstream out, err;
    CHECK(ctl::run({"upload", dir.str(), "--url", server.url(), "--pin", testing::unrelated_pin()},
                   {out, err}) == ctl::kExitFailure);
    CHECK(server.requests() == 0);
    CHECK(ctl::run({"upload", dir.str(), "--url", server.url(), "--pin", server.pin()},
                   {out, err}) == ctl::kExitOk);
    CHECK(console.received == std::vector<uint64_t>{3, 1, 2});
    CHECK(out.str().find("stored=3") != std::string::npos);
    CHECK(ctl::run({"upload", dir.str(), "--url", server.url()}, {out, err}) == ctl::kExitUsage);
}

TEST_CASE("sonde-ctl status --config-dir shows each base's backlog and the uplink's last outcome") {
    TempDir dir;
    fs::create_directory(dir.path() / "conf");
    fs::create_directory(dir.path() / "shm");
    fs::create_directory(dir.path() / "spool");
    const std::string spool = dir.str() + "/spool";
    BaseConfig bc;
    bc.enabled = true;
    bc.secret = {1, 2};
    bc.snapshots.spool_dir = spool;
    bc.snapshots.console_public_key = dir.str() + "/console.pub";
    bc.snapshots.sender_key = dir.str() + "/server.key";
    std::string error;
    REQUIRE(save_config(config_path(dir.str() + "/conf", "0310001A"), bc, &error));
    Console console;
    int answered = 0;
    testing::TlsServer server([&](const testing::HttpRequest &r) {
        if (answered++ == 1) return testing::HttpReply{503, "{}", {{"Retry-After", "60"}}};
        return console(r);
    });
    for (uint64_t s = 1; s <= 3; ++s) write_snapshot(spool, "0310001A", s);
    // The uplink finds the spool through the base's configuration.
    Config c = config_for(server, spool);
    c.spool_dirs.clear();
    c.config_dirs = {dir.str() + "/conf"};
    Rig rig(c);
    rig.engine->step(kT0);
    const int64_t slot = first_slot("0310001A");
    rig.engine->step(slot);          // stored (the newest)
    rig.engine->step(slot + 1'500);  // 503
    rig.engine->write_status(slot + 1'500, true);
    std::ostringstream out, err;
    REQUIRE(ctl::run({"status", "--shm-dir", dir.str() + "/shm", "--config-dir",
                      dir.str() + "/conf", "--format", "json"},
                     {out, err}) == ctl::kExitOk);
    const Json st = Json::parse(out.str());
    const Json &up = st["configured"][0]["uplink"];
    CHECK(up["backlog_files"] == 2);
    CHECK(up["backlog_bytes"].get<uint64_t>() > 2 * snapshot::kOverhead);
    CHECK(up["oldest_created"] == 1'795'510'800 + 900);
    CHECK(up["last_success"] == slot / 1000);
    CHECK(up["last_error_at"] == (slot + 1'500) / 1000);
    CHECK(up["last_error"].get<std::string>().find("retry") == 0);
    CHECK(up["next_attempt"] == (slot + 1'500 + 60'000) / 1000);
    CHECK(up["counts"]["stored"] == 1);
    CHECK(up["counts"]["retry"] == 1);
    std::ostringstream table;
    REQUIRE(
        ctl::run({"status", "--shm-dir", dir.str() + "/shm", "--config-dir", dir.str() + "/conf"},
                 {table, err}) == ctl::kExitOk);
    CHECK(table.str().find("uplink: backlog 2 files") != std::string::npos);
    CHECK(table.str().find("next attempt") != std::string::npos);
}

// Not run by ctest (hidden tag): the measure of docs/delivery.md#cost-and-throughput.
//   build/tests/uplink/sonde_uplink_tests "[.bench]"
TEST_CASE("bench: 500 bases x 4 files over loopback HTTPS", "[.bench]") {
    TempDir dir;
    Console console;
    testing::TlsServer server([&](const auto &r) { return console(r); });
    constexpr int kBases = 500, kFiles = 4;
    uint64_t bytes = 0;
    std::mt19937_64 rng(7);
    for (int b = 0; b < kBases; ++b) {
        char uai[9];
        std::snprintf(uai, sizeof uai, "%07d%c", 310000 + b, 'A' + b % 26);
        for (int s = 1; s <= kFiles; ++s) {
            snapshot::SealParams p;
            p.recipient_public = keys().console.public_key;
            p.sender = keys().school;
            p.base_id = uai;
            p.sequence = uint64_t(s);
            p.created_unix = 1'795'510'800 + s * 900;
            std::vector<uint8_t> payload(3'500);  // a sealed snapshot is ~3.5 KB (snapshot.md)
            for (auto &x : payload) x = uint8_t(rng());
            snapshot::Bytes file;
            snapshot::Receipt receipt{};
            std::string error;
            REQUIRE(snapshot::seal_snapshot(payload, p, file, &error, &receipt));
            const std::string name = spool_name(uai, uint64_t(s), p.created_unix);
            std::ofstream(dir.str() + "/" + stem(name) + ".receipt") << hex(receipt) << "\n";
            std::ofstream(dir.str() + "/" + name, std::ios::binary)
                .write(reinterpret_cast<const char *>(file.data()), std::streamsize(file.size()));
            bytes += file.size();
        }
    }
    Rig rig(config_for(server, dir.str()));
    timespec c0{}, c1{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    const auto w0 = std::chrono::steady_clock::now();
    // The daemon's loop: every base due at once (a catch-up), one file per base per round.
    int64_t now = kT0 + kInterval;
    rig.engine->step(kT0);
    int rounds = 0;
    while (console.received.size() < size_t(kBases * kFiles) && rounds < 100) {
        now = std::max(now, rig.engine->step(now));
        ++rounds;
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double cpu = double(c1.tv_sec - c0.tv_sec) + double(c1.tv_nsec - c0.tv_nsec) / 1e9;
    REQUIRE(console.received.size() == size_t(kBases * kFiles));
    std::printf(
        "%d files (%llu bytes) in %.2f s wall: %.0f files/s; uplink thread CPU %.3f s, "
        "%.3f ms per file (TLS, reading, deleting, status files); %d connection(s)\n",
        kBases * kFiles, (unsigned long long)bytes, wall, kBases * kFiles / wall, cpu,
        cpu * 1000 / (kBases * kFiles), server.connections());
}
