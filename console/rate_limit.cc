#include "rate_limit.hpp"

#include <algorithm>

namespace sonde::console {

RateLimiter::RateLimiter(unsigned per_minute, unsigned burst, size_t max_clients)
    : per_ms_(per_minute),
      full_(int64_t(std::max(1u, burst)) * kToken),
      max_clients_(std::max<size_t>(1, max_clients)) {}

int64_t RateLimiter::refilled(const Bucket &b, int64_t now_ms) const {
    // Capped before multiplying: no overflow, however long the pause.
    const int64_t elapsed = std::clamp<int64_t>(now_ms - b.at_ms, 0, full_);
    return std::min(full_, b.units + elapsed * per_ms_);
}

// Called with the table full. A bucket that has refilled to the burst behaves exactly like no
// bucket at all, so dropping those changes nothing. If that frees less than a quarter of the
// table (a flood of distinct clients within one refill time), the table starts afresh: the
// limits are forgotten for a moment rather than memory grown. Either way the next sweep is at
// least a quarter of the table away, so the cost per request stays constant on average.
void RateLimiter::make_room(int64_t now_ms) {
    std::erase_if(buckets_, [&](const auto &e) { return refilled(e.second, now_ms) >= full_; });
    if (buckets_.size() > max_clients_ - max_clients_ / 4) buckets_.clear();
}

unsigned RateLimiter::take(std::string_view peer, std::string_view base, int64_t now_ms) {
    if (per_ms_ <= 0) return 0;
    std::string key;
    key.reserve(peer.size() + 1 + base.size());
    key.append(peer).append(1, ' ').append(base);
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_clients_) make_room(now_ms);
        it = buckets_.emplace(std::move(key), Bucket{full_, now_ms}).first;
    }
    Bucket &b = it->second;
    b.units = refilled(b, now_ms);
    b.at_ms = std::max(b.at_ms, now_ms);
    if (b.units >= kToken) {
        b.units -= kToken;
        return 0;
    }
    const int64_t wait_ms = (kToken - b.units + per_ms_ - 1) / per_ms_;
    return unsigned(std::max<int64_t>(1, (wait_ms + 999) / 1000));
}

size_t RateLimiter::clients() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace sonde::console
