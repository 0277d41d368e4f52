#pragma once
// The service's counters, rendered as OpenMetrics text for GET /metrics.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "journal.hpp"

namespace sonde::console {

class Metrics {
  public:
    enum class Upload { Stored, Duplicate, Rejected, Retry, Count_ };
    void upload(Upload status) { uploads_[size_t(status)].fetch_add(1, std::memory_order_relaxed); }
    void rejected(const std::string &reason);
    void accepted(const std::string &base, uint64_t sequence, int64_t created_unix);
    // A 429 (also counted as a `retry` upload).
    void rate_limited() { rate_limited_.fetch_add(1, std::memory_order_relaxed); }
    void applied(uint64_t files) { applied_.fetch_add(files, std::memory_order_relaxed); }
    void backlog(uint64_t files, int64_t oldest_received_unix);
    std::atomic<int64_t> connections{0};
    // The inbox journal's figures, read at each render. Set before serving.
    void set_journal(std::function<Journal::Stats()> stats) { journal_ = std::move(stats); }

    std::string render(int64_t now_unix) const;

  private:
    std::atomic<uint64_t> uploads_[size_t(Upload::Count_)]{};
    std::atomic<uint64_t> applied_{0};
    std::atomic<uint64_t> rate_limited_{0};
    std::atomic<uint64_t> backlog_files_{0};
    std::atomic<int64_t> oldest_pending_{0};
    mutable std::mutex mutex_;
    std::map<std::string, uint64_t> rejections_;
    struct Last {
        uint64_t sequence = 0;
        int64_t created_unix = 0;
    };
    std::map<std::string, Last> last_;
    std::function<Journal::Stats()> journal_;
};

}  // namespace sonde::console
