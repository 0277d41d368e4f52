// RFC 9180 HPKE with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and the three RFC 9180 AEADs,
// built on mbedTLS 2.28 primitives. Modes base (0) and auth (2) only.
//
// Nothing here throws: every fallible call returns an Error (std::bad_alloc from a vector is
// caught and reported as Error::Crypto). On failure, output vectors are cleared and a Context
// passed to setup_* is left unchanged. Outputs may alias inputs. All functions are thread-safe;
// a Context is not (its sequence number changes on every seal/open). Secrets held in temporary
// buffers are wiped with mbedtls_platform_zeroize.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sonde::crypto {

enum class Aead : uint16_t { Aes128Gcm = 1, Aes256Gcm = 2, ChaCha20Poly1305 = 3 };

using Bytes = std::vector<uint8_t>;

// X25519 key pair. private_key is the raw 32-byte scalar (clamped only inside x25519()).
struct KeyPair {
    std::array<uint8_t, 32> private_key;
    std::array<uint8_t, 32> public_key;
};

enum class Error {
    None,
    BadKey,    // invalid X25519 key: low-order point, all-zero shared secret
    BadInput,  // wrong length or size limit exceeded
    Crypto,    // mbedTLS failure, out of memory, or a context's sequence number is used up
    Auth,      // open failed: tampered or wrong key
    Random,    // the OS random source failed
};

const char *error_text(Error) noexcept;

// Sizes for DHKEM(X25519, HKDF-SHA256) and the AEADs.
inline constexpr size_t kKeySize = 32;    // Nsk = Npk = Nenc
inline constexpr size_t kNonceSize = 12;  // Nn
inline constexpr size_t kTagSize = 16;    // Nt

// AEAD key length Nk (0 for an unknown id).
size_t aead_key_size(Aead) noexcept;

// RFC 9180 §7.1.3 DeriveKeyPair for DHKEM(X25519, HKDF-SHA256). Cannot fail for valid input;
// on an internal failure (out of memory) the key pair is all zero, which every setup rejects.
KeyPair derive_key_pair(std::span<const uint8_t> ikm) noexcept;
// Fresh randomness (getrandom) -> derive_key_pair.
Error generate_key_pair(KeyPair &out) noexcept;
Error public_from_private(std::span<const uint8_t, 32> sk, std::array<uint8_t, 32> &pk) noexcept;

// Sender or receiver context after the key schedule.
struct Context {
    Aead aead = Aead::Aes128Gcm;
    Bytes key;
    Bytes base_nonce;
    uint64_t seq = 0;
    Bytes exporter_secret;

    // Move-only: two copies of a sender context would seal with the same nonces.
    // Overwritten and destroyed secrets are wiped.
    Context() = default;
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;
    Context(Context &&) noexcept = default;
    Context &operator=(Context &&other) noexcept;
    ~Context();

    // Both advance seq only on success, so a failed open can be retried with the right input.
    Error seal(std::span<const uint8_t> aad, std::span<const uint8_t> pt, Bytes &ct) noexcept;
    Error open(std::span<const uint8_t> aad, std::span<const uint8_t> ct, Bytes &pt) noexcept;
    // RFC 9180 §5.3 Export; len <= 255 * 32.
    Error export_secret(std::span<const uint8_t> exporter_context, size_t len,
                        Bytes &out) const noexcept;
    // Zeroizes key, base_nonce and exporter_secret and empties them.
    void wipe() noexcept;
};

// Mode base (0) and auth (2). `ephemeral_ikm` empty = fresh randomness; non-empty =
// deterministic (tests only: reusing an ephemeral key breaks confidentiality).
// The KeyPair arguments must be consistent (public_key = X25519(private_key, 9)), as produced by
// derive_key_pair / generate_key_pair / public_from_private.
Error setup_base_s(Aead, std::span<const uint8_t> pkR, std::span<const uint8_t> info, Bytes &enc,
                   Context &ctx, std::span<const uint8_t> ephemeral_ikm = {}) noexcept;
Error setup_base_r(Aead, std::span<const uint8_t> enc, const KeyPair &skR,
                   std::span<const uint8_t> info, Context &ctx) noexcept;
Error setup_auth_s(Aead, std::span<const uint8_t> pkR, const KeyPair &skS,
                   std::span<const uint8_t> info, Bytes &enc, Context &ctx,
                   std::span<const uint8_t> ephemeral_ikm = {}) noexcept;
Error setup_auth_r(Aead, std::span<const uint8_t> enc, const KeyPair &skR,
                   std::span<const uint8_t> pkS, std::span<const uint8_t> info,
                   Context &ctx) noexcept;

// Single-shot helpers (mode auth, seq 0). The message on the wire is enc || ct.
Error seal_auth(Aead, std::span<const uint8_t> pkR, const KeyPair &skS,
                std::span<const uint8_t> info, std::span<const uint8_t> aad,
                std::span<const uint8_t> pt, Bytes &enc, Bytes &ct) noexcept;
Error open_auth(Aead, std::span<const uint8_t> enc, const KeyPair &skR,
                std::span<const uint8_t> pkS, std::span<const uint8_t> info,
                std::span<const uint8_t> aad, std::span<const uint8_t> ct, Bytes &pt) noexcept;

// Primitives, exposed for the Wycheproof tests.
// Clamps the scalar; rejects low-order points and an all-zero output (RFC 9180 §7.1.4) with
// BadKey. Non-canonical u (>= p, or top bit set) is accepted as RFC 7748 §5 says.
Error x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
             std::array<uint8_t, 32> &out) noexcept;

// The X25519 scalar multiplication itself: RFC 7748 §5 (clamping the scalar, masking u's top
// bit), BadKey for a low-order u, Crypto for other failures. x25519() checks the all-zero
// output whatever the implementation.
using X25519Implementation = Error (*)(std::span<const uint8_t, 32> scalar,
                                       std::span<const uint8_t, 32> u,
                                       std::array<uint8_t, 32> &out) noexcept;
// Replaces mbedTLS's generic-bignum X25519 (about 0.35 ms per multiplication) in this process,
// before any thread uses this library. Programs only, never the plugin: the console installs
// OpenSSL's (openssl_x25519, 10 times faster), which the same RFC 9180 and Wycheproof vectors
// check (ctest crypto-openssl:*). nullptr restores mbedTLS's.
void set_x25519_implementation(X25519Implementation) noexcept;

// key: Nk bytes, nonce: 12 bytes, tag: 16 bytes appended to / taken from the end of ct.
Error aead_seal(Aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> pt,
                Bytes &ct_and_tag) noexcept;
Error aead_open(Aead, std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> ct_and_tag,
                Bytes &pt) noexcept;
// RFC 5869; len <= 255 * 32, else BadInput.
Error hkdf_sha256(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                  std::span<const uint8_t> info, size_t len, Bytes &okm) noexcept;

}  // namespace sonde::crypto
