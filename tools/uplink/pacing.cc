#include "pacing.hpp"

#include <algorithm>

namespace sonde::uplink {

int64_t backoff_ceiling_ms(uint32_t failures) noexcept {
    if (failures == 0) return 0;
    int64_t ceiling = kBackoffBaseMs;
    for (uint32_t i = 1; i < failures && ceiling < kBackoffCapMs; ++i) ceiling *= 2;
    return std::min(ceiling, kBackoffCapMs);
}

int64_t backoff_delay_ms(uint32_t failures, uint64_t random) noexcept {
    const int64_t ceiling = backoff_ceiling_ms(failures);
    const int64_t jittered = int64_t(random % uint64_t(ceiling + 1));
    return std::max(jittered, kBackoffFloorMs);
}

int64_t retry_delay_ms(uint32_t failures, uint64_t random,
                       std::optional<int64_t> retry_after_s) noexcept {
    int64_t delay = backoff_delay_ms(failures, random);
    if (retry_after_s && *retry_after_s >= 0)
        delay = std::max(delay, std::min(*retry_after_s * 1000, kMaxRetryAfterMs));
    return delay;
}

uint64_t fnv1a64(std::string_view text) noexcept {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

int64_t base_offset_ms(std::string_view uai, int64_t interval_ms) noexcept {
    if (interval_ms <= 0) return 0;
    return int64_t(fnv1a64(uai) % uint64_t(interval_ms));
}

int64_t next_slot_ms(int64_t now_ms, int64_t offset_ms, int64_t interval_ms) noexcept {
    if (interval_ms <= 0) return now_ms + 1;
    int64_t boundary = now_ms - ((now_ms % interval_ms) + interval_ms) % interval_ms;
    int64_t slot = boundary + offset_ms;
    while (slot <= now_ms) slot += interval_ms;
    return slot;
}

std::optional<int64_t> parse_retry_after(std::string_view value) noexcept {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                              value.back() == '\n'))
        value.remove_suffix(1);
    if (value.empty() || value.size() > 10) return std::nullopt;
    int64_t v = 0;
    for (char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

}  // namespace sonde::uplink
