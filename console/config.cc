#include "config.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace sonde::console {
namespace {

std::string trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

bool number(const std::string &text, uint64_t lo, uint64_t hi, uint64_t &out) {
    if (text.empty() || text.size() > 20) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

bool listen(const std::string &text, Config &c) {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    uint64_t port;
    if (!number(text.substr(colon + 1), 0, 65535, port)) return false;
    c.listen_address = text.substr(0, colon);
    c.listen_port = uint16_t(port);
    return true;
}

// A libpq connection string that parses, and holds no password (that belongs in ~/.pgpass or
// PGPASSFILE, not in a configuration file).
bool conninfo(const std::string &text, std::string *why) {
    if (text.empty()) {
        *why = "empty connection string";
        return false;
    }
    char *message = nullptr;
    PQconninfoOption *options = PQconninfoParse(text.c_str(), &message);
    if (!options) {
        std::string m = message ? message : "cannot parse";
        while (!m.empty() && m.back() == '\n') m.pop_back();
        *why = m;
        PQfreemem(message);
        return false;
    }
    bool password = false;
    for (PQconninfoOption *o = options; o->keyword; ++o)
        if (std::string_view(o->keyword) == "password" && o->val && *o->val) password = true;
    PQconninfoFree(options);
    if (password) {
        *why = "no password here: put it in ~/.pgpass or the file PGPASSFILE names";
        return false;
    }
    return true;
}

}  // namespace

bool parse_config(const std::string &text, Config &c, std::string *error) {
    std::istringstream in(text);
    std::string line;
    for (unsigned n = 1; std::getline(in, line); ++n) {
        const size_t hash = line.find('#');
        if (hash != std::string::npos &&
            (hash == 0 || line[hash - 1] == ' ' || line[hash - 1] == '\t'))
            line.resize(hash);
        const std::string l = trim(line);
        if (l.empty()) continue;
        const size_t eq = l.find('=');
        auto fail = [&](const std::string &why) {
            if (error) *error = "line " + std::to_string(n) + ": " + why;
            return false;
        };
        if (eq == std::string::npos) return fail("expected name = value");
        const std::string name = trim(std::string_view(l).substr(0, eq));
        const std::string value = trim(std::string_view(l).substr(eq + 1));
        for (char ch : value)
            if (static_cast<unsigned char>(ch) < 0x20) return fail(name + ": control character");
        uint64_t v = 0;
        auto num = [&](uint64_t lo, uint64_t hi, auto &field) {
            if (!number(value, lo, hi, v))
                return fail(name + " takes a whole number from " + std::to_string(lo) + " to " +
                            std::to_string(hi));
            field = static_cast<std::remove_reference_t<decltype(field)>>(v);
            return true;
        };
        if (name == "listen") {
            if (!listen(value, c)) return fail("listen takes ADDRESS:PORT");
        } else if (name == "port_file") {
            c.port_file = value;
        } else if (name == "tls_certificate") {
            c.tls_certificate = value;
        } else if (name == "tls_private_key") {
            c.tls_private_key = value;
        } else if (name == "console_key") {
            c.console_keys.push_back(value);
        } else if (name == "data_dir") {
            c.data_dir = value;
        } else if (name == "threads") {
            if (!num(1, 64, c.threads)) return false;
        } else if (name == "max_connections") {
            if (!num(1, 100000, c.max_connections)) return false;
        } else if (name == "journal_segment_bytes") {
            if (!num(1 << 20, uint64_t{1} << 40, c.journal_segment_bytes)) return false;
        } else if (name == "max_body_bytes") {
            if (!num(1024, uint64_t{1} << 30, c.max_body_bytes)) return false;
        } else if (name == "max_uncompressed_bytes") {
            if (!num(1024, uint64_t{1} << 30, c.max_uncompressed_bytes)) return false;
        } else if (name == "handshake_timeout") {
            if (!num(1, 3600, c.handshake_timeout)) return false;
        } else if (name == "header_timeout") {
            if (!num(1, 3600, c.header_timeout)) return false;
        } else if (name == "body_timeout") {
            if (!num(1, 3600, c.body_timeout)) return false;
        } else if (name == "idle_timeout") {
            if (!num(1, 3600, c.idle_timeout)) return false;
        } else if (name == "max_backlog") {
            if (!num(1, uint64_t{1} << 40, c.max_backlog)) return false;
        } else if (name == "min_free_bytes") {
            if (!num(0, UINT64_MAX, c.min_free_bytes)) return false;
        } else if (name == "retry_after") {
            if (!num(1, 86400, c.retry_after)) return false;
        } else if (name == "ingest") {
            if (value != "on" && value != "off") return fail("ingest takes on or off");
            c.ingest = value == "on";
        } else if (name == "ingest_batch") {
            if (!num(1, 10000, c.ingest_batch)) return false;
        } else if (name == "ingest_nice") {
            unsigned nice = 0;
            if (!num(0, 19, nice)) return false;
            c.ingest_nice = int(nice);
        } else if (name == "store") {
            if (value != "sqlite" && value != "postgresql")
                return fail("store takes sqlite or postgresql");
            c.store = value == "sqlite" ? Config::StoreKind::Sqlite : Config::StoreKind::Postgresql;
        } else if (name == "postgresql") {
            std::string why;
            if (!conninfo(value, &why)) return fail("postgresql: " + why);
            c.postgresql = value;
        } else if (name == "rate_limit_per_base") {
            if (!num(0, 1000000, c.rate_limit_per_base)) return false;
        } else if (name == "rate_limit_burst") {
            if (!num(1, 1000000, c.rate_limit_burst)) return false;
        } else if (name == "rate_limit_clients") {
            if (!num(1, 100000000, c.rate_limit_clients)) return false;
        } else if (name == "public_url") {
            if (!value.starts_with("https://") || value.size() < 9 || value.ends_with("/"))
                return fail("public_url takes https://HOST[:PORT][/PATH], without a final /");
            c.public_url = value;
        } else if (name == "session_idle_timeout") {
            if (!num(60, 86400, c.session_idle_timeout)) return false;
        } else if (name == "session_lifetime") {
            if (!num(60, 30 * 86400, c.session_lifetime)) return false;
        } else if (name == "invitation_ttl") {
            if (!num(1, 90 * 86400, c.invitation_ttl)) return false;
        } else if (name == "reset_ttl") {
            if (!num(1, 7 * 86400, c.reset_ttl)) return false;
        } else if (name == "login_max_failures") {
            if (!num(1, 1000, c.login_max_failures)) return false;
        } else if (name == "login_lockout") {
            if (!num(1, 7 * 86400, c.login_lockout)) return false;
        } else if (name == "login_rate_per_address") {
            if (!num(1, 100000, c.login_rate_per_address)) return false;
        } else if (name == "login_burst_per_address") {
            if (!num(1, 100000, c.login_burst_per_address)) return false;
        } else if (name == "max_form_bytes") {
            if (!num(1024, uint64_t{64} << 20, c.max_form_bytes)) return false;
        } else if (name == "max_logo_bytes") {
            if (!num(1024, uint64_t{16} << 20, c.max_logo_bytes)) return false;
        } else if (name == "pdf_program") {
            if (value.empty() || value[0] != '/')
                return fail("pdf_program must be an absolute path");
            c.pdf_program = value;
        } else if (name == "pdf_timeout") {
            if (!num(1, 3600, c.pdf_timeout)) return false;
        } else if (name == "max_pdf_bytes") {
            if (!num(4096, uint64_t{1} << 30, c.max_pdf_bytes)) return false;
        } else if (name == "pdf_concurrency") {
            if (!num(1, 64, c.pdf_concurrency)) return false;
        } else {
            return fail("unknown name \"" + name + "\"");
        }
    }
    if (c.store == Config::StoreKind::Postgresql && c.postgresql.empty()) {
        if (error) *error = "store = postgresql needs postgresql = <libpq connection string>";
        return false;
    }
    if (c.store == Config::StoreKind::Sqlite && !c.postgresql.empty()) {
        if (error) *error = "postgresql is set but store is sqlite";
        return false;
    }
    return true;
}

bool load_config(const std::string &path, Config &c, bool need_network, std::string *error) {
    std::ifstream in(path);
    if (!in) {
        if (error) *error = "cannot read " + path;
        return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string why;
    if (!parse_config(text.str(), c, &why)) {
        if (error) *error = path + ": " + why;
        return false;
    }
    auto missing = [&](const char *name) {
        if (error) *error = path + ": " + name + " is required";
        return false;
    };
    if (c.data_dir.empty()) return missing("data_dir");
    if (c.console_keys.empty()) return missing("console_key");
    if (need_network && c.tls_certificate.empty()) return missing("tls_certificate");
    if (need_network && c.tls_private_key.empty()) return missing("tls_private_key");
    return true;
}

}  // namespace sonde::console
