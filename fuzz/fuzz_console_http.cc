// Fuzzes sonde-console's request handling: raw HTTP/1.1 bytes, parsed by Beast as the server
// parses them (header limit, then the body limit of the request's kind), then answered by the
// same two steps as the server (console/dispatch.hpp): the upload API with its checks before
// any cryptography, /healthz, /metrics, and the web pages behind the login. Everything runs
// against real parts in a scratch folder: a key registry, the inbox, the accounts and figures
// in SQLite, a collectivité with one establishment and a logged-in administrator.
//
// Two placeholders let mutations reach past what they cannot forge: "@SESSION@" becomes the
// administrator's session id (so the pages and exports are fuzzed, not only the login page),
// "@SEALED@" becomes a snapshot of 0310001A (sequence 7) sealed with the registered keys, and
// "@SEALED_LENGTH@" its length.
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "accounts.hpp"
#include "accounts_web.hpp"
#include "crypto/x25519_openssl.hpp"
#include "dispatch.hpp"
#include "handler.hpp"
#include "inbox.hpp"
#include "keyring.hpp"
#include "metrics.hpp"
#include "reader.hpp"
#include "registry.hpp"
#include "scratch.hpp"
#include "snapshot/console.hpp"
#include "snapshot/envelope.hpp"
#include "snapshot/keys.hpp"
#include "sonde_catalog.h"
#include "store.hpp"
#include "web.hpp"
#include "web/pages.hpp"

namespace {

namespace http = boost::beast::http;
using namespace sonde::console;

constexpr const char *kBase = "0310001A";

void require(bool ok) {
    if (!ok) __builtin_trap();  // the fixture itself failed: nothing to fuzz
}

struct Console {
    std::string dir;
    Config config;
    Keyring keyring;
    std::unique_ptr<KeyRegistry> registry;
    std::unique_ptr<Inbox> inbox;
    Metrics metrics;
    std::unique_ptr<Store> store;
    std::unique_ptr<Accounts> accounts;
    std::unique_ptr<Reader> reader;
    std::unique_ptr<WebApp> web;
    std::unique_ptr<Handler> handler;
    std::string session, sealed;

