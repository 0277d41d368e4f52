#include "core/config.hpp"

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "platform/files.hpp"
#include "platform/process.hpp"
#include "platform/read_file.hpp"
#include "shm/layout.hpp"
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

namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Why `text` cannot be a value of the file, or nullptr. The writer and sonde-ctl use the same
// rule as the parser, so nothing they write can be read back differently.
const char *value_problem(std::string_view text) {
    for (unsigned char c : text)
        if (is_control(c)) return "contains a control character";
    if (!text.empty() && (text.front() == ' ' || text.back() == ' '))
        return "begins or ends with a space";
    for (size_t i = 1; i < text.size(); ++i)
        if ((text[i] == ';' || text[i] == '#') && text[i - 1] == ' ')
            return "contains ' ;' or ' #', which would start a comment";
    return nullptr;
}

std::string byte_name(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", unsigned(c));
    return buf;
}

// Checks every byte and removes comments before Boost.PropertyTree sees the text. Lines keep
// their numbers, so the parser's line numbers stay right.
//  - A control character (NUL, CR inside a line, escape...) refuses the file: only tabs and
//    line feeds, and a CR right before a line feed, are allowed.
//  - A comment is a line whose first non-blank character is ';' or '#', or the rest of a line
//    from a ';' or '#' that follows a space or a tab.
bool strip_comments(const std::string &text, std::string &out, std::string &why) {
    out.clear();
    out.reserve(text.size() + 1);
    size_t line_no = 0;
    for (size_t at = 0; at <= text.size();) {
        size_t end = text.find('\n', at);
        const bool last = end == std::string::npos;
        if (last) end = text.size();
        ++line_no;
        std::string line = text.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        for (unsigned char c : line)
            if (is_control(c) && c != '\t') {
                why = "line " + std::to_string(line_no) + ": control character " + byte_name(c);
                return false;
            }
        for (size_t i = 1; i < line.size(); ++i)
            if ((line[i] == ';' || line[i] == '#') && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
                line.resize(i);
                break;
            }
        out += line;
        out += '\n';
        if (last) break;
        at = end + 1;
    }
    return true;
}

}  // namespace

std::optional<uint64_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t n = 0;
    for (char ch : text) {
        if (ch < '0' || ch > '9') return std::nullopt;
        const uint64_t digit = uint64_t(ch - '0');
        if (n > (UINT64_MAX - digit) / 10) return std::nullopt;  // would overflow
        n = n * 10 + digit;
    }
    return n;
}

bool valid_config_value(std::string_view text, std::string *why) {
    const char *problem = value_problem(text);
    if (problem && why) *why = problem;
    return problem == nullptr;
}

ConfigLoad load_config(const std::string &path, BaseConfig &out, std::string *error) {
    auto fail = [&](const std::string &why) {
        if (error) *error = path + ": " + why;
        return ConfigLoad::Malformed;
    };
    // Never blocks on open (a FIFO or a device put there), never follows a link, and never
    // reads more than the cap: the size is checked on the open descriptor before any read.
    std::string text;
    const platform::ReadResult r = platform::read_file(path, kMaxConfigBytes, text);
    switch (r.error) {
        case platform::ReadError::None:
            break;
        case platform::ReadError::Missing:
            return ConfigLoad::Missing;
        case platform::ReadError::Open:
            return fail(r.err == ELOOP ? std::string("is a symbolic link (refused)")
                                       : std::string("cannot open: ") + std::strerror(r.err));
        case platform::ReadError::Stat:
        case platform::ReadError::Directory:
        case platform::ReadError::NotRegular:
            return fail("not a regular file");
        case platform::ReadError::TooLarge:
            return fail("larger than " + std::to_string(kMaxConfigBytes) + " bytes");
        case platform::ReadError::Read:
            return fail(std::string("cannot read: ") + std::strerror(r.err));
        case platform::ReadError::NoMemory:
            return fail("out of memory");
    }
    return parse_config(text, path, out, error);
}

