#include "password.hpp"

#include <sodium.h>

#include <cctype>
#include <mutex>
#include <semaphore>

namespace sonde::console {
namespace {

std::counting_semaphore<2> &hashing_slots() {
    static std::counting_semaphore<2> slots(2);
    return slots;
}

struct Slot {
    Slot() { hashing_slots().acquire(); }
    ~Slot() { hashing_slots().release(); }
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char &c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool valid_utf8(std::string_view s) {
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        const size_t len = c < 0x80         ? 1
                           : (c >> 5) == 6  ? 2
                           : (c >> 4) == 14 ? 3
                           : (c >> 3) == 30 ? 4
                                            : 0;
        if (len == 0 || i + len > n) return false;
        for (size_t k = 1; k < len; ++k)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

}  // namespace

bool init_crypto() { return sodium_init() >= 0; }

std::optional<std::string> password_rule_broken(std::string_view password,
                                                std::string_view confirmation,
                                                std::string_view login, std::string_view name,
                                                std::string_view first_name) {
    if (password != confirmation) return "Les deux mots de passe ne sont pas identiques.";
    if (password.size() > kMaxPasswordBytes)
        return "Le mot de passe ne doit pas dépasser " + std::to_string(kMaxPasswordBytes) +
               " octets.";
    if (!valid_utf8(password)) return "Le mot de passe contient des octets invalides.";
    size_t characters = 0;
    bool digit = false, special = false, letter = false;
    for (unsigned char c : password) {
        if (c < 0x20 || c == 0x7F) return "Le mot de passe contient un caractère de contrôle.";
        if ((c & 0xC0) != 0x80) ++characters;  // UTF-8: count characters, not bytes
        if (c >= '0' && c <= '9') digit = true;
        if (std::string_view("#!@%&*~").find(char(c)) != std::string_view::npos) special = true;
        // A letter: ASCII, or any non-ASCII character (accented letters are letters to a reader).
        if (std::isalpha(c) || c >= 0x80) letter = true;
    }
    if (characters < 8) return "Le mot de passe doit compter au moins 8 caractères.";
    if (!digit) return "Le mot de passe doit contenir au moins un caractère numérique.";
    if (!special)
        return "Le mot de passe doit contenir au moins un caractère spécial parmi # ! @ % & * ~.";
    if (!letter) return "Le mot de passe doit contenir au moins une lettre.";
    // Different from the name and the login: neither equal to them nor containing them
    // (letter case aside), nor the login's part before '@'.
    const std::string p = lower(password);
    const std::string at_login = lower(login.substr(0, login.find('@')));
    for (const std::string &word : {lower(login), at_login, lower(name), lower(first_name)}) {
        if (word.size() >= 3 && p.find(word) != std::string::npos)
            return "Le mot de passe doit être différent du nom et de l'identifiant.";
        if (!word.empty() && p == word)
            return "Le mot de passe doit être différent du nom et de l'identifiant.";
    }
    return std::nullopt;
}

std::optional<std::string> hash_password(std::string_view password) {
    char out[crypto_pwhash_STRBYTES];
    Slot slot;
    if (crypto_pwhash_str_alg(
            out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return std::nullopt;
    return std::string(out);
}

bool verify_password(const std::string &stored, std::string_view password) {
    if (stored.empty() || stored.size() >= crypto_pwhash_STRBYTES) return false;
    Slot slot;
    return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

const std::string &dummy_hash() {
    static const std::string hash = hash_password(random_token()).value_or("");
    return hash;
}

std::string random_token() {
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(out, sizeof out, bytes, sizeof bytes,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

std::string token_hash(std::string_view token) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char *>(token.data()), token.size());
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size() || a.empty()) return false;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sonde::console
