#pragma once
// sonde-console's configuration file: one "name = value" per line, '#' comments, unknown names
// refused (docs/delivery.md#configuration).

#include <cstdint>
#include <string>
#include <vector>

namespace sonde::console {

struct Config {
    std::string listen_address = "0.0.0.0";
    uint16_t listen_port = 8443;
    std::string port_file;
    std::string tls_certificate;
    std::string tls_private_key;
    std::vector<std::string> console_keys;  // HPKE private key files, newest first
    std::string data_dir;
    unsigned threads = 16;  // an upload holds its thread through its fsyncs (delivery.md)
    unsigned max_connections = 256;
    uint64_t max_body_bytes = (4u << 20) + (64u << 10);
    uint64_t journal_segment_bytes = 64u << 20;  // the inbox journal's segment size
    uint64_t max_uncompressed_bytes = 4u << 20;
    unsigned handshake_timeout = 10, header_timeout = 10, body_timeout = 60, idle_timeout = 60;
    // A national 24-hour catch-up (960,000 files) fits (docs/delivery.md).
    uint64_t max_backlog = 1000000;
    uint64_t min_free_bytes = uint64_t{256} << 20;
    unsigned retry_after = 60;
    bool ingest = true;
    unsigned ingest_batch = 64;
    // The ingest thread's nice value: acknowledging uploads comes first when both want the CPU
    // (a catch-up); the ingestor applies the backlog when uploads leave it room.
    int ingest_nice = 10;
    enum class StoreKind { Sqlite, Postgresql };
    StoreKind store = StoreKind::Sqlite;  // sqlite: DATA/figures.sqlite
    std::string postgresql;               // libpq conninfo, with store = postgresql
    // Uploads per minute per (client address, UAI), sustained; 0: no limit (rate_limit_*).
    unsigned rate_limit_per_base = 60;
    unsigned rate_limit_burst = 300;
    uint64_t rate_limit_clients = 100000;  // buckets held at most
    // The web pages and their accounts (docs/console.md#accounts-and-rights).
    std::string public_url;  // the address in mailed links; "": https://localhost:PORT
    unsigned session_idle_timeout = 1800;   // seconds without a request
    unsigned session_lifetime = 43200;      // seconds from the login, whatever the activity
    unsigned invitation_ttl = 7 * 86400;    // seconds an invitation link is valid
    unsigned reset_ttl = 3600;              // seconds a reset link is valid
    unsigned login_max_failures = 5;        // failed logins in a row that lock an account
    unsigned login_lockout = 900;           // seconds an account stays locked
    unsigned login_rate_per_address = 10;   // login and reset requests a minute per address
    unsigned login_burst_per_address = 20;  // at once
    uint64_t max_form_bytes = 1u << 20;     // body of a web request (a logo upload included)
    uint64_t max_logo_bytes = 512u << 10;   // the logo image
    // The PDF export (docs/console.md#pdf-export): WeasyPrint, run without a shell.
    std::string pdf_program = "/usr/bin/weasyprint";
    unsigned pdf_timeout = 180;            // seconds, then the converter is killed
    uint64_t max_pdf_bytes = 32ull << 20;  // a larger PDF fails
    unsigned pdf_concurrency = 2;          // conversions at once; more: 503 with Retry-After
};

// Parses the file's text. On error returns false and says which line and why. `need_network`
// also requires the TLS files (serve); the other commands need only data_dir and keys.
bool parse_config(const std::string &text, Config &out, std::string *error);
bool load_config(const std::string &path, Config &out, bool need_network, std::string *error);

}  // namespace sonde::console