    Console() {
        sonde::crypto::set_x25519_implementation(sonde::crypto::openssl_x25519);
        dir = sonde::fuzz::scratch_dir("sonde-fuzz-http-");
        std::filesystem::create_directories(dir + "/data");
        const std::string a = "sonde fuzz: console key", b = "sonde fuzz: sender key";
        const auto console_key =
            sonde::crypto::derive_key_pair({reinterpret_cast<const uint8_t *>(a.data()), a.size()});
        const auto sender_key =
            sonde::crypto::derive_key_pair({reinterpret_cast<const uint8_t *>(b.data()), b.size()});
        std::string error, id;
        require(sonde::snapshot::save_key_pair(dir + "/console.key", console_key, true, &error));
        require(sonde::snapshot::save_public_key(dir + "/sender.pub", sender_key.public_key, true,
                                                 &error));
        config.data_dir = dir + "/data";
        config.console_keys = {dir + "/console.key"};
        config.rate_limit_per_base = 0;  // one client sends everything: no 429 to hide the rest
        config.login_rate_per_address = 0;
        require(keyring.load(config.console_keys, &error));
        registry = std::make_unique<KeyRegistry>(config.data_dir);
        require(registry->add(kBase, dir + "/sender.pub", id, &error));
        inbox = std::make_unique<Inbox>(config.data_dir);
        require(inbox->init(&error));
        handler = std::make_unique<Handler>(config, keyring, *registry, *inbox, metrics, nullptr);

        const std::string figures = config.data_dir + "/figures.sqlite";
        store = open_sqlite_store(figures, &error);
        require(store != nullptr);
        accounts = Accounts::open(config, &error);
        require(accounts != nullptr);
        require(accounts->add_collectivite({"D031", "Haute-Garonne"}, &error));
        require(accounts->import_establishment({kBase, "Collège Fuzz", "Toulouse", "Europe/Paris"},
                                               "D031", &error));
        User admin;
        admin.email = "admin@d031.fr";
        admin.collectivite = "D031";
        admin.name = "Admin";
        admin.administrator = admin.confirmed = true;
        require(accounts->create_user(admin, &error) == Accounts::Outcome::Ok);
        const auto id_of_session = accounts->create_session(admin.email, std::time(nullptr));
        require(id_of_session.has_value());
        session = *id_of_session;
        reader = open_sqlite_reader(figures, &error);
        require(reader != nullptr);
        web = std::make_unique<WebApp>(config, *accounts);
        web->set_pages([this](const WebRequest &req, const Principal &who,
                              const sonde::console::PageContext &s) -> std::optional<Answer> {
            if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
            const web::PageContext context{reader.get(), int64_t(std::time(nullptr)),
                                           s.header_html};
            Answer answer = web::render_page(who, req.target, context);
            if (answer.status == 404) return std::nullopt;
            return answer;
        });

        sonde::snapshot::SealParams sp;
        sp.recipient_public = console_key.public_key;
        sp.sender = sender_key;
        sp.base_id = kBase;
        sp.sequence = 7;
        sp.created_unix = 1795511220;
        sonde::snapshot::v1::Snapshot snapshot;
        snapshot.set_base_id(kBase);
        snapshot.set_sequence(7);
        snapshot.set_created_unix(1795511220);
        snapshot.set_schema_hash(SONDE_SCHEMA_HASH);  // the console's catalogue: applicable
        snapshot.set_catalog_version(SONDE_CATALOG_VERSION);
        sonde::snapshot::Bytes file;
        const std::string serialized = snapshot.SerializeAsString();
        require(sonde::snapshot::seal_snapshot(
            {reinterpret_cast<const uint8_t *>(serialized.data()), serialized.size()}, sp, file,
            &error));
        sealed.assign(file.begin(), file.end());
    }
};

Console &console() {
    static Console c;
    return c;
}

std::string substitute(std::string text, std::string_view mark, const std::string &value) {
    for (size_t at = text.find(mark); at != std::string::npos;
         at = text.find(mark, at + value.size()))
        text.replace(at, mark.size(), value);
    return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Console &c = console();
    std::string bytes(reinterpret_cast<const char *>(data), size);
    bytes = substitute(std::move(bytes), "@SESSION@", c.session);
    bytes = substitute(std::move(bytes), "@SEALED_LENGTH@", std::to_string(c.sealed.size()));
    bytes = substitute(std::move(bytes), "@SEALED@", c.sealed);

    http::request_parser<http::vector_body<uint8_t>> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(UINT64_MAX);  // as the server: checked against the declared length first
    parser.eager(false);
    boost::system::error_code ec;
    size_t used = 0;
    while (!parser.is_header_done()) {
        const size_t n =
            parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
        if (ec || n == 0) return 0;  // the server answers 400 or waits for more: nothing else
        used += n;
    }
    auto &req = parser.get();
    const std::string method(req.method_string()), target(req.target()),
        content_type(req[http::field::content_type]), cookie(req[http::field::cookie]);
    Handler::Head head{method, target, content_type, std::nullopt, parser.chunked(), "127.0.0.1"};
    if (const auto length = parser.content_length()) head.content_length = *length;

    std::optional<Answer> answer = answer_before_body(c.config, *c.handler, c.web.get(), head);
    if (!answer) {
        parser.body_limit(body_limit(c.config, c.web.get(), head));
        parser.eager(true);
        while (!parser.is_done()) {
            const size_t n =
                parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
            if (ec == http::error::need_more && used == bytes.size()) {
                parser.put_eof(ec);
                if (!parser.is_done()) return 0;  // a truncated body: the server times out
                break;
            }
            if (ec && ec != http::error::need_more) return 0;
            if (n == 0 && used == bytes.size()) return 0;
            used += n;
        }
        answer = answer_with_body(*c.handler, c.web.get(), head, cookie, req.body());
    }
    // What every answer promises: a real status, and a body that says something.
    if (answer->status < 100 || answer->status > 599) __builtin_trap();
    if (answer->content_type.empty()) __builtin_trap();
    return 0;
}
