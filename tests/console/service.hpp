#pragma once
// A real sonde-console process for the tests: its own data directory, TLS certificate and
// configuration, an ephemeral loopback port; and an HTTPS client (libcurl) that keeps its
// connection, as the uplink does.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "figures.hpp"
#include "snapshot/envelope.hpp"

namespace console_test {

// Starts argv (argv[0] a path), its stdout and stderr to `out_path` (appended or truncated).
pid_t spawn(const std::vector<std::string> &args, const std::string &out_path, bool append);

struct Dir {
    Dir();
    ~Dir();
    std::string path;
};

// The files every service of a test shares: certificate, keys, data directory, and its store:
// DATA/figures.sqlite, or with --store postgresql a fresh schema of the test database, dropped
// at the end.
struct Setup {
    Setup();
    ~Setup();
    Setup(const Setup &) = delete;
    Setup &operator=(const Setup &) = delete;
    Dir dir;
    std::string cert, tls_key, console_key, data;
    StoreRef store;
    std::string listen = "127.0.0.1:0";  // a fixed port to come back on after an outage
    // Registers `public_key` for `base` with `sonde-console keys add`; returns its exit code.
    int register_key(const std::string &base, const sonde::crypto::KeyPair &key);
    std::string config(const std::string &extra) const;  // writes a config file, returns path
    int run_cli(const std::vector<std::string> &args, std::string *out = nullptr) const;
};

class Service {
  public:
    Service(const Setup &setup, const std::string &extra_config = "");
    ~Service();
    void kill9();
    uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    std::string url(const std::string &path) const;
    std::string log() const;

  private:
    pid_t pid_ = -1;
    uint16_t port_ = 0;
    std::string log_path_;
};

struct Reply {
    long status = 0;
    std::string body;
    std::string retry_after;
    std::string error;  // curl's, if the transfer failed
};

class Client {
  public:
    explicit Client(const Setup &setup);
    ~Client();
    Reply put(const std::string &url, const std::vector<uint8_t> &body,
              const std::string &content_type = "application/vnd.sonde.snapshot",
              const std::vector<std::string> &headers = {});
    Reply get(const std::string &url);
    // Declares `declared` bytes and offers them only after a 100 Continue; `sent` counts the
    // body bytes curl asked for.
    Reply put_declared(const std::string &url, uint64_t declared, uint64_t &sent);

  private:
    void *curl_;
    std::string ca_;
};

// Bytes in the console's journal segments (docs/delivery.md#the-journal); a record is at least
// a 40-byte header.
uint64_t journal_bytes(const std::string &data_dir);

}  // namespace console_test
