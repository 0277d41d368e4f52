#pragma once
// The .sonde file: one snapshot, compressed with zstd and sealed with RFC 9180 HPKE mode_auth
// (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM or ChaCha20-Poly1305) from the school
// server's key to the console's key.
//
//   offset size  field (little-endian)
//        0    8  magic "SONDSNAP"
//        8    2  format version (1)
//       10    2  kem id  0x0020 DHKEM(X25519, HKDF-SHA256)
//       12    2  kdf id  0x0001 HKDF-SHA256
//       14    2  aead id 0x0002 AES-256-GCM | 0x0003 ChaCha20-Poly1305
//       16    8  recipient key id (first 8 bytes of SHA-256 of the public key)
//       24    8  sender key id
//       32    8  base id (UAI, 7 digits + 1 capital letter, ASCII)
//       40    8  sequence (strictly increasing per base)
//       48    8  created, unix seconds (signed)
//       56    4  compressed length  C (zstd frame = plaintext of the AEAD)
//       60    4  uncompressed length U (serialized Snapshot)
//       64   32  enc (HPKE encapsulated key)
//       96  C+16 ciphertext and tag
// The 64-byte header is the AEAD's associated data, so any change to it fails authentication;
// the file is exactly 112 + C bytes. HPKE info = "sonde snapshot v1" || base id.
//
// This file needs no protobuf: the plugin seals, the console opens (console.hpp adds the
// protobuf parse and the schema checks on top of open_payload).

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hpke.hpp"
#include "snapshot/keys.hpp"
#include "snapshot/limits.hpp"
#include "snapshot/model.hpp"

namespace sonde::snapshot {

using Bytes = std::vector<uint8_t>;

inline constexpr std::array<uint8_t, 8> kMagic = {'S', 'O', 'N', 'D', 'S', 'N', 'A', 'P'};
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kKemX25519Sha256 = 0x0020;
inline constexpr uint16_t kKdfHkdfSha256 = 0x0001;
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kEncSize = crypto::kKeySize;
inline constexpr size_t kOverhead =
    kHeaderSize + kEncSize + crypto::kTagSize;  // file = kOverhead + C
inline constexpr size_t kDefaultMaxUncompressed = 4u << 20;
inline constexpr int kDefaultCompressionLevel = 19;
inline constexpr const char *kInfoPrefix = "sonde snapshot v1";

// The receipt of a file: RFC 9180 §5.3 Export of the file's own HPKE context, with the exporter
// context kReceiptLabel. The sender computes it while sealing and keeps it; the console computes
// it while opening. Only the holder of the console's private key (or of the ephemeral secret,
// gone after sealing) can, so a 200 from a man in the middle cannot carry it.
inline constexpr const char *kReceiptLabel = "sonde receipt v1";
inline constexpr size_t kReceiptSize = 32;
using Receipt = std::array<uint8_t, kReceiptSize>;

struct Header {
    uint16_t version = kFormatVersion;
    uint16_t kem = kKemX25519Sha256;
    uint16_t kdf = kKdfHkdfSha256;
    uint16_t aead = uint16_t(crypto::Aead::ChaCha20Poly1305);
    KeyId recipient{};
    KeyId sender{};
    std::array<char, 8> base_id{};
    uint64_t sequence = 0;
    int64_t created_unix = 0;
    uint32_t compressed_size = 0;
    uint32_t uncompressed_size = 0;

