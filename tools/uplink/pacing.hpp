#pragma once
// Pacing of the uplink (docs/delivery.md#pacing): pure functions of the clock and of a random
// number, so the tests drive them deterministically.

#include <cstdint>
#include <optional>
#include <string_view>

namespace sonde::uplink {

inline constexpr int64_t kBackoffBaseMs = 5'000;       // first retry within 5 s
inline constexpr int64_t kBackoffCapMs = 15 * 60'000;  // never more than 15 min apart
inline constexpr int64_t kBackoffFloorMs = 1'000;      // never a tight loop
inline constexpr int64_t kMaxRetryAfterMs = 3600'000;  // a larger Retry-After is cut to 1 h

// Upper bound of the n-th consecutive failure's delay (n >= 1): min(cap, base * 2^(n-1)).
int64_t backoff_ceiling_ms(uint32_t failures) noexcept;

// Full jitter: uniform in [0, ceiling] from `random`, then at least kBackoffFloorMs.
int64_t backoff_delay_ms(uint32_t failures, uint64_t random) noexcept;

// The delay after a failure: the backoff, and at least Retry-After (capped at 1 h) if given.
int64_t retry_delay_ms(uint32_t failures, uint64_t random,
                       std::optional<int64_t> retry_after_s) noexcept;

// Stable offset of a base inside the interval: FNV-1a 64 of the UAI, modulo the interval.
uint64_t fnv1a64(std::string_view text) noexcept;
int64_t base_offset_ms(std::string_view uai, int64_t interval_ms) noexcept;

// The first instant strictly after `now_ms` that is `offset_ms` past an interval boundary
// (boundaries are multiples of interval_ms since the epoch, like the shipper's).
int64_t next_slot_ms(int64_t now_ms, int64_t offset_ms, int64_t interval_ms) noexcept;

// Retry-After as delay-seconds (RFC 9110 §10.2.3): digits only, at most 10 of them.
std::optional<int64_t> parse_retry_after(std::string_view value) noexcept;

}  // namespace sonde::uplink
