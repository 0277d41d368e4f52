// sonde-console: the Console territoriale's receiving service (docs/delivery.md).
//   sonde-console serve --config FILE
//   sonde-console keys add UAI PUBLIC_KEY_FILE --config FILE
//   sonde-console keys import LIST_FILE --config FILE
//   sonde-console keys revoke UAI KEY_ID --config FILE
//   sonde-console keys list --config FILE
//   sonde-console reingest --config FILE
//   sonde-console collectivites add ID NAME... --config FILE
//   sonde-console collectivites list --config FILE
//   sonde-console establishments import FILE --config FILE
//   sonde-console users add-admin --collectivite ID --email EMAIL [--name N] [--first-name F]
//   sonde-console audit list [--collectivite ID] --config FILE

#include <sodium.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "accounts.hpp"
#include "accounts_web.hpp"
#include "config.hpp"
#include "crypto/x25519_openssl.hpp"
#include "handler.hpp"
#include "inbox.hpp"
#include "ingestor.hpp"
#include "keyring.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "password.hpp"
#include "pdf.hpp"
#include "reader.hpp"
#include "registry.hpp"
#include "server.hpp"
#include "store.hpp"
#include "web/pages.hpp"

namespace sonde::console {
namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitUsage = 2;

const char *kUsage =
    "usage: sonde-console serve --config FILE\n"
    "       sonde-console keys add UAI PUBLIC_KEY_FILE --config FILE\n"
    "       sonde-console keys import LIST_FILE --config FILE   (lines \"UAI PUBLIC_KEY_FILE\")\n"
    "       sonde-console keys revoke UAI KEY_ID --config FILE\n"
    "       sonde-console keys list --config FILE\n"
    "       sonde-console reingest --config FILE\n"
    "       sonde-console collectivites add ID NAME... --config FILE\n"
    "       sonde-console collectivites list --config FILE\n"
    "       sonde-console establishments import FILE --config FILE\n"
    "             (tab-separated lines: UAI, name, commune[, time zone[, collectivité id]])\n"
    "       sonde-console users add-admin --collectivite ID --email EMAIL [--name NAME]\n"
    "             [--first-name FIRST_NAME] --config FILE   (prints the invitation link)\n"
    "       sonde-console audit list [--collectivite ID] --config FILE\n"
    "Receives sealed snapshots over HTTPS, keeps them in a durable inbox, acknowledges them\n"
    "with receipts and applies them to an SQLite or PostgreSQL database (docs/delivery.md).\n";

// An image as a data: URI (the logo in the PDF export).
std::string data_uri(const std::string &type, const std::string &bytes) {
    std::string b64(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char *>(bytes.data()),
                      bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    b64.resize(std::strlen(b64.c_str()));
    return "data:" + type + ";base64," + b64;
}

int fail(const std::string &message) {
    std::fprintf(stderr, "sonde-console: %s\n", message.c_str());
    return kExitFailure;
}

std::unique_ptr<Store> open_store(const Config &config, std::string *error) {
    if (config.store == Config::StoreKind::Postgresql)
        return open_postgres_store(config.postgresql, error);
    return open_sqlite_store(config.data_dir + "/figures.sqlite", error);
}

int serve(const Config &config) {
    std::string error;
    Keyring keyring;
    if (!keyring.load(config.console_keys, &error)) return fail(error);
    KeyRegistry registry(config.data_dir);
    Inbox inbox(config.data_dir, config.journal_segment_bytes, config.max_body_bytes);
    if (!inbox.init(&error)) return fail(error);
    Metrics metrics;
    metrics.set_journal([&inbox] { return inbox.journal_stats(); });
    std::unique_ptr<Store> store;
    std::unique_ptr<Ingestor> ingestor;
    if (config.ingest) {
        store = open_store(config, &error);
        if (!store) return fail(error);
        ingestor = std::make_unique<Ingestor>(keyring, registry, inbox, *store, metrics,
                                              config.max_uncompressed_bytes, config.ingest_batch,
                                              config.ingest_nice);
    } else {
        log(Level::Warn, "ingest = off: files are acknowledged and kept, not applied");
    }
    std::unique_ptr<Accounts> accounts = Accounts::open(config, &error);
    if (!accounts) return fail("accounts: " + error);
    WebApp web(config, *accounts);
    // The figure pages behind the login (docs/console.md), on a read connection of their own.
    std::unique_ptr<Reader> reader =
        config.store == Config::StoreKind::Sqlite
            ? open_sqlite_reader(config.data_dir + "/figures.sqlite", &error)
            : open_postgres_reader(config.postgresql, &error);
    if (!reader)
        log(Level::Warn, "pages: cannot read the figures (" + error + "); they answer 500");
    PdfOptions pdf;
    pdf.program = config.pdf_program;
    pdf.timeout_seconds = config.pdf_timeout;
    pdf.max_bytes = config.max_pdf_bytes;
    pdf.max_concurrent = config.pdf_concurrency;
    if (const char *tmp = std::getenv("TMPDIR"); tmp && *tmp == '/') pdf.temp_dir = tmp;
    web.set_pages([&reader, &accounts, &pdf](const WebRequest &req, const Principal &who,
                                             const PageContext &session) -> std::optional<Answer> {
        if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
        web::PageContext context;
        context.reader = reader.get();
        context.now_unix = int64_t(std::time(nullptr));
        context.header_html = session.header_html;
        context.pdf = &pdf;
        // "/pdf", "/pdf?..." (the home) and "/pdf/...": the pages' own prefix rule.
        auto under = [&](const char *prefix) {
            const std::string_view t(req.target), p(prefix);
            return t.starts_with(p) &&
                   (t.size() == p.size() || t[p.size()] == '/' || t[p.size()] == '?');
        };
        const bool is_pdf = under("/pdf");
        if (is_pdf)  // the logo inline: the converter fetches nothing
            if (auto logo = accounts->logo(who.collectivite))
                context.logo_data_uri = data_uri(logo->first, logo->second);
        Answer a = web::render_page(who, req.target, context);
        if (a.status == 404) return std::nullopt;  // not a figure page: the accounts' pages
        // Exports are audited when they are served (a HEAD serves nothing).
        if (a.status == 200 && req.method == "GET" && under("/csv"))
            session.audit("export.csv", req.target);
        if (a.status == 200 && req.method == "GET" && is_pdf)
            session.audit("export.pdf", req.target);
        return a;
    });
    Handler handler(config, keyring, registry, inbox, metrics, ingestor.get());
    Server server(config, handler, metrics, &web);
    if (!server.start(&error)) return fail(error);
    if (ingestor) ingestor->start();
    server.run();
    if (ingestor) ingestor->stop();
    log(Level::Info, "stopped");
    return kExitOk;
}

int reingest(const Config &config) {
    std::string error;
    Keyring keyring;
    if (!keyring.load(config.console_keys, &error)) return fail(error);
    KeyRegistry registry(config.data_dir);
    Inbox inbox(config.data_dir, config.journal_segment_bytes, config.max_body_bytes);
    // With the service stopped, reingest takes the journal too (the acknowledged files not
    // archived yet); while it runs, the journal is the service's and reingest reads the archive.
    bool journal = true;
    if (!inbox.init(&error)) {
        if (error.find("in use") == std::string::npos) return fail(error);
        log(Level::Info, "reingest: " + error + " (the service runs): the archive only");
        journal = false;
    }
    std::unique_ptr<Store> store = open_store(config, &error);
    if (!store) return fail(error);
    Metrics metrics;
    Ingestor ingestor(keyring, registry, inbox, *store, metrics, config.max_uncompressed_bytes,
                      config.ingest_batch);
    if (journal) {
        std::vector<FileRef> waiting = inbox.pending();
        for (const FileRef &ref : inbox.journaled()) waiting.push_back(ref);
        if (!ingestor.apply_pending_files(waiting, &error)) return fail(error);
    }
    const std::vector<FileRef> files = inbox.all();
    if (!ingestor.apply_inbox_files(files, &error)) return fail(error);
    std::printf("reapplied %zu files\n", files.size());
    return kExitOk;
}

// `keys import LIST`: one "UAI PUBLIC_KEY_FILE" per line ('#' comments and blank lines
// skipped), each registered as `keys add` does, in one process. Each key file is fsynced as by
// `keys add`; several threads register at once so that the file system commits their fsyncs
// together. A key already registered for its UAI is counted and skipped (so an import can be run
// again); any other failure is reported with its line and makes the exit status 1, the other
// lines being registered all the same.
int import_keys(KeyRegistry &registry, const std::string &list_path) {
    std::ifstream in(list_path);
    if (!in) return fail("cannot read " + list_path);
    struct Line {
        size_t number;
        std::string base, file, error;
        enum { Pending, Added, Already, Failed } outcome = Pending;
    };
    std::vector<Line> lines;
    std::string text;
    for (size_t number = 1; std::getline(in, text); ++number) {
        std::istringstream words(text);
        Line l{number, {}, {}, {}};
        std::string extra;
        if (!(words >> l.base) || l.base.starts_with("#")) continue;
        if (!(words >> l.file) || (words >> extra)) {
            l.error = "expected \"UAI PUBLIC_KEY_FILE\"";
            l.outcome = Line::Failed;
        }
        lines.push_back(std::move(l));
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
        std::string id;
        for (size_t i; (i = next++) < lines.size();) {
            Line &l = lines[i];
            if (l.outcome != Line::Pending) continue;
            bool already = false;
            if (registry.add(l.base, l.file, id, &l.error, &already))
                l.outcome = Line::Added;
            else
                l.outcome = already ? Line::Already : Line::Failed;
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) threads.emplace_back(work);
    for (std::thread &t : threads) t.join();
    size_t added = 0, skipped = 0, failed = 0;
    for (const Line &l : lines) {
        added += l.outcome == Line::Added;
        skipped += l.outcome == Line::Already;
        if (l.outcome == Line::Failed) {
            ++failed;
            std::fprintf(stderr, "sonde-console: %s:%zu: %s\n", list_path.c_str(), l.number,
                         l.error.c_str());
        }
    }
    std::printf("registered %zu keys, %zu already registered, %zu failed\n", added, skipped,
                failed);
    return failed ? kExitFailure : kExitOk;
}

int keys(const std::vector<std::string> &args, const Config &config) {
    KeyRegistry registry(config.data_dir);
    std::string error;
    if (args.size() == 1 && args[0] == "list") {
        for (const KeyRegistry::Entry &e : registry.list())
            std::printf("%s %s %s\n", e.base.c_str(), e.id_hex.c_str(),
                        e.revoked ? "revoked" : "active");
        return kExitOk;
    }
    if (args.size() == 2 && args[0] == "import") return import_keys(registry, args[1]);
    // keys add UAI PUBLIC_KEY_FILE, keys revoke UAI KEY_ID (the registry checks both words).
    if (args.size() == 3 && (args[0] == "add" || args[0] == "revoke")) {
        const bool add = args[0] == "add";
        const std::string &base = args[1];
        std::string id = args[2];
        if (!(add ? registry.add(base, args[2], id, &error) : registry.revoke(base, id, &error)))
            return fail(error);
        std::printf("%s key %s for %s\n", add ? "registered" : "revoked", id.c_str(), base.c_str());
        return kExitOk;
    }
    std::fputs(kUsage, stderr);
    return kExitUsage;
}

// "--name value" pairs of a command's words; false on an unknown or valueless flag.
bool flags(const std::vector<std::string> &words, size_t from,
           std::map<std::string, std::string> &out, std::initializer_list<const char *> allowed) {
    for (size_t i = from; i < words.size(); i += 2) {
        bool known = false;
        for (const char *a : allowed) known = known || words[i] == a;
        if (!known || i + 1 >= words.size()) return false;
        out[words[i]] = words[i + 1];
    }
    return true;
}

int usage() {
    std::fputs(kUsage, stderr);
    return kExitUsage;
}

std::vector<std::string> split_tabs(const std::string &line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        const size_t tab = line.find('\t', start);
        out.push_back(
            line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
    }
    for (std::string &f : out)
        while (!f.empty() && (f.back() == '\r' || f.back() == ' ')) f.pop_back();
    return out;
}

// collectivites, establishments, users, audit: the operator's commands on the accounts.
int accounts_command(const std::string &command, const std::vector<std::string> &words,
                     const Config &config) {
    std::string error;
    std::unique_ptr<Accounts> accounts = Accounts::open(config, &error);
    if (!accounts) return fail("accounts: " + error);
    const std::string verb = words.empty() ? "" : words[0];
    if (command == "collectivites" && verb == "add" && words.size() >= 3) {
        std::string name;
        for (size_t i = 2; i < words.size(); ++i) name += (i > 2 ? " " : "") + words[i];
        if (!accounts->add_collectivite({words[1], name}, &error)) return fail(error);
        std::printf("collectivité %s: %s\n", words[1].c_str(), name.c_str());
        return kExitOk;
    }
    if (command == "collectivites" && verb == "list" && words.size() == 1) {
        for (const Collectivite &c : accounts->collectivites())
            std::printf("%s\t%s\n", c.id.c_str(), c.name.c_str());
        return kExitOk;
    }
    if (command == "establishments" && verb == "import" && words.size() == 2) {
        std::ifstream in(words[1]);
        if (!in) return fail("cannot read " + words[1]);
        size_t imported = 0, failed = 0;
        std::string line;
        for (size_t number = 1; std::getline(in, line); ++number) {
            if (line.empty() || line.starts_with("#") || line == "\r") continue;
            const std::vector<std::string> f = split_tabs(line);
            std::string why =
                "expected 3 to 5 tab-separated fields: UAI, name, commune[, time "
                "zone[, collectivité]]";
            if (f.size() >= 3 && f.size() <= 5 &&
                accounts->import_establishment(
                    {f[0], f[1], f[2], f.size() > 3 && !f[3].empty() ? f[3] : "Europe/Paris"},
                    f.size() > 4 ? f[4] : "", &why)) {
                ++imported;
                continue;
            }
            ++failed;
            std::fprintf(stderr, "sonde-console: %s:%zu: %s\n", words[1].c_str(), number,
                         why.c_str());
        }
        std::printf("imported %zu establishments, %zu failed\n", imported, failed);
        return failed ? kExitFailure : kExitOk;
    }
    if (command == "users" && verb == "add-admin") {
        std::map<std::string, std::string> f;
        if (!flags(words, 1, f, {"--collectivite", "--email", "--name", "--first-name"}) ||
            !f.count("--collectivite") || !f.count("--email"))
            return usage();
        const std::optional<std::string> email = normal_email(f["--email"]);
        if (!email) return fail("not an e-mail address: " + f["--email"]);
        User u;
        u.email = *email;
        u.collectivite = f["--collectivite"];
        u.name = f.count("--name") ? f["--name"] : "";
        u.first_name = f.count("--first-name") ? f["--first-name"] : "";
        u.administrator = true;
        switch (accounts->create_user(u, &error)) {
            case Accounts::Outcome::Ok:
                break;
            case Accounts::Outcome::Exists:
                return fail("a user " + u.email + " exists already");
            case Accounts::Outcome::NotFound:
                return fail("no collectivité \"" + u.collectivite + "\"");
            default:
                return fail(error);
        }
        const int64_t now = int64_t(std::time(nullptr));
        const auto token = accounts->issue_token(u.email, "invitation", config.invitation_ttl, now);
        if (!token) return fail("cannot issue the invitation");
        accounts->audit(u.collectivite, "sonde-console users add-admin", "user.create",
                        "email=" + u.email + "; administrator=1", now);
        std::printf("administrator %s of %s created; invitation link (valid %u s):\n%s\n",
                    u.email.c_str(), u.collectivite.c_str(), config.invitation_ttl,
                    WebApp::link(config, "/invitation?token=" + *token).c_str());
        return kExitOk;
    }
    if (command == "audit" && verb == "list") {
        std::map<std::string, std::string> f;
        if (!flags(words, 1, f, {"--collectivite"})) return usage();
        for (const AuditRow &r : accounts->audit_rows(f["--collectivite"]))
            std::printf("%lld\t%s\t%s\t%s\t%s\n", static_cast<long long>(r.at_unix),
                        r.collectivite.c_str(), r.actor.c_str(), r.action.c_str(),
                        r.detail.c_str());
        return kExitOk;
    }
    return usage();
}

int run(int argc, char **argv) {
    std::vector<std::string> words;
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return kExitOk;
        }
        if (a == "--config") {
            if (i + 1 >= argc) break;
            config_path = argv[++i];
        } else if (a.starts_with("--config=")) {
            config_path = a.substr(9);
        } else {
            words.push_back(a);
        }
    }
    if (words.empty() || config_path.empty()) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    const std::string command = words.front();
    words.erase(words.begin());
    const bool accounts = command == "collectivites" || command == "establishments" ||
                          command == "users" || command == "audit";
    if (command != "serve" && command != "keys" && command != "reingest" && !accounts) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    if (command != "keys" && !accounts && !words.empty()) {
        std::fputs(kUsage, stderr);
        return kExitUsage;
    }
    Config config;
    std::string error;
    if (!load_config(config_path, config, command == "serve", &error)) return fail(error);
    if (!init_crypto()) return fail("libsodium initialisation failed");
    if (accounts) return accounts_command(command, words, config);
    if (command == "serve") return serve(config);
    if (command == "reingest") return reingest(config);
    return keys(words, config);
}

}  // namespace
}  // namespace sonde::console

int main(int argc, char **argv) {
    std::signal(SIGPIPE, SIG_IGN);
    // Opening a file takes two X25519 multiplications: OpenSSL's are 14 times cheaper than
    // mbedTLS's generic bignum ones (docs/delivery.md#cost-and-throughput-of-the-console).
    sonde::crypto::set_x25519_implementation(sonde::crypto::openssl_x25519);
    return sonde::console::run(argc, argv);
}
