#pragma once
// The durable inbox (docs/delivery.md#what-happens-to-an-upload):
//     DATA/journal/<number>.journal         accepted files, appended (console/journal.hpp)
//     DATA/inbox/<UAI>/<sequence>.sonde     every accepted file, kept for good (reingest)
//     DATA/tmp/                             archive files being written
//     DATA/pending/<UAI>.<sequence>.sonde   left by an older version: applied, then removed
// An upload is acknowledged once its journal record is durable (one fdatasync per group of
// concurrent uploads). The ingestor later writes its archive file (archive()), applies it, and
// a journal segment is retired once every record in it is archived and applied, after a
// syncfs() of the data directory's file system made those durable (retire()). So a crash at any
// point after the answer loses nothing: the record is in the journal until its archive and its
// figures are on disk, and init() hands unretired records back to be applied again.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "journal.hpp"

namespace sonde::console {

struct FileRef {
    std::string base;
    uint64_t sequence = 0;
    int64_t received_unix = 0;  // the inbox file's modification time
    // In the journal (segment != 0): where; otherwise a pending or archive file.
    uint64_t segment = 0, offset = 0;
    uint32_t length = 0, crc = 0;
    auto operator<=>(const FileRef &) const = default;
};

class Inbox {
  public:
    static constexpr uint64_t kSegmentBytes = 64 << 20;
    // max_record: the largest file accepted (max_body_bytes).
    explicit Inbox(std::string data_dir, uint64_t segment_bytes = kSegmentBytes,
                   uint64_t max_record = 4259840);
    ~Inbox();
    // Creates the directories, removes leftovers of tmp/, gives every pending file of an older
    // version its inbox link (durably) if a crash left it without one, opens the journal
    // (replaying it: journaled()). journal = false: the journal is left alone (reingest while
    // the service runs); put() then fails.
    bool init(std::string *error, bool journal = true);

    enum class Put { Stored, Duplicate, Conflict, Failed };
    // Stored: `stored` (if given) says where, for the ingestor. Failed: `error` says why,
    // `errno_out` the cause (ENOSPC: retry later).
    Put put(const std::string &base, uint64_t sequence, std::span<const uint8_t> file,
            std::string *error, int *errno_out, FileRef *stored = nullptr);

    // Records of the journal found by init(): acknowledged, maybe not applied yet.
    std::vector<FileRef> journaled() const { return journaled_; }
    // The file's bytes: from the journal, its pending link or its archive file.
    bool read(const FileRef &ref, std::vector<uint8_t> &out, uint64_t limit,
              std::string *error) const;
    // Writes the archive file of a journaled record (unless it holds these bytes already),
    // without fsync: retire() makes it durable.
    bool archive(const FileRef &ref, std::span<const uint8_t> file, std::string *error) const;
    // These files are archived and applied: journal records counted, pending links (of an older
    // version) settled and removed.
    bool done(const std::vector<FileRef> &refs, std::string *error);
    // Retires the journal segments whose records are all archived and applied (syncfs of the
    // data directory's file system first). idle_seconds >= 0: the segment being appended to too,
    // once fully applied and idle that long. -1 on an error.
    int retire(int64_t idle_seconds, std::string *error);
    Journal::Stats journal_stats() const { return journal_.stats(); }

    std::string inbox_path(const std::string &base, uint64_t sequence) const;
    std::string pending_path(const std::string &base, uint64_t sequence) const;

    std::vector<FileRef> pending() const;  // sorted by base, then sequence
    std::vector<FileRef> all() const;      // every inbox file, same order
    // Makes the inbox links of these files durable (one fsync per base directory); before their
    // pending links go.
    bool settle(const std::vector<FileRef> &refs, std::string *error) const;
    void applied(const FileRef &ref) const;  // removes the pending link

    uint64_t free_bytes() const;  // on the data directory's file system

  private:
    std::string dir_;
    Journal journal_;
    std::vector<FileRef> journaled_;
};

}  // namespace sonde::console
