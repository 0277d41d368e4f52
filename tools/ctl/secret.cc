#include "secret.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "platform/process.hpp"

namespace sonde::ctl {

std::optional<SipKey> generate_secret(std::string *error) {
    uint64_t words[2] = {0, 0};
    // getrandom on Linux, BCryptGenRandom on Windows (plugin/platform).
    if (!platform::random_bytes(words, sizeof words)) {
        *error = std::string("no randomness from the OS: ") + std::strerror(errno);
        return std::nullopt;
    }
    // An all-zero key reads as "no secret" in the config file; 2^-128, but cheap to exclude.
    if (words[0] == 0 && words[1] == 0) words[1] = 1;
    return SipKey{words[0], words[1]};
}

}  // namespace sonde::ctl
