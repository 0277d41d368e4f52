// Wiping and OS randomness.
#include <mbedtls/platform_util.h>

#include "crypto/internal.hpp"
#include "platform/process.hpp"

namespace sonde::crypto::detail {

void wipe(std::span<uint8_t> buf) noexcept {
    if (!buf.empty()) mbedtls_platform_zeroize(buf.data(), buf.size());
}

Error fill_random(std::span<uint8_t> out) noexcept {
    return platform::random_bytes(out.data(), out.size()) ? Error::None : Error::Random;
}

}  // namespace sonde::crypto::detail
