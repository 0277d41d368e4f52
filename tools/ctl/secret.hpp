#pragma once
// A fresh per-base secret: 128 bits from the kernel's CSPRNG.

#include <optional>
#include <string>

#include "core/siphash.hpp"

namespace sonde::ctl {

// nullopt (and *error) if the kernel could not provide randomness; never a weak fallback,
// since the secret is what keeps the hashed user keys pseudonymous.
std::optional<SipKey> generate_secret(std::string *error);

}  // namespace sonde::ctl
