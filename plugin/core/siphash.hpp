#pragma once
#include <cstddef>
#include <cstdint>

namespace sonde {

// SipHash-2-4 (Aumasson & Bernstein): a keyed PRF, so user and student identifiers are
// pseudonymised with the base's secret before they touch shared memory. Allocation-free.
struct SipKey {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
};

uint64_t siphash24(const SipKey &key, const void *data, size_t len) noexcept;

}  // namespace sonde
