#pragma once
// The ingestor: a thread that applies acknowledged files to the store, apart from the requests
// (docs/delivery.md#the-ingestor). An acknowledgement never waits for it.

#include <google/protobuf/arena.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "batch_queue.hpp"
#include "inbox.hpp"
#include "keyring.hpp"
#include "metrics.hpp"
#include "registry.hpp"
#include "snapshot/envelope.hpp"
#include "sonde_snapshot.pb.h"
#include "store.hpp"

namespace sonde::console {

// Where the handler and the ingestor parse a snapshot: blocks of 64 KiB growing to 1 MiB, about
// the size of a parsed snapshot of a large school.
inline google::protobuf::ArenaOptions parse_arena_options() {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 64 << 10;
    o.max_block_size = 1 << 20;
    return o;
}

// The rows of one opened snapshot: the figures IngestStore keeps from it (same validity rules,
// same keys), with the snapshot's segment generation.
void figure_rows(const snapshot::v1::Snapshot &s, std::vector<FigureRow> &out);

class Ingestor {
  public:
    Ingestor(const Keyring &keyring, const KeyRegistry &registry, Inbox &inbox, Store &store,
             Metrics &metrics, uint64_t max_uncompressed, unsigned batch, int nice = 0);
    ~Ingestor();

    // Takes up the pending links, then applies what enqueue() hands over, until stop().
    void start();
    void stop();
    void enqueue(const FileRef &ref);
    size_t backlog() const;
    // An upload of `base` refused (the handler's reason name and text): counted in memory and
    // written to the store's upload_rejections by the ingest thread, at most a second later.
    // At most kMaxPendingRejections (base, reason) pairs wait; more are dropped (and logged).
    void rejected(const std::string &base, const std::string &reason, const std::string &detail,
                  int64_t now_unix);
    static constexpr size_t kMaxPendingRejections = 4096;
    // The clock skew of `base` measured at an accepted upload: kept in memory (the newest per
    // base, at most kMaxPendingRejections bases) and written to the store's clock_skew with the
    // refusals.
    void clock_measured(const std::string &base, int64_t skew_seconds, int64_t now_unix);

    // Applies files synchronously (reingest): from the inbox, in batches. False on a store error.
    bool apply_inbox_files(const std::vector<FileRef> &refs, std::string *error);
    // Applies acknowledged files synchronously as the thread would (reingest: the journal's
    // records and pending links), then retires the journal segments they emptied.
    bool apply_pending_files(const std::vector<FileRef> &refs, std::string *error);

  private:
    bool apply(const std::vector<FileRef> &refs, bool from_pending, std::string *error);
    void run();
    void publish_backlog();                                     // with mutex_ held
    void flush_rejections(std::unique_lock<std::mutex> &lock);  // with mutex_ held
    void retire(int64_t idle_seconds);  // the journal's segments fully applied

    const Keyring &keyring_;
    const KeyRegistry &registry_;
    Inbox &inbox_;
    Store &store_;
    Metrics &metrics_;
    uint64_t max_uncompressed_;
    unsigned batch_;
    int nice_;  // of the ingest thread (setpriority on its thread id)

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    BatchQueue queue_;
    bool stopping_ = false;
    std::map<std::pair<std::string, std::string>, RejectionRow> rejections_;
    uint64_t rejections_dropped_ = 0;
    std::map<std::string, SkewRow> skews_;
    std::thread thread_;
};

}  // namespace sonde::console
