#include "metrics.hpp"

#include <string_view>

namespace sonde::console {

void Metrics::rejected(const std::string &reason) {
    std::lock_guard lock(mutex_);
    ++rejections_[reason];
}

void Metrics::accepted(const std::string &base, uint64_t sequence, int64_t created_unix) {
    std::lock_guard lock(mutex_);
    Last &l = last_[base];
    if (sequence >= l.sequence) l = {sequence, created_unix};
}

void Metrics::backlog(uint64_t files, int64_t oldest_received_unix) {
    backlog_files_.store(files, std::memory_order_relaxed);
    oldest_pending_.store(oldest_received_unix, std::memory_order_relaxed);
}

std::string Metrics::render(int64_t now) const {
    static constexpr const char *kStatus[] = {"stored", "duplicate", "rejected", "retry"};
    std::string out;
    out += "# TYPE sonde_console_uploads counter\n";
    out += "# HELP sonde_console_uploads Uploads answered, by status.\n";
    for (size_t i = 0; i < size_t(Upload::Count_); ++i)
        out += "sonde_console_uploads_total{status=\"" + std::string(kStatus[i]) + "\"} " +
               std::to_string(uploads_[i].load(std::memory_order_relaxed)) + "\n";
    out += "# TYPE sonde_console_rate_limited counter\n";
    out += "# HELP sonde_console_rate_limited Uploads answered 429 (per-client rate limit).\n";
    out += "sonde_console_rate_limited_total " +
           std::to_string(rate_limited_.load(std::memory_order_relaxed)) + "\n";
    const uint64_t files = backlog_files_.load(std::memory_order_relaxed);
    const int64_t oldest = oldest_pending_.load(std::memory_order_relaxed);
    out += "# TYPE sonde_console_inbox_backlog_files gauge\n";
    out += "# HELP sonde_console_inbox_backlog_files Acknowledged files not applied yet.\n";
    out += "sonde_console_inbox_backlog_files " + std::to_string(files) + "\n";
    out += "# TYPE sonde_console_ingest_lag_seconds gauge\n";
    out += "# HELP sonde_console_ingest_lag_seconds Age of the oldest file not applied yet.\n";
    out += "sonde_console_ingest_lag_seconds " +
           std::to_string(files && oldest ? std::max<int64_t>(0, now - oldest) : 0) + "\n";
    out += "# TYPE sonde_console_applied counter\n";
    out += "# HELP sonde_console_applied Files applied to the database.\n";
    out += "sonde_console_applied_total " +
           std::to_string(applied_.load(std::memory_order_relaxed)) + "\n";
    out += "# TYPE sonde_console_connections gauge\n";
    out += "# HELP sonde_console_connections Open connections.\n";
    out += "sonde_console_connections " +
           std::to_string(connections.load(std::memory_order_relaxed)) + "\n";
    if (journal_) {
        const Journal::Stats j = journal_();
        // One metric: its TYPE and HELP lines, then its sample (a counter's ends in _total).
        const auto metric = [&out](const char *type, const std::string &name, const char *help,
                                   uint64_t value) {
            const bool counter = std::string_view(type) == "counter";
            out += "# TYPE " + name + " " + type + "\n# HELP " + name + " " + help + "\n" + name +
                   (counter ? "_total " : " ") + std::to_string(value) + "\n";
        };
        metric("gauge", "sonde_console_journal_bytes", "Bytes in the inbox journal's segments.",
               j.bytes);
        metric("gauge", "sonde_console_journal_segments", "Journal segment files not retired.",
               j.segments);
        metric("gauge", "sonde_console_journal_records", "Records in the journal's segments.",
               j.records);
        metric("counter", "sonde_console_journal_appends", "Records appended since start.",
               j.appended);
        metric("counter", "sonde_console_journal_syncs",
               "fdatasyncs of the journal (group commits).", j.syncs);
        metric("gauge", "sonde_console_journal_failed",
               "1 after a failed fdatasync: uploads refused.", uint64_t(j.failed));
    }
    std::lock_guard lock(mutex_);
    out += "# TYPE sonde_console_rejections counter\n";
    out += "# HELP sonde_console_rejections Rejected uploads, by reason.\n";
    for (const auto &[reason, n] : rejections_)
        out +=
            "sonde_console_rejections_total{reason=\"" + reason + "\"} " + std::to_string(n) + "\n";
    out += "# TYPE sonde_console_last_snapshot_sequence gauge\n";
    out += "# HELP sonde_console_last_snapshot_sequence Last accepted sequence, per base.\n";
    for (const auto &[base, l] : last_)
        out += "sonde_console_last_snapshot_sequence{base=\"" + base + "\"} " +
               std::to_string(l.sequence) + "\n";
    out += "# TYPE sonde_console_last_snapshot_created_seconds gauge\n";
    out +=
        "# HELP sonde_console_last_snapshot_created_seconds Creation time of the last accepted "
        "snapshot, per base.\n";
    for (const auto &[base, l] : last_)
        out += "sonde_console_last_snapshot_created_seconds{base=\"" + base + "\"} " +
               std::to_string(l.created_unix) + "\n";
    out += "# EOF\n";
    return out;
}

}  // namespace sonde::console
