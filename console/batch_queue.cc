#include "batch_queue.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

namespace sonde::console {

bool BatchQueue::push(const FileRef &ref) {
    Key key{ref.base, ref.sequence};
    if (!live_.emplace(key, ref).second) return false;
    by_base_[ref.base].push_back(ref.sequence);
    arrival_.push_back(std::move(key));
    if (ref.received_unix != 0) received_.insert(ref.received_unix);
    return true;
}

std::vector<FileRef> BatchQueue::pick(size_t limit) {
    std::vector<FileRef> out;
    std::set<std::string, std::less<>> taken;  // bases already in this batch
    for (auto it = arrival_.begin(); it != arrival_.end() && out.size() < limit; ++it) {
        if (taken.count(it->first) || !live_.count(*it)) continue;
        taken.insert(it->first);
        for (const uint64_t sequence : by_base_[it->first]) {
            if (out.size() == limit) break;
            out.push_back(live_.at({it->first, sequence}));
        }
    }
    return out;
}

void BatchQueue::done(const std::vector<FileRef> &refs) {
    for (const FileRef &ref : refs) {
        const auto it = live_.find({ref.base, ref.sequence});
        if (it == live_.end()) continue;
        if (const int64_t received = it->second.received_unix; received != 0)
            if (const auto r = received_.find(received); r != received_.end()) received_.erase(r);
        live_.erase(it);
        const auto b = by_base_.find(ref.base);
        if (b == by_base_.end()) continue;
        std::erase(b->second, ref.sequence);
        if (b->second.empty()) by_base_.erase(b);
    }
    while (!arrival_.empty() && !live_.count(arrival_.front())) arrival_.pop_front();
    // Entries done out of order stay behind live ones until they reach the front; bound them
    // so that a long catch-up does not keep a dead entry per file ever applied.
    if (arrival_.size() > 2 * live_.size() + 1024) {
        std::erase_if(arrival_, [&](const Key &k) { return !live_.count(k); });
    }
}

namespace {

struct RowKeyHash {
    size_t operator()(const FigureRow *r) const noexcept {
        size_t h = std::hash<std::string>{}(r->base);
        auto mix = [&h](uint64_t v) {
            h ^= std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2);
        };
        mix(r->generation);
        mix(r->family);
        mix(r->window_kind);
        mix(uint64_t(r->window_start));
        for (const uint32_t d : r->dims) mix(d);
        return h;
    }
};
struct RowKeyEqual {
    bool operator()(const FigureRow *a, const FigureRow *b) const noexcept {
        return std::tie(a->base, a->generation, a->family, a->window_kind, a->window_start,
                        a->dims) == std::tie(b->base, b->generation, b->family, b->window_kind,
                                             b->window_start, b->dims);
    }
};

}  // namespace

void keep_newest_per_key(std::vector<FigureRow> &rows) {
    std::unordered_map<const FigureRow *, size_t, RowKeyHash, RowKeyEqual> first;
    first.reserve(rows.size());
    std::vector<bool> keep(rows.size(), false);
    for (size_t i = 0; i < rows.size(); ++i) {
        const auto [it, inserted] = first.emplace(&rows[i], i);
        if (inserted) {
            keep[i] = true;
        } else if (rows[i].sequence > rows[it->second].sequence) {
            // The newer row takes the first one's place, so the order stays the keys' first
            // appearance.
            std::swap(rows[it->second], rows[i]);
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < rows.size(); ++i)
        if (keep[i]) {
            if (n != i) rows[n] = std::move(rows[i]);
            ++n;
        }
    rows.resize(n);
}

}  // namespace sonde::console
