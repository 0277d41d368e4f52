#include "snapshot/keys.hpp"

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "platform/files.hpp"
#include "platform/process.hpp"
#include "platform/read_file.hpp"
#include "snapshot/envelope.hpp"

namespace sonde::snapshot {
namespace {

constexpr size_t kMaxKeyFile = 4096;
constexpr const char *kFirstLine = "sonde-key v1";

bool fail(std::string *error, const std::string &text) {
    if (error) *error = text;
    return false;
}

std::string errno_text(const std::string &what, const std::string &path) {
    return what + " " + path + ": " + std::strerror(errno);
}

// Strings that held a private key are zeroized before their memory is released.
struct SecretText {
    std::string text;
    ~SecretText() { mbedtls_platform_zeroize(text.data(), text.size()); }
};

bool from_hex(const std::string &hex, std::span<uint8_t> out) {
    if (hex.size() != 2 * out.size()) return false;
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
}

std::string directory_of(const std::string &path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Temporary file in the same directory, then rename (overwrite) or link (no overwrite: fails
// with EEXIST atomically), then fsync of the directory so the name survives a crash.
bool write_file_atomically(const std::string &path, const std::string &text, unsigned mode,
                           bool overwrite, std::string *error) {
    const std::string tmp = path + ".tmp." + std::to_string(platform::current_pid());
    platform::File file = platform::File::open(
        tmp, platform::kWrite | platform::kCreate | platform::kExclusive | platform::kNoFollow,
        mode);
    if (!file) return fail(error, errno_text("cannot create", tmp));
    // set_mode (fchmod): the umask may have removed bits, and must never have added any.
    bool ok = file.set_mode(mode) && file.write_all(text.data(), text.size()) && file.sync();
    std::string why = ok ? "" : errno_text("cannot write", tmp);
    if (!file.close() && ok) {
        ok = false;
        why = errno_text("cannot write", tmp);
    }
    if (ok && overwrite && !platform::rename_replace(tmp, path)) {
        ok = false;
        why = errno_text("cannot rename to", path);
    }
    if (ok && !overwrite && !platform::link_new(tmp, path)) {
        ok = false;
        why = errno == EEXIST ? path + " already exists (refusing to overwrite a key)"
                              : errno_text("cannot create", path);
    }
    if (!(ok && overwrite)) platform::remove_file(tmp);
    if (!ok) return fail(error, why);
    const std::string dir = directory_of(path);
    if (!platform::sync_directory(dir))
        return fail(error, errno_text("cannot sync directory", dir));
    return true;
}

std::string file_text(const char *kind, const PublicKey &pk, const std::array<uint8_t, 32> *sk,
                      const std::vector<std::string> &bases = {}) {
    std::string text = std::string(kFirstLine) + "\nkind " + kind + "\nkey-id " +
                       to_hex(key_id(pk)) + "\npublic " + to_hex(pk) + "\n";
    if (sk) text += "private " + to_hex(*sk) + "\n";
    if (!bases.empty()) {
        text += "bases ";
        for (size_t i = 0; i < bases.size(); ++i) {
            if (i) text += ',';
            text += bases[i];
        }
        text += '\n';
    }
    return text;
}

// "0310001A,0310002B": UAIs, no repeat, at least one.
bool parse_bases(const std::string &text, std::vector<std::string> &out) {
    out.clear();
    size_t at = 0;
    for (;;) {
        const size_t comma = std::min(text.find(',', at), text.size());
        const std::string base = text.substr(at, comma - at);
        if (!valid_base_id(base) || std::find(out.begin(), out.end(), base) != out.end())
            return false;
        out.push_back(base);
        if (comma == text.size()) return true;
        at = comma + 1;
    }
}

struct ParsedKey {
    bool is_private = false;
    std::vector<std::string> bases;
    PublicKey public_key{};
    std::array<uint8_t, 32> private_key{};
    ~ParsedKey() { mbedtls_platform_zeroize(private_key.data(), private_key.size()); }
};

bool read_key_file(const std::string &path, SecretText &content, uint32_t &mode,
                   std::string *error) {
    // Non-blocking open: a FIFO put there must not block the opener (the shipper's watcher
    // thread). A regular file is read into one buffer of its size: no copy of a secret is left
    // behind by a reallocation (unless the file grows while it is read).
    const platform::ReadResult r = platform::read_file(path, kMaxKeyFile, content.text);
    errno = r.err;
    switch (r.error) {
        case platform::ReadError::None:
            mode = r.mode & 07777;
            return true;
        case platform::ReadError::Missing:
        case platform::ReadError::Open:
            return fail(error, errno_text("cannot open", path));
        case platform::ReadError::Stat:
            return fail(error, errno_text("cannot stat", path));
        case platform::ReadError::Read:
            return fail(error, errno_text("cannot read", path));
        case platform::ReadError::NoMemory:
            return fail(error, path + ": out of memory");
        case platform::ReadError::TooLarge:
            if (r.stat_size <= kMaxKeyFile)
                return fail(error, path + " is too large for a key file");
            [[fallthrough]];
        case platform::ReadError::Directory:
        case platform::ReadError::NotRegular:
            break;
    }
    return fail(error, path + " is not a key file (not a regular file, or too large)");
}

bool parse_key_text(const std::string &path, const std::string &text, ParsedKey &key,
                    std::string *error) {
    const auto bad = [&](const std::string &why) {
        return fail(error, "malformed key file " + path + ": " + why);
    };
    std::map<std::string, std::string> fields;
    size_t at = 0, line_number = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(at, end - at);
        at = end + 1;
        if (line_number++ == 0) {
            if (line != kFirstLine)
                return bad("first line is not \"" + std::string(kFirstLine) + "\"");
            continue;
        }
        if (line.empty()) continue;
        const size_t space = line.find(' ');
        if (space == std::string::npos)
            return bad("line " + std::to_string(line_number) + " has no value");
        const std::string name = line.substr(0, space);
        if (name != "kind" && name != "key-id" && name != "public" && name != "private" &&
            name != "bases")
            return bad("unknown field \"" + name + "\"");
        if (!fields.emplace(name, line.substr(space + 1)).second)
            return bad("field \"" + name + "\" repeated");
    }
    // Wipe the private hex held in the map as soon as it is decoded.
    struct Wipe {
        std::map<std::string, std::string> &f;
        ~Wipe() {
            for (auto &[name, value] : f) mbedtls_platform_zeroize(value.data(), value.size());
        }
    } wipe{fields};
    for (const char *name : {"kind", "key-id", "public"})
        if (!fields.count(name)) return bad(std::string("missing field \"") + name + "\"");
    const std::string &kind = fields["kind"];
    if (kind != "private" && kind != "public") return bad("kind must be private or public");
    key.is_private = kind == "private";
    if (key.is_private != (fields.count("private") == 1))
        return bad("kind and private field disagree");
    if (fields.count("bases")) {
        if (key.is_private) return bad("bases belongs in the public file");
        if (!parse_bases(fields["bases"], key.bases))
            return bad("bases is not a comma-separated list of distinct UAIs");
    }
    if (!from_hex(fields["public"], key.public_key)) return bad("public is not 64 hex digits");
    KeyId id{};
    if (!from_hex(fields["key-id"], id)) return bad("key-id is not 16 hex digits");
    if (id != key_id(key.public_key)) return bad("key-id does not match the public key");
    if (key.is_private) {
        if (!from_hex(fields["private"], key.private_key))
            return bad("private is not 64 hex digits");
        std::array<uint8_t, 32> derived{};
        if (crypto::public_from_private(key.private_key, derived) != crypto::Error::None ||
            derived != key.public_key)
            return bad("public key is not the one of the private key");
    }
    return true;
}

}  // namespace

KeyId key_id(std::span<const uint8_t, 32> public_key) noexcept {
    std::array<uint8_t, 32> digest{};
    // Cannot fail for SHA-256 without hardware acceleration hooks; a failure leaves zeros,
    // an id that matches no real key.
    (void)mbedtls_sha256_ret(public_key.data(), public_key.size(), digest.data(), 0);
    KeyId id{};
    std::memcpy(id.data(), digest.data(), id.size());
    return id;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

bool save_key_pair(const std::string &path, const crypto::KeyPair &key, bool overwrite,
                   std::string *error) {
    std::array<uint8_t, 32> derived{};
    if (crypto::public_from_private(key.private_key, derived) != crypto::Error::None ||
        derived != key.public_key)
        return fail(error,
                    "inconsistent key pair: the public key is not the one of the private key");
    const SecretText text{file_text("private", key.public_key, &key.private_key)};
    return write_file_atomically(path, text.text, 0600, overwrite, error);
}

bool save_public_key(const std::string &path, const PublicKey &key, bool overwrite,
                     std::string *error, const std::vector<std::string> &bases) {
    std::vector<std::string> checked;
    std::string joined;
    for (const std::string &b : bases) {
        if (!joined.empty()) joined += ',';
        joined += b;
    }
    if (!bases.empty() && !parse_bases(joined, checked))
        return fail(error, "bases must be distinct UAIs (7 digits and a capital letter)");
    return write_file_atomically(path, file_text("public", key, nullptr, bases), 0644, overwrite,
                                 error);
}

bool load_key_pair(const std::string &path, crypto::KeyPair &out, std::string *error) {
    SecretText content;
    ParsedKey key;
    uint32_t mode = 0;
    if (!read_key_file(path, content, mode, error) ||
        !parse_key_text(path, content.text, key, error))
        return false;
    if (!key.is_private)
        return fail(error, path + " holds a public key only, a private key is needed");
    if ((mode & 077) != 0) {
        char octal[16];
        std::snprintf(octal, sizeof octal, "%04o", unsigned(mode));
        return fail(error, "private key " + path + " is accessible by group or others (mode " +
                               octal + "); chmod 600 it");
    }
    out.private_key = key.private_key;
    out.public_key = key.public_key;
    return true;
}

bool load_public_key(const std::string &path, PublicKey &out, std::string *error,
                     std::vector<std::string> *bases) {
    SecretText content;
    ParsedKey key;
    uint32_t mode = 0;
    if (!read_key_file(path, content, mode, error) ||
        !parse_key_text(path, content.text, key, error))
        return false;
    out = key.public_key;
    if (bases) *bases = key.bases;
    return true;
}

void wipe(crypto::KeyPair &key) noexcept {
    mbedtls_platform_zeroize(key.private_key.data(), key.private_key.size());
}

bool generate_key_file(const std::string &path, crypto::KeyPair &out, std::string *error) {
    crypto::KeyPair key{};
    if (const crypto::Error e = crypto::generate_key_pair(key); e != crypto::Error::None)
        return fail(error, std::string("cannot generate a key pair: ") + crypto::error_text(e));
    const bool saved = save_key_pair(path, key, false, error);
    if (saved) out = key;
    wipe(key);
    return saved;
}

}  // namespace sonde::snapshot
