#include "service.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "fixtures.hpp"
#include "snapshot/keys.hpp"

namespace console_test {
namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string &path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs argv, stdout and stderr to `out_path`; returns its status.
int spawn_wait(const std::vector<std::string> &args, const std::string &out_path) {
    const pid_t pid = spawn(args, out_path, false);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

size_t collect(char *data, size_t size, size_t n, void *user) {
    static_cast<std::string *>(user)->append(data, size * n);
    return size * n;
}

size_t header_line(char *data, size_t size, size_t n, void *user) {
    std::string line(data, size * n);
    if (line.size() > 12 && strncasecmp(line.c_str(), "Retry-After:", 12) == 0) {
        std::string v = line.substr(12);
        v.erase(0, v.find_first_not_of(' '));
        v.erase(v.find_last_not_of("\r\n ") + 1);
        *static_cast<std::string *>(user) = v;
    }
    return size * n;
}

struct Source {
    const std::vector<uint8_t> *bytes = nullptr;
    size_t offset = 0;
    uint64_t declared = 0;
    uint64_t *sent = nullptr;
};

size_t provide(char *out, size_t size, size_t n, void *user) {
    Source &s = *static_cast<Source *>(user);
    if (s.bytes) {
        const size_t k = std::min(size * n, s.bytes->size() - s.offset);
        std::memcpy(out, s.bytes->data() + s.offset, k);
        s.offset += k;
        return k;
    }
    const size_t k = size_t(std::min<uint64_t>(size * n, s.declared - *s.sent));
    std::memset(out, 'x', k);
    *s.sent += k;
    return k;
}

// Runs one statement on the test database (PostgreSQL runs only).
void admin(const std::string &sql) {
    PGconn *c = PQconnectdb(postgres_conninfo().c_str());
    INFO((c ? PQerrorMessage(c) : "out of memory"));
    REQUIRE((c && PQstatus(c) == CONNECTION_OK));
    PGresult *r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string error = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    INFO(sql << ": " << error);
    REQUIRE(ok);
}

}  // namespace

pid_t spawn(const std::vector<std::string> &args, const std::string &out_path, bool append) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int fd =
            ::open(out_path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
        }
        std::vector<char *> argv;
        for (const std::string &a : args) argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

Dir::Dir() {
    std::string tmpl = (fs::temp_directory_path() / "sonde-console-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
}

Dir::~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

Setup::Setup() {
    cert = dir.path + "/cert.pem";
    tls_key = dir.path + "/tls.key";
    console_key = dir.path + "/console.key";
    data = dir.path + "/data";
    store.sqlite_path = data + "/figures.sqlite";
    if (postgres()) {
        // A schema of its own per test, so that runs side by side and reruns start clean.
        std::random_device random;
        char name[40];
        std::snprintf(name, sizeof name, "sonde_test_%08x%08x", random(), random());
        store.schema = name;
        admin("CREATE SCHEMA " + store.schema);
    }
    const int rc = spawn_wait(
        {SONDE_OPENSSL_CLI, "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tls_key, "-out", cert, "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"},
        dir.path + "/openssl.log");
    INFO(read_text(dir.path + "/openssl.log"));
    REQUIRE(rc == 0);
    std::string error;
    INFO(error);
    REQUIRE(sonde::snapshot::save_key_pair(console_key, fixtures::keys().console, false, &error));
}

Setup::~Setup() {
    if (store.schema.empty()) return;
    PGconn *c = PQconnectdb(postgres_conninfo().c_str());
    if (c && PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, ("DROP SCHEMA " + store.schema + " CASCADE").c_str()));
    PQfinish(c);
}

int Setup::register_key(const std::string &base, const sonde::crypto::KeyPair &key) {
    const std::string pub = dir.path + "/" + base + "-" +
                            sonde::snapshot::to_hex(sonde::snapshot::key_id(key.public_key)) +
                            ".pub";
    std::string error;
    if (!fs::exists(pub))
        REQUIRE(sonde::snapshot::save_public_key(pub, key.public_key, false, &error));
    return run_cli({"keys", "add", base, pub});
}

std::string Setup::config(const std::string &extra) const {
    static int n = 0;
    const std::string path = dir.path + "/console" + std::to_string(++n) + ".conf";
    std::ofstream out(path);
    out << "listen = " << listen << "\n"
        << "port_file = " << dir.path << "/port" << n << "\n"
        << "tls_certificate = " << cert << "\n"
        << "tls_private_key = " << tls_key << "\n"
        << "console_key = " << console_key << "\n"
        << "data_dir = " << data << "\n"
        << "min_free_bytes = 0\n";
    if (!store.schema.empty())
        out << "store = postgresql\n"
            << "postgresql = " << postgres_conninfo() << " options='-c search_path=" << store.schema
            << "'\n";
    out << extra;
    return path;
}

int Setup::run_cli(const std::vector<std::string> &args, std::string *out) const {
    std::vector<std::string> argv{SONDE_CONSOLE_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(config(""));
    const std::string out_path = dir.path + "/cli.out";
    const int rc = spawn_wait(argv, out_path);
    if (out) *out = read_text(out_path);
    return rc;
}

Service::Service(const Setup &setup, const std::string &extra) {
    const std::string config = setup.config(extra);
    // The port file named in that config: "port_file = DIR/portN".
    std::string port_file;
    {
        std::ifstream in(config);
        for (std::string line; std::getline(in, line);)
            if (line.starts_with("port_file = ")) port_file = line.substr(12);
    }
    log_path_ = config + ".log";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) ::dup2(fd, 2);
        ::execl(SONDE_CONSOLE_PATH, SONDE_CONSOLE_PATH, "serve", "--config", config.c_str(),
                static_cast<char *>(nullptr));
        ::_exit(127);
    }
    // Hang guard only: the service writes its port once listening.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string text = read_text(port_file);
        if (!text.empty() && text.back() == '\n') {
            port_ = uint16_t(std::stoul(text));
            break;
        }
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO(log());
    REQUIRE(port_ != 0);
}

Service::~Service() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
}

