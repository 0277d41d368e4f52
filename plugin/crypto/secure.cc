// Wiping and OS randomness.
#include <mbedtls/platform_util.h>
#include <sys/random.h>

#include <cerrno>

#include "crypto/internal.hpp"

namespace sonde::crypto::detail {

void wipe(std::span<uint8_t> buf) noexcept {
    if (!buf.empty()) mbedtls_platform_zeroize(buf.data(), buf.size());
}

Error fill_random(std::span<uint8_t> out) noexcept {
    size_t done = 0;
    while (done < out.size()) {
        // Flags 0: blocks only until the kernel pool is first initialised, then never.
        ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::Random;
        }
        done += static_cast<size_t>(n);
    }
    return Error::None;
}

}  // namespace sonde::crypto::detail