ConfigLoad parse_config(const std::string &text, const std::string &origin, BaseConfig &out,
                        std::string *error) {
    namespace pt = boost::property_tree;
    auto fail = [&](const std::string &why) {
        if (error) *error = origin + ": " + why;
        return ConfigLoad::Malformed;
    };
    if (text.size() > kMaxConfigBytes)
        return fail("larger than " + std::to_string(kMaxConfigBytes) + " bytes");
    std::string cleaned, why;
    if (!strip_comments(text, cleaned, why)) return fail(why);
    pt::ptree tree;
    try {
        std::istringstream in(cleaned);
        pt::read_ini(in, tree);
    } catch (const pt::ini_parser_error &e) {
        return fail(e.message() + " (line " + std::to_string(e.line()) + ")");
    } catch (const std::exception &e) {
        return fail(e.what());
    }
    // Tabs are blanks around keys and values, never inside them.
    for (const auto &[section, body] : tree)
        for (const auto &[key, value] : body)
            if (const char *problem = value_problem(value.data()))
                return fail("[" + section + "] " + key + ": the value " + problem);
    BaseConfig c;
    auto parse_bool = [](const std::string &v, bool &out) {
        if (v == "true" || v == "yes" || v == "1") return out = true, true;
        if (v == "false" || v == "no" || v == "0") return out = false, true;
        return false;
    };
    auto parse_uint = [](const std::string &v, uint32_t lo, uint32_t hi, uint32_t &out) {
        const std::optional<uint64_t> n = parse_decimal(v);
        if (!n || *n < lo || *n > hi) return false;
        out = uint32_t(*n);
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
                std::string tz_error;
                if (!time::TimeZone::load(v, &tz_error)) return fail("timezone: " + tz_error);
                c.timezone = v;
            } else if (key == "school_year_start") {
                if (!time::parse_school_year_start(v, c.school_year_start))
                    return fail("school_year_start must be MM-DD, not '" + v + "'");
            } else if (key == "users_capacity") {
                if (!parse_uint(v, shm::kMinUserCapacity, shm::kMaxUserCapacity, c.users_capacity))
                    return fail("users_capacity must be a whole number from " +
                                std::to_string(shm::kMinUserCapacity) + " to " +
                                std::to_string(shm::kMaxUserCapacity) + ", not '" + v + "'");
            } else if (key == "students_capacity") {
                if (!parse_uint(v, shm::kMinStudentCapacity, shm::kMaxStudentCapacity,
                                c.students_capacity))
                    return fail("students_capacity must be a whole number from " +
                                std::to_string(shm::kMinStudentCapacity) + " to " +
                                std::to_string(shm::kMaxStudentCapacity) + ", not '" + v + "'");
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
    // Defence in depth: sonde-ctl validates its options, but whatever the caller passes, a value
    // that could end a line, start a comment or lose its blanks is never written.
    const std::pair<const char *, const std::string *> values[] = {
        {"timezone", &c.timezone},
        {"spool_dir", &c.snapshots.spool_dir},
        {"console_public_key", &c.snapshots.console_public_key},
        {"sender_key", &c.snapshots.sender_key},
    };
    for (const auto &[key, value] : values)
        if (const char *problem = value_problem(*value)) {
            if (error) *error = path + ": not written: the value of " + key + " " + problem;
            return false;
        }
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
    if (c.users_capacity) text << "users_capacity = " << c.users_capacity << "\n";
    if (c.students_capacity) text << "students_capacity = " << c.students_capacity << "\n";
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
    BaseConfig back;
    std::string why;
    if (parse_config(body, path, back, &why) != ConfigLoad::Ok) {
        if (error) *error = "not written, it would not read back: " + why;
        return false;
    }
    const std::string tmp = path + ".tmp." + std::to_string(platform::current_pid());
    platform::File file =
        platform::File::open(tmp, platform::kWrite | platform::kCreate | platform::kTruncate, 0600);
    if (!file) {
        if (error) *error = tmp + ": " + platform::error_text(errno);
        return false;
    }
    bool ok = file.write_all(body.data(), body.size()) && file.sync();
    file.close();
    if (!ok || !platform::rename_replace(tmp, path)) {
        if (error) *error = path + ": " + platform::error_text(errno);
        platform::remove_file(tmp);
        return false;
    }
    return true;
}

}  // namespace sonde
