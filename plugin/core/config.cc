#include "core/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "time/timezone.hpp"

namespace sonde {

std::string config_path(const std::string &config_dir, const std::string &base_id) {
    return config_dir + "/" + base_id + ".conf";
}

bool valid_base_id(const char *id) {
    if (!id) return false;
    for (int i = 0; i < 7; ++i)
        if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
    return std::isupper(static_cast<unsigned char>(id[7])) && id[8] == '\0';
}

bool parse_secret(const std::string &hex, SipKey &out) {
    if (hex.size() != 32) return false;
    uint64_t words[2] = {0, 0};
    for (size_t i = 0; i < 32; ++i) {
        const char c = hex[i];
        int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
        if (v < 0) return false;
        words[i / 16] = (words[i / 16] << 4) | uint64_t(v);
    }
    out = {words[0], words[1]};
    return true;
}

std::string format_secret(const SipKey &key) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(key.k0),
                  static_cast<unsigned long long>(key.k1));
    return buf;
}

ConfigLoad load_config(const std::string &path, BaseConfig &out, std::string *error) {
    namespace pt = boost::property_tree;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return ConfigLoad::Missing;
    auto fail = [&](const std::string &why) {
        if (error) *error = path + ": " + why;
        return ConfigLoad::Malformed;
    };
    pt::ptree tree;
    try {
        pt::read_ini(path, tree);
    } catch (const pt::ini_parser_error &e) {
        return fail(e.message() + " (line " + std::to_string(e.line()) + ")");
    } catch (const std::exception &e) {
        return fail(e.what());
    }
    BaseConfig c;
    auto parse_bool = [](const std::string &v, bool &out) {
        if (v == "true" || v == "yes" || v == "1") return out = true, true;
        if (v == "false" || v == "no" || v == "0") return out = false, true;
        return false;
    };
    auto parse_uint = [](const std::string &v, uint32_t lo, uint32_t hi, uint32_t &out) {
        char *end = nullptr;
        const unsigned long n = std::strtoul(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < lo || n > hi) return false;
        out = uint32_t(n);
        return true;
    };
    for (const auto &[section, body] : tree) {
        if (section == "snapshots") {
            SnapshotConfig &sc = c.snapshots;
            for (const auto &[key, value] : body) {
                const std::string v = value.get_value<std::string>();
                if (key == "spool_dir")
                    sc.spool_dir = v;
                else if (key == "console_public_key")
                    sc.console_public_key = v;
                else if (key == "sender_key")
                    sc.sender_key = v;
                else if (key == "interval_minutes") {
                    if (!parse_uint(v, 1, 1440, sc.interval_minutes))
                        return fail("interval_minutes must be 1..1440");
                } else if (key == "aead") {
                    if (v != "chacha20poly1305" && v != "aes256gcm")
                        return fail("aead must be chacha20poly1305 or aes256gcm");
                    sc.chacha20 = v == "chacha20poly1305";
                } else if (key == "k_anonymity") {
                    if (!parse_uint(v, 1, 1000, sc.k_anonymity))
                        return fail("k_anonymity must be 1..1000");
                } else if (key == "include_school_only") {
                    if (!parse_bool(v, sc.include_school_only))
                        return fail("include_school_only must be true or false");
                } else if (key == "spool_max_files") {
                    if (!parse_uint(v, 8, 1000000, sc.spool_max_files))
                        return fail("spool_max_files must be 8..1000000");
                } else {
                    return fail("unknown key '" + key + "' in [snapshots]");
                }
            }
            if (!sc.spool_dir.empty() && (sc.console_public_key.empty() || sc.sender_key.empty()))
                return fail("[snapshots] needs console_public_key and sender_key with spool_dir");
            continue;
        }
        if (section != "base") return fail("unknown section [" + section + "]");
        for (const auto &[key, value] : body) {
            const std::string v = value.get_value<std::string>();
            if (key == "enabled") {
                if (!parse_bool(v, c.enabled))
                    return fail("enabled must be true or false, not '" + v + "'");
            } else if (key == "secret") {
                if (!parse_secret(v, c.secret)) return fail("secret must be 32 hexadecimal digits");
            } else if (key == "timezone") {
                std::string why;
                if (!time::TimeZone::load(v, &why)) return fail("timezone: " + why);
                c.timezone = v;
            } else if (key == "school_year_start") {
                if (!time::parse_school_year_start(v, c.school_year_start))
                    return fail("school_year_start must be MM-DD, not '" + v + "'");
            } else {
                return fail("unknown key '" + key + "'");
            }
        }
    }
    if (tree.find("base") == tree.not_found()) return fail("missing [base] section");
    if (c.enabled && c.secret.k0 == 0 && c.secret.k1 == 0)
        return fail("an enabled base needs a secret (sonde-ctl enable writes one)");
    out = c;
    return ConfigLoad::Ok;
}

bool save_config(const std::string &path, const BaseConfig &c, std::string *error) {
    std::ostringstream text;
    char start[8];
    std::snprintf(start, sizeof start, "%02u-%02u", unsigned(c.school_year_start.month),
                  unsigned(c.school_year_start.day));
    text << "# Written by sonde-ctl. Running servers pick up changes within seconds.\n"
         << "[base]\n"
         << "enabled = " << (c.enabled ? "true" : "false") << "\n"
         << "secret = " << format_secret(c.secret) << "\n"
         << "timezone = " << c.timezone << "\n"
         << "school_year_start = " << start << "\n";
    const SnapshotConfig &sc = c.snapshots;
    if (!sc.spool_dir.empty())
        text << "\n[snapshots]\n"
             << "spool_dir = " << sc.spool_dir << "\n"
             << "console_public_key = " << sc.console_public_key << "\n"
             << "sender_key = " << sc.sender_key << "\n"
             << "interval_minutes = " << sc.interval_minutes << "\n"
             << "aead = " << (sc.chacha20 ? "chacha20poly1305" : "aes256gcm") << "\n"
             << "k_anonymity = " << sc.k_anonymity << "\n"
             << "include_school_only = " << (sc.include_school_only ? "true" : "false") << "\n"
             << "spool_max_files = " << sc.spool_max_files << "\n";
    const std::string body = text.str();
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (error) *error = tmp + ": " + std::strerror(errno);
        return false;
    }
    bool ok = ::write(fd, body.data(), body.size()) == ssize_t(body.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (error) *error = path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

}  // namespace sonde
