#include "secret.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace sonde::ctl {

std::optional<SipKey> generate_secret(std::string *error) {
    uint64_t words[2] = {0, 0};
    auto *bytes = reinterpret_cast<unsigned char *>(words);
    size_t got = 0;
    while (got < sizeof words) {
        const ssize_t n = ::getrandom(bytes + got, sizeof words - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            *error = std::string("getrandom: ") + std::strerror(errno);
            return std::nullopt;
        }
        got += size_t(n);
    }
    // An all-zero key reads as "no secret" in the config file; 2^-128, but cheap to exclude.
    if (words[0] == 0 && words[1] == 0) words[1] = 1;
    return SipKey{words[0], words[1]};
}

}  // namespace sonde::ctl
