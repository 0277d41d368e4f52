#pragma once
// HPKE key files of the snapshot channel: each school server has a sender key pair, each
// console a recipient key pair; each side knows the other's public key. A key is named by
// its id, the first 8 bytes of SHA-256(public key), which the envelope header carries.
//
// File format (text, one "name value" per line, unknown names rejected):
//     sonde-key v1
//     kind private            (or: public)
//     key-id 1a2b3c4d5e6f7081
//     public <64 hex digits>
//     private <64 hex digits> (private files only)
//     bases 0310001A,0310002B (public files only, optional: the bases the key seals for)
// Private files are created 0600 whatever the umask, and a private file readable by group or
// others is refused on load, like ssh does.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "crypto/hpke.hpp"

namespace sonde::snapshot {

using KeyId = std::array<uint8_t, 8>;
using PublicKey = std::array<uint8_t, 32>;

KeyId key_id(std::span<const uint8_t, 32> public_key) noexcept;
std::string to_hex(std::span<const uint8_t> bytes);

// Writes atomically (temporary file, fsync, rename or link, fsync of the directory).
// overwrite = false refuses an existing file: losing a private key loses its snapshots.
bool save_key_pair(const std::string &path, const crypto::KeyPair &key, bool overwrite,
                   std::string *error);
// `bases` (UAIs) is written as the `bases` line when not empty: the console registers the
// key for those bases only (docs/security.md).
bool save_public_key(const std::string &path, const PublicKey &key, bool overwrite,
                     std::string *error, const std::vector<std::string> &bases = {});

// A private file: checks its mode, its format, that key-id matches the public key and that
// the public key is the one of the private key.
bool load_key_pair(const std::string &path, crypto::KeyPair &out, std::string *error);
// A public file, or the public half of a private file (key-id checked). `bases`, when given,
// receives the file's `bases` line (empty when it has none).
bool load_public_key(const std::string &path, PublicKey &out, std::string *error,
                     std::vector<std::string> *bases = nullptr);

// Zeroizes the private half (mbedtls_platform_zeroize: not optimized away).
void wipe(crypto::KeyPair &key) noexcept;

// generate_key_pair + save_key_pair(overwrite = false).
bool generate_key_file(const std::string &path, crypto::KeyPair &out, std::string *error);

}  // namespace sonde::snapshot
