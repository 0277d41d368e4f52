#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sonde {

// SipHash-2-4 (Aumasson & Bernstein): a keyed PRF, so user and student identifiers are
// pseudonymised with the base's secret before they touch shared memory. Allocation-free.
struct SipKey {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
};

namespace siphash_detail {

// Little-endian loads of whole words and of the 1 to 7 trailing bytes, with memcpy (any
// alignment, one mov on x86-64 and aarch64).
inline uint64_t load_le64(const unsigned char *p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

inline uint64_t load_le32(const unsigned char *p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, 4);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
    return v;
}

// The last n = len & 7 bytes (end points past them), as the low bytes of a word. Reads only
// bytes of the message: with a whole word before them (len >= 8), one load of the last 8 bytes
// shifted right; otherwise two overlapping 4-byte loads, or three single bytes.
inline uint64_t load_tail(const unsigned char *end, size_t n, size_t len) noexcept {
    if (n == 0) return 0;
    if (len >= 8) return load_le64(end - 8) >> (64 - 8 * n);
    const unsigned char *p = end - n;
    if (n >= 4) return load_le32(p) | (load_le32(end - 4) << (8 * (n - 4)));
    return uint64_t(p[0]) | (uint64_t(p[n / 2]) << (8 * (n / 2))) |
           (uint64_t(p[n - 1]) << (8 * (n - 1)));
}

struct State {
    uint64_t v0, v1, v2, v3;
    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }
    void absorb(uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

}  // namespace siphash_detail

// Inline, so the hot path (connection, student) compiles it in place. Byte-identical to the
// reference implementation (tests/unit/test_siphash.cc checks its 64 vectors).
inline uint64_t siphash24(const SipKey &key, const void *data, size_t len) noexcept {
    using namespace siphash_detail;
    State s{0x736f6d6570736575ULL ^ key.k0, 0x646f72616e646f6dULL ^ key.k1,
            0x6c7967656e657261ULL ^ key.k0, 0x7465646279746573ULL ^ key.k1};
    const auto *p = static_cast<const unsigned char *>(data);
    const unsigned char *const end = p + len;
    for (const unsigned char *const last = p + (len & ~size_t{7}); p != last; p += 8)
        s.absorb(load_le64(p));
    s.absorb((uint64_t(len) << 56) | load_tail(end, len & 7, len));
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace sonde
