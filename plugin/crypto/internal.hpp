// Internals shared by the crypto sources, and the RFC 9180 steps the tests check one by one.
// Not part of the public API: these may throw std::bad_alloc (the public wrappers catch it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "crypto/hpke.hpp"

namespace sonde::crypto::detail {

inline constexpr size_t kHashSize = 32;  // Nh = Nsecret for HKDF-SHA256

// Zeroizes with mbedtls_platform_zeroize (which the optimizer may not remove).
void wipe(std::span<uint8_t> buf) noexcept;

// Wipes a buffer when it goes out of scope, so secrets are cleared on every return path.
class WipeOnExit {
  public:
    explicit WipeOnExit(Bytes &b) noexcept : bytes_(&b) {}
    explicit WipeOnExit(std::span<uint8_t> s) noexcept : span_(s) {}
    WipeOnExit(const WipeOnExit &) = delete;
    WipeOnExit &operator=(const WipeOnExit &) = delete;
    ~WipeOnExit() { wipe(bytes_ ? std::span<uint8_t>(*bytes_) : span_); }

  private:
    Bytes *bytes_ = nullptr;  // a vector may still be resized, so look it up at the end
    std::span<uint8_t> span_;
};

// Runs f, turning any exception (std::bad_alloc) into Error::Crypto.
template <class F>
Error no_throw(F &&f) noexcept {
    try {
        return f();
    } catch (...) {
        return Error::Crypto;
    }
}

// The OS randomness (platform::random_bytes: getrandom(2) retried on EINTR and short reads;
// BCryptGenRandom on Windows).
Error fill_random(std::span<uint8_t> out) noexcept;

// RFC 5869 steps on SHA-256.
Error hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                   std::array<uint8_t, kHashSize> &prk) noexcept;
Error hkdf_expand(std::span<const uint8_t> prk, std::span<const uint8_t> info, size_t len,
                  Bytes &okm);

// RFC 9180 §4: LabeledExtract / LabeledExpand; suite_id tells KEM and HPKE uses apart.
Error labeled_extract(std::span<const uint8_t> suite_id, std::span<const uint8_t> salt,
                      std::string_view label, std::span<const uint8_t> ikm, Bytes &prk);
Error labeled_expand(std::span<const uint8_t> suite_id, std::span<const uint8_t> prk,
                     std::string_view label, std::span<const uint8_t> info, size_t len, Bytes &out);

// RFC 9180 §7.1.3, reporting failures.
Error derive_key_pair(std::span<const uint8_t> ikm, KeyPair &out);

// RFC 9180 §4.1 DHKEM. An empty ikmE draws a fresh ephemeral key.
Error encap(std::span<const uint8_t> pkR, std::span<const uint8_t> ikmE, Bytes &shared_secret,
            Bytes &enc);
Error decap(std::span<const uint8_t> enc, const KeyPair &skR, Bytes &shared_secret);
Error auth_encap(std::span<const uint8_t> pkR, const KeyPair &skS, std::span<const uint8_t> ikmE,
                 Bytes &shared_secret, Bytes &enc);
Error auth_decap(std::span<const uint8_t> enc, const KeyPair &skR, std::span<const uint8_t> pkS,
                 Bytes &shared_secret);

enum class Mode : uint8_t { Base = 0x00, Auth = 0x02 };

// RFC 9180 §5.1 KeySchedule without PSK (default psk and psk_id are empty).
Error key_schedule(Aead aead, Mode mode, std::span<const uint8_t> shared_secret,
                   std::span<const uint8_t> info, Context &ctx);

// RFC 9180 §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn).
Error compute_nonce(const Context &ctx, std::array<uint8_t, kNonceSize> &nonce) noexcept;

}  // namespace sonde::crypto::detail
