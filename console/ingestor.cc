#include "ingestor.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <utility>

#include "files.hpp"
#include "log.hpp"
#include "snapshot/console.hpp"
#include "snapshot/ingest.hpp"

namespace sonde::console {
namespace {

std::string join(const std::vector<uint32_t> &v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
    }
    return out;
}

std::string join(const std::vector<uint64_t> &v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
    }
    return out;
}

}  // namespace

void figure_rows(const snapshot::v1::Snapshot &s, std::vector<FigureRow> &out) {
    snapshot::IngestStore one;
    one.ingest(s);
    one.visit([&](const snapshot::IngestStore::FigureView &f) {
        FigureRow r;
        r.base = f.base;
        r.generation = s.segment_generation();
        r.family = uint32_t(f.family);
        r.window_kind = f.window_kind;
        r.window_start = f.window_start;
        for (size_t i = 0; i < f.dims.size() && i < r.dims.size(); ++i) r.dims[i] = f.dims[i];
        r.window_number = f.window_number;
        r.value = f.value;
        r.suppressed = f.suppressed;
        r.rounded = f.rounded;
        r.set_unix = f.set_unix;
        if (f.family == snapshot::IngestStore::Family::Level)
            for (const auto &l : s.levels())
                if (l.level() == f.dims[0] && l.label() > r.label)
                    r.label = l.label();  // as IngestStore's tie-break
        r.bin_low = join(f.bin_low);
        r.students = join(f.students);
        r.sequence = f.sequence;
        out.push_back(std::move(r));
    });
}

Ingestor::Ingestor(const Keyring &keyring, const KeyRegistry &registry, Inbox &inbox, Store &store,
                   Metrics &metrics, uint64_t max_uncompressed, unsigned batch, int nice)
    : keyring_(keyring),
      registry_(registry),
      inbox_(inbox),
      store_(store),
      metrics_(metrics),
      max_uncompressed_(max_uncompressed),
      batch_(batch),
      nice_(nice) {}

Ingestor::~Ingestor() { stop(); }

void Ingestor::start() {
    // Pending links of an older version's inbox, then the journal's unretired records.
    std::vector<FileRef> pending = inbox_.pending();
    for (const FileRef &ref : inbox_.journaled()) pending.push_back(ref);
    if (!pending.empty())
        log(Level::Info, "ingestor: " + std::to_string(pending.size()) +
                             " acknowledged files wait to be applied");
    for (const FileRef &ref : pending) enqueue(ref);
    thread_ = std::thread([this] { run(); });
}

void Ingestor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Ingestor::enqueue(const FileRef &ref) {
    {
        std::lock_guard lock(mutex_);
        if (!queue_.push(ref)) return;
        publish_backlog();
    }
    wake_.notify_one();
}

void Ingestor::rejected(const std::string &base, const std::string &reason,
                        const std::string &detail, int64_t now_unix) {
    std::lock_guard lock(mutex_);
    auto it = rejections_.find({base, reason});
    if (it == rejections_.end()) {
        if (rejections_.size() >= kMaxPendingRejections) {
            ++rejections_dropped_;
            return;
        }
        it = rejections_
                 .emplace(std::pair{base, reason},
                          RejectionRow{base, reason, {}, 0, now_unix, now_unix})
                 .first;
    }
    RejectionRow &r = it->second;
    ++r.count;
    r.last_unix = std::max(r.last_unix, now_unix);
    r.detail = detail.substr(0, 300);
}

void Ingestor::clock_measured(const std::string &base, int64_t skew_seconds, int64_t now_unix) {
    std::lock_guard lock(mutex_);
    auto it = skews_.find(base);
    if (it == skews_.end() && skews_.size() >= kMaxPendingRejections) return;
    SkewRow &r = skews_[base];
    if (now_unix >= r.measured_unix) r = {base, skew_seconds, now_unix};
}

void Ingestor::flush_rejections(std::unique_lock<std::mutex> &lock) {
    if (rejections_.empty() && !rejections_dropped_ && skews_.empty()) return;
    std::vector<RejectionRow> rows;
    for (auto &[key, row] : rejections_) rows.push_back(std::move(row));
    rejections_.clear();
    std::vector<SkewRow> skews;
    for (auto &[key, row] : skews_) skews.push_back(std::move(row));
    skews_.clear();
    const uint64_t dropped = std::exchange(rejections_dropped_, 0);
    lock.unlock();
    std::string error;
    if (!skews.empty() && !store_.record_skews(skews, &error))
        log(Level::Warn,
            "ingestor: " + std::to_string(skews.size()) + " clock measures not recorded: " + error);
    if (!rows.empty() && !store_.record_rejections(rows, &error))
        log(Level::Warn,
            "ingestor: " + std::to_string(rows.size()) + " refused uploads not recorded: " + error);
    if (dropped)
        log(Level::Warn, "ingestor: " + std::to_string(dropped) +
                             " refused uploads not recorded (too many bases and reasons at once)");
    lock.lock();
}

size_t Ingestor::backlog() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

// O(1): called at each enqueue, with a backlog that can reach max_backlog files.
void Ingestor::publish_backlog() { metrics_.backlog(queue_.size(), queue_.oldest_received()); }

