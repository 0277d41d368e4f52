#pragma once
// The per-client rate limit of uploads (docs/delivery.md#rate-limit): a token bucket per
// (client address, UAI of the path), checked before the body is read and before any
// cryptography. Bounded memory: at most `max_clients` buckets, whatever a flood of junk UAIs
// or addresses does.

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sonde::console {

class RateLimiter {
  public:
    // `per_minute` uploads a minute sustained, `burst` at once; per_minute 0: no limit.
    RateLimiter(unsigned per_minute, unsigned burst, size_t max_clients);
    // Takes one token of the bucket of (peer, base) at `now_ms` (a monotonic clock). Returns 0
    // when the upload may go on; otherwise the whole seconds until a token is back (at least
    // 1), for Retry-After.
    unsigned take(std::string_view peer, std::string_view base, int64_t now_ms);
    size_t clients() const;  // buckets held

  private:
    // Exact integer arithmetic: one token is 60,000 units, and a bucket gains `per_minute` units
    // a millisecond.
    static constexpr int64_t kToken = 60'000;
    struct Bucket {
        int64_t units;
        int64_t at_ms;  // when `units` was computed
    };
    int64_t refilled(const Bucket &b, int64_t now_ms) const;
    void make_room(int64_t now_ms);

    const int64_t per_ms_;  // units a millisecond: the uploads per minute
    const int64_t full_;    // units of a full bucket: burst tokens
    const size_t max_clients_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace sonde::console
