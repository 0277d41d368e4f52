#include <catch2/catch.hpp>
#include <cstdint>

#include "core/siphash.hpp"

// Reference vectors of the SipHash paper (key 00..0f, message 00..len-1).
TEST_CASE("siphash24 matches the reference vectors", "[siphash]") {
    const sonde::SipKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    uint8_t msg[64];
    for (int i = 0; i < 64; ++i) msg[i] = uint8_t(i);
    CHECK(sonde::siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    CHECK(sonde::siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
    CHECK(sonde::siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

TEST_CASE("siphash24 depends on the key", "[siphash]") {
    const char *user = "G-0310001A-000123";
    const uint64_t a = sonde::siphash24({1, 2}, user, 17);
    const uint64_t b = sonde::siphash24({1, 3}, user, 17);
    CHECK(a != b);
    CHECK(a == sonde::siphash24({1, 2}, user, 17));
}
