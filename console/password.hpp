#pragma once
// Passwords and secrets of the console's accounts (docs/console.md#accounts-and-rights): the
// password rule of the Console territoriale guide (chapter 1, "Création du compte"), argon2id
// hashes (libsodium), random tokens and their stored hashes, constant-time comparison.

#include <optional>
#include <string>
#include <string_view>

namespace sonde::console {

// Call once before any other function here (libsodium's sodium_init). False if it failed.
bool init_crypto();

// The guide's rule: at least 8 characters, at least one digit, at least one special character
// among # ! @ % & * ~, at least one letter, different from the name and the login; and the
// confirmation equal. Returns the first rule broken, in French, as the page shows it; nullopt
// when the password is acceptable. Also refused: more than kMaxPasswordBytes bytes (the hash's
// cost is bounded), control characters, invalid UTF-8.
inline constexpr size_t kMaxPasswordBytes = 128;
std::optional<std::string> password_rule_broken(std::string_view password,
                                                std::string_view confirmation,
                                                std::string_view login, std::string_view name,
                                                std::string_view first_name);

// argon2id (crypto_pwhash_str, ALG_ARGON2ID13, OPSLIMIT/MEMLIMIT_INTERACTIVE: 64 MiB). At most
// two hashes are computed at once in the process, whatever the number of request threads.
std::optional<std::string> hash_password(std::string_view password);
bool verify_password(const std::string &stored_hash, std::string_view password);
// A hash of a random password, verified against when the login names no account, so that an
// unknown login costs the same time as a wrong password.
const std::string &dummy_hash();

// 32 random bytes, base64url without padding (43 characters): session ids and token links.
std::string random_token();
// SHA-256 of the token, hex: what the database keeps of a session id or a link's token.
std::string token_hash(std::string_view token);
// Equality of two strings in a time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sonde::console
