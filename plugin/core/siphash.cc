#include "core/siphash.hpp"

#include <cstring>

namespace sonde {
namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct State {
    uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
    void absorb(uint64_t m) {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

inline uint64_t load_le64(const unsigned char *p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;  // x86-64 and aarch64 hosts are little-endian; the header records byte order
}

}  // namespace

uint64_t siphash24(const SipKey &key, const void *data, size_t len) noexcept {
    State s{0x736f6d6570736575ULL ^ key.k0, 0x646f72616e646f6dULL ^ key.k1,
            0x6c7967656e657261ULL ^ key.k0, 0x7465646279746573ULL ^ key.k1};
    const auto *p = static_cast<const unsigned char *>(data);
    const size_t whole = len & ~size_t{7};
    for (size_t i = 0; i < whole; i += 8) s.absorb(load_le64(p + i));
    uint64_t last = uint64_t(len) << 56;
    for (size_t i = 0; i < (len & 7); ++i) last |= uint64_t(p[whole + i]) << (8 * i);
    s.absorb(last);
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace sonde
