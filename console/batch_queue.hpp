#pragma once
// The ingestor's queue of acknowledged files, and how it chooses the files it applies together
// (docs/delivery.md#the-ingestor).
//
// Every snapshot of a base repeats the figures of its day, month and year windows, so the files
// of one base mostly write the same keys. A batch therefore takes the oldest queued file with
// the other queued files of its base, then the oldest file left of another base, and so on:
// the oldest file is always in the next batch (no base waits behind another), and during a
// catch-up a base's files are written once per batch instead of once per file
// (keep_newest_per_key). Not thread-safe: the ingestor holds its lock around it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "inbox.hpp"
#include "store.hpp"

namespace sonde::console {

class BatchQueue {
  public:
    // False when the file is already queued (it is then left where it is).
    bool push(const FileRef &ref);
    // Up to `limit` queued files, as described above; they stay queued until done().
    std::vector<FileRef> pick(size_t limit);
    // Removes applied files (those of a pick()).
    void done(const std::vector<FileRef> &refs);

    size_t size() const { return live_.size(); }
    bool empty() const { return live_.empty(); }
    // received_unix of the oldest queued file that has one; 0 if none. O(1).
    int64_t oldest_received() const { return received_.empty() ? 0 : *received_.begin(); }

  private:
    using Key = std::pair<std::string, uint64_t>;
    std::deque<Key> arrival_;      // arrival order; entries already done are dropped lazily
    std::map<Key, FileRef> live_;  // queued files
    std::unordered_map<std::string, std::vector<uint64_t>> by_base_;  // arrival order per base
    std::multiset<int64_t> received_;  // received_unix of the queued files (0s left out)
};

// Reduces a batch's figure rows to one per key (base, generation, family, window kind, window
// start, dims): the row of the highest sequence, which is what upserting the rows one file
// after the other leaves in the store ("highest sequence wins"). Order of the result: the
// first occurrence of each key.
void keep_newest_per_key(std::vector<FigureRow> &rows);

}  // namespace sonde::console
