#include "metrics.hpp"

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
        out += "# TYPE sonde_console_journal_bytes gauge\n";
        out += "# HELP sonde_console_journal_bytes Bytes in the inbox journal's segments.\n";
        out += "sonde_console_journal_bytes " + std::to_string(j.bytes) + "\n";
        out += "# TYPE sonde_console_journal_segments gauge\n";
        out += "# HELP sonde_console_journal_segments Journal segment files not retired.\n";
        out += "sonde_console_journal_segments " + std::to_string(j.segments) + "\n";
        out += "# TYPE sonde_console_journal_records gauge\n";
        out += "# HELP sonde_console_journal_records Records in the journal's segments.\n";
        out += "sonde_console_journal_records " + std::to_string(j.records) + "\n";
        out += "# TYPE sonde_console_journal_appends counter\n";
        out += "# HELP sonde_console_journal_appends Records appended since start.\n";
        out += "sonde_console_journal_appends_total " + std::to_string(j.appended) + "\n";
        out += "# TYPE sonde_console_journal_syncs counter\n";
        out += "# HELP sonde_console_journal_syncs fdatasyncs of the journal (group commits).\n";
        out += "sonde_console_journal_syncs_total " + std::to_string(j.syncs) + "\n";
        out += "# TYPE sonde_console_journal_failed gauge\n";
        out += "# HELP sonde_console_journal_failed 1 after a failed fdatasync: uploads refused.\n";
        out += "sonde_console_journal_failed " + std::to_string(int(j.failed)) + "\n";
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
