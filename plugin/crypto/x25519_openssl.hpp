#pragma once
// X25519 from OpenSSL's libcrypto, for programs that link it anyway (the console): install it
// with set_x25519_implementation(openssl_x25519). Never linked into libsonde.so.

#include "crypto/hpke.hpp"

namespace sonde::crypto {

Error openssl_x25519(std::span<const uint8_t, 32> scalar, std::span<const uint8_t, 32> u,
                     std::array<uint8_t, 32> &out) noexcept;

}  // namespace sonde::crypto