void Service::kill9() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string Service::url(const std::string &path) const {
    return "https://127.0.0.1:" + std::to_string(port_) + path;
}

std::string Service::log() const { return read_text(log_path_); }

Client::Client(const Setup &setup) : curl_(curl_easy_init()), ca_(setup.cert) { REQUIRE(curl_); }

Client::~Client() { curl_easy_cleanup(static_cast<CURL *>(curl_)); }

static Reply perform(CURL *c, const std::string &ca, const std::string &url) {
    Reply r;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);  // hang guard
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.retry_after);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) r.error = curl_easy_strerror(rc);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
}

Reply Client::put(const std::string &url, const std::vector<uint8_t> &body,
                  const std::string &content_type, const std::vector<std::string> &more) {
    CURL *c = static_cast<CURL *>(curl_);
    curl_easy_reset(c);
    Source source{&body};
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, provide);
    curl_easy_setopt(c, CURLOPT_READDATA, &source);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.size()));
    curl_slist *headers = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
    headers = curl_slist_append(headers, "Expect:");
    for (const std::string &h : more) headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    Reply r = perform(c, ca_, url);
    curl_slist_free_all(headers);
    return r;
}

Reply Client::get(const std::string &url) {
    CURL *c = static_cast<CURL *>(curl_);
    curl_easy_reset(c);
    return perform(c, ca_, url);
}

Reply Client::put_declared(const std::string &url, uint64_t declared, uint64_t &sent) {
    CURL *c = static_cast<CURL *>(curl_);
    curl_easy_reset(c);
    sent = 0;
    Source source{nullptr, 0, declared, &sent};
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, provide);
    curl_easy_setopt(c, CURLOPT_READDATA, &source);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(declared));
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
    curl_slist *headers =
        curl_slist_append(nullptr, "Content-Type: application/vnd.sonde.snapshot");
    headers = curl_slist_append(headers, "Expect: 100-continue");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    Reply r = perform(c, ca_, url);
    curl_slist_free_all(headers);
    return r;
}

uint64_t journal_bytes(const std::string &data_dir) {
    uint64_t n = 0;
    std::error_code ec;
    for (const auto &f : fs::directory_iterator(data_dir + "/journal", ec))
        if (f.path().extension() == ".journal") {
            std::error_code gone;  // a segment retired meanwhile
            const uintmax_t size = fs::file_size(f.path(), gone);
            if (!gone) n += size;
        }
    return n;
}

}  // namespace console_test
