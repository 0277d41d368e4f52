// Pacing of the uplink (docs/delivery.md#pacing), as pure functions of the clock and a random
// number: no sleeping.

#include <catch2/catch.hpp>
#include <set>

#include "pacing.hpp"

using namespace sonde::uplink;

TEST_CASE("backoff doubles from 5 s and is capped at 15 minutes, never giving up") {
    CHECK(backoff_ceiling_ms(1) == 5'000);
    CHECK(backoff_ceiling_ms(2) == 10'000);
    CHECK(backoff_ceiling_ms(3) == 20'000);
    CHECK(backoff_ceiling_ms(8) == 640'000);
    CHECK(backoff_ceiling_ms(9) == 900'000);
    CHECK(backoff_ceiling_ms(1000) == 900'000);
    CHECK(backoff_ceiling_ms(4'000'000'000u) == 900'000);
}

TEST_CASE("full jitter spans [floor, ceiling] from the random source") {
    CHECK(backoff_delay_ms(3, 20'000) == 20'000);  // the top of the range
    CHECK(backoff_delay_ms(3, 20'001) == 1'000);   // 0, raised to the floor
    CHECK(backoff_delay_ms(3, 7'777) == 7'777);
    CHECK(backoff_delay_ms(20, 899'999) == 899'999);
    for (uint64_t r : {0ull, 1ull, 12345678901234ull, ~0ull}) {
        const int64_t d = backoff_delay_ms(12, r);
        CHECK(d >= kBackoffFloorMs);
        CHECK(d <= kBackoffCapMs);
    }
}

TEST_CASE("Retry-After is a lower bound on the delay, cut at one hour") {
    CHECK(retry_delay_ms(1, 0, 120) == 120'000);
    CHECK(retry_delay_ms(1, 5'000, 2) == 5'000);  // the backoff is longer
    CHECK(retry_delay_ms(1, 0, 86'400) == 3'600'000);
    CHECK(retry_delay_ms(1, 0, std::nullopt) == 1'000);
    CHECK(parse_retry_after(" 120\r\n") == 120);
    CHECK(parse_retry_after("0") == 0);
    CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
    CHECK_FALSE(parse_retry_after("-5"));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("99999999999"));
}

TEST_CASE("each base has a stable offset inside the interval, spread over it") {
    const int64_t interval = 15 * 60'000;
    CHECK(base_offset_ms("0310001A", interval) == base_offset_ms("0310001A", interval));
    // FNV-1a 64 of the UAI: a documented, version-independent function.
    CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
    CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    // 10,000 UAIs over 900 one-second buckets: no bucket holds more than 3x the mean.
    std::vector<int> buckets(900);
    for (int i = 0; i < 10'000; ++i) {
        char uai[9];
        std::snprintf(uai, sizeof uai, "%07d%c", 310000 + i * 7, 'A' + i % 26);
        const int64_t off = base_offset_ms(uai, interval);
        REQUIRE(off >= 0);
        REQUIRE(off < interval);
        ++buckets[size_t(off / 1000)];
    }
    CHECK(*std::max_element(buckets.begin(), buckets.end()) < 3 * 10'000 / 900);
    CHECK(*std::min_element(buckets.begin(), buckets.end()) >= 1);
}

TEST_CASE("the next slot is the offset past an interval boundary, strictly after now") {
    const int64_t I = 900'000;
    CHECK(next_slot_ms(10 * I, 5'000, I) == 10 * I + 5'000);
    CHECK(next_slot_ms(10 * I + 5'000, 5'000, I) == 11 * I + 5'000);
    CHECK(next_slot_ms(10 * I + 4'999, 5'000, I) == 10 * I + 5'000);
    CHECK(next_slot_ms(10 * I + 6'000, 5'000, I) == 11 * I + 5'000);
    CHECK(next_slot_ms(10 * I, 0, I) == 11 * I);
}