void Ingestor::run() {
    // Linux's nice values are per thread: this one only, not the request threads.
    if (nice_ != 0 && ::setpriority(PRIO_PROCESS, id_t(::gettid()), nice_) != 0)
        log(Level::Warn, std::string("ingestor: cannot set nice ") + std::to_string(nice_) + ": " +
                             std::strerror(errno));
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        flush_rejections(lock);
        if (queue_.empty()) {
            wake_.wait_for(lock, std::chrono::seconds(1));
            if (queue_.empty()) {
                // Idle: the journal's segment in use goes too once applied and idle a second.
                lock.unlock();
                retire(1);
                lock.lock();
            }
            continue;
        }
        const std::vector<FileRef> refs = queue_.pick(batch_);
        lock.unlock();
        std::string error;
        const bool ok = apply(refs, true, &error);
        lock.lock();
        if (!ok) {
            log(Level::Error, "ingestor: " + error + "; retrying in 5 s");
            wake_.wait_for(lock, std::chrono::seconds(5));
            continue;
        }
        queue_.done(refs);
        publish_backlog();
        lock.unlock();
        retire(-1);  // the sealed segments whose records are all applied
        lock.lock();
    }
    flush_rejections(lock);
}

void Ingestor::retire(int64_t idle_seconds) {
    std::string error;
    if (inbox_.retire(idle_seconds, &error) < 0) log(Level::Error, "journal: " + error);
}

bool Ingestor::apply(const std::vector<FileRef> &refs, bool from_pending, std::string *error) {
    std::vector<SnapshotRow> snapshots;
    std::vector<FigureRow> figures;
    std::vector<GaugeYearRow> gauge_years;  // before the batch keeps one reading per key
    std::vector<FileRef> done;
    const int64_t now = std::time(nullptr);
    const uint64_t max_file = snapshot::kOverhead + max_uncompressed_ + (max_uncompressed_ >> 7) +
                              (64u << 10);  // zstd's worst case stays well within this
    for (const FileRef &ref : refs) {
        std::vector<uint8_t> file;
        std::string why;
        FileRef where = ref;
        if (!from_pending) where.segment = 0;  // the archive file
        if (!inbox_.read(where, file, max_file, &why)) {
            if (from_pending) log(Level::Warn, "ingestor: " + why + ", skipped");
            done.push_back(ref);
            continue;
        }
        // The archive file of a journaled record, before its journal segment can go.
        if (from_pending && !inbox_.archive(ref, file, error)) return false;
        SnapshotRow row;
        row.base = ref.base;
        row.sequence = ref.sequence;
        row.received_unix = ref.received_unix;
        row.applied_unix = now;
        row.size = file.size();
        snapshot::Header header;
        snapshot::OpenParams params;
        params.max_uncompressed = size_t(max_uncompressed_);
        snapshot::OpenError e = snapshot::parse_header(file, header, &why);
        if (e == snapshot::OpenError::None) {
            row.created_unix = header.created_unix;
            const crypto::KeyPair *key = keyring_.find(header.recipient);
            snapshot::PublicKey sender;
            if (!key) {
                e = snapshot::OpenError::WrongRecipient;
                why = "no console key " + snapshot::to_hex(header.recipient) + " any more";
            } else if (!registry_.lookup(ref.base, header.sender, sender, true)) {
                e = snapshot::OpenError::UnknownSender;
                why = "sender key " + snapshot::to_hex(header.sender) + " no longer registered";
            } else {
                params.recipient = *key;
                snapshot::trust_sender(params, sender, ref.base);
            }
        }
        google::protobuf::Arena arena(parse_arena_options());
        auto &s = *google::protobuf::Arena::CreateMessage<snapshot::v1::Snapshot>(&arena);
        if (e == snapshot::OpenError::None)
            e = snapshot::open_snapshot(file, params, s, header, &why);
        if (e == snapshot::OpenError::None &&
            (header.base() != ref.base || header.sequence != ref.sequence)) {
            e = snapshot::OpenError::HeaderMismatch;
            why = "the inbox name differs from the header";
        }
        if (e == snapshot::OpenError::None) {
            const size_t before = figures.size();
            figure_rows(s, figures);
            add_gauge_years(figures, before, header.created_unix, gauge_years);
            row.generation = s.segment_generation();
            row.figures = figures.size() - before;
            row.status = "applied";
            if (s.has_coverage())
                row.coverage = std::to_string(s.coverage().hours_from()) + "," +
                               std::to_string(s.coverage().hours_to()) + "," +
                               (s.coverage().restart() ? "1" : "0");
        } else {
            row.status = e == snapshot::OpenError::SchemaMismatch ? "unknown_schema" : "unreadable";
            row.reason = why;
            log(Level::Warn, "ingestor: " + ref.base + "/" + std::to_string(ref.sequence) +
                                 " not applied (" + row.status + "): " + why);
        }
        snapshots.push_back(std::move(row));
        done.push_back(ref);
    }
    keep_newest_per_key(figures);
    keep_last_reading_per_year(gauge_years);
    if (!store_.apply(snapshots, figures, gauge_years, error)) return false;
    if (from_pending && !inbox_.done(done, error)) return false;
    metrics_.applied(snapshots.size());
    if (!snapshots.empty())
        log(Level::Info, "ingestor: applied " + std::to_string(snapshots.size()) + " files, " +
                             std::to_string(figures.size()) + " figures");
    return true;
}

bool Ingestor::apply_inbox_files(const std::vector<FileRef> &refs, std::string *error) {
    for (size_t i = 0; i < refs.size(); i += batch_) {
        const std::vector<FileRef> part(
            refs.begin() + ptrdiff_t(i),
            refs.begin() + ptrdiff_t(std::min<size_t>(refs.size(), i + batch_)));
        if (!apply(part, false, error)) return false;
    }
    return true;
}

bool Ingestor::apply_pending_files(const std::vector<FileRef> &refs, std::string *error) {
    for (size_t i = 0; i < refs.size(); i += batch_) {
        const std::vector<FileRef> part(
            refs.begin() + ptrdiff_t(i),
            refs.begin() + ptrdiff_t(std::min<size_t>(refs.size(), i + batch_)));
        if (!apply(part, true, error)) return false;
    }
    return inbox_.retire(0, error) >= 0;
}

}  // namespace sonde::console