    std::string base() const { return std::string(base_id.data(), base_id.size()); }
};

std::array<uint8_t, kHeaderSize> encode_header(const Header &header) noexcept;
bool valid_base_id(std::string_view id) noexcept;  // 7 ASCII digits + 1 ASCII capital letter
Bytes hpke_info(std::string_view base_id);

// Why a file was refused. Each has one cause, so the console can count them and the tests
// can check that a file was refused for the right reason.
enum class OpenError {
    None,
    Truncated,      // shorter than its header says (or than a header)
    TrailingBytes,  // longer than its header says
    BadMagic,
    UnsupportedVersion,
    UnsupportedSuite,  // kem, kdf or aead this build does not implement
    BadBaseId,         // not a UAI
    WrongRecipient,    // sealed to another key than the console's
    UnknownSender,     // sender key id not among the trusted keys
    BadTrustedKey,     // a trusted entry whose id is not the id of its key (configuration)
    TooLarge,          // declared or actual uncompressed size over the bound
    Authentication,    // tampered header or body, or not sealed by the named sender key
    Replay,            // sequence not above the last one seen for the base
    Decompression,     // not exactly one well-formed zstd frame
    SizeMismatch,      // decompressed size differs from the declared one
    BadPayload,        // not a Snapshot message (console.hpp)
    SchemaMismatch,    // another catalogue (console.hpp)
    HeaderMismatch,    // payload's base, sequence or time differ from the header (console.hpp)
    Internal,          // out of memory, crypto library failure, a file that cannot be read
    // The sender key is trusted, but not registered for the base the header names (one
    // server's key cannot seal another base's files). Checked before any cryptography.
    SenderNotForBase,
};
const char *open_error_name(OpenError) noexcept;

// The largest .sonde file that can hold a payload of at most `max_uncompressed` bytes: the
// envelope's overhead plus zstd's bound for that size. A reader refuses a larger file before
// reading it (console.hpp, read_sealed_file).
size_t max_sealed_size(size_t max_uncompressed) noexcept;

// Reads and checks the header only (magic, version, suite, base id, total length); no key
// needed: the spool and shipper use it to route files. Nothing in it is authenticated yet.
OpenError parse_header(std::span<const uint8_t> file, Header &out, std::string *error);

struct SealParams {
    PublicKey recipient_public{};
    crypto::KeyPair sender{};
    crypto::Aead aead = crypto::Aead::ChaCha20Poly1305;  // fast without AES-NI too
    std::string base_id;
    uint64_t sequence = 0;
    int64_t created_unix = 0;
    int compression_level = kDefaultCompressionLevel;
    // Deterministic HPKE ephemeral key: tests only (reuse breaks confidentiality).
    Bytes ephemeral_ikm;

    // The copy of the sender's private key is wiped with the params.
    SealParams() = default;
    SealParams(const SealParams &) = default;
    SealParams &operator=(const SealParams &) = default;
    ~SealParams() { wipe(sender); }
};

// Encodes, compresses and seals. The snapshot's base_id, sequence and created_unix must equal
// the params' (the console checks they agree). On failure `file` is empty. When `receipt` is
// given, it receives the file's receipt (see kReceiptLabel).
bool seal_snapshot(const Snapshot &snapshot, const SealParams &params, Bytes &file,
                   std::string *error, Receipt *receipt = nullptr);
// Same from already serialized Snapshot bytes.
bool seal_snapshot(std::span<const uint8_t> snapshot_bytes, const SealParams &params, Bytes &file,
                   std::string *error, Receipt *receipt = nullptr);
// Seals a payload as given (already a zstd frame), declaring `uncompressed_size`: for tools
// and for tests that craft hostile files.
bool seal_compressed(std::span<const uint8_t> zstd_frame, uint32_t uncompressed_size,
                     const SealParams &params, Bytes &file, std::string *error,
                     Receipt *receipt = nullptr);

struct OpenParams {
    crypto::KeyPair recipient{};
    std::map<KeyId, PublicKey> trusted_senders;
    // The bases each trusted key is registered for (key id -> UAIs). A file whose header names
    // a base its sender key is not registered for is refused (SenderNotForBase) before any
    // cryptography; a key with no entry here is registered for no base. Fill both maps with
    // trust_sender().
    std::map<KeyId, std::set<std::string>> sender_bases;
    size_t max_uncompressed = kDefaultMaxUncompressed;
    // Figures (values, gauges, distinct, distributions, suppressed, level labels) a snapshot may
    // hold: more is refused (TooLarge) before the message is parsed (limits.hpp).
    size_t max_figures = kDefaultMaxFigures;
    // Replay protection when set: base id -> highest sequence already accepted. The caller
    // updates it once the snapshot is stored (opening never changes it).
    const std::map<std::string, uint64_t> *last_sequence_seen = nullptr;
    // When set, receives the file's receipt once the file is authenticated (see kReceiptLabel).
    Receipt *receipt = nullptr;

    // The copy of the console's private key is wiped with the params.
    OpenParams() = default;
    OpenParams(const OpenParams &) = default;
    OpenParams &operator=(const OpenParams &) = default;
    ~OpenParams() { wipe(recipient); }
};

// Registers `key` as a trusted sender for `base` (a UAI): adds it to trusted_senders and
// `base` to its sender_bases. Call once per base the key seals for.
void trust_sender(OpenParams &params, const PublicKey &key, std::string_view base);

// Checks, authenticates, decrypts and decompresses: `snapshot_bytes` is the serialized
// Snapshot, not parsed. On failure `snapshot_bytes` is empty and `error` says why; `header`
// holds whatever header could be parsed (for logs: it is authentic only on success).
OpenError open_payload(std::span<const uint8_t> file, const OpenParams &params,
                       Bytes &snapshot_bytes, Header &header, std::string *error);

}  // namespace sonde::snapshot
