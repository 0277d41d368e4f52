#pragma once
// The durable inbox (docs/delivery.md#what-happens-to-an-upload):
//     DATA/inbox/<UAI>/<sequence>.sonde     every accepted file, kept for good (reingest)
//     DATA/pending/<UAI>.<sequence>.sonde   hard link of the same file until it is applied
//     DATA/tmp/                             files being written
// An upload is acknowledged once the file and its pending link are durable (the file fsynced,
// pending/ fsynced: one fsync shared by concurrent uploads). Its inbox link is made before the
// answer but made durable later, by the ingestor, before the pending link goes (settle());
// until then the pending link holds the file, and init() relinks into the inbox any pending file
// a crash left without its inbox link. So a crash at any point after the answer loses nothing,
// and one before it leaves no half file.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sonde::console {

struct FileRef {
    std::string base;
    uint64_t sequence = 0;
    int64_t received_unix = 0;  // the inbox file's modification time
    auto operator<=>(const FileRef &) const = default;
};

class Inbox {
  public:
    explicit Inbox(std::string data_dir);
    ~Inbox();
    // Creates the directories, removes leftovers of tmp/, gives every pending file its inbox
    // link (durably) if a crash left it without one.
    bool init(std::string *error);

    enum class Put { Stored, Duplicate, Conflict, Failed };
    // Failed: `error` says why, `errno_out` the cause (ENOSPC: retry later).
    Put put(const std::string &base, uint64_t sequence, std::span<const uint8_t> file,
            std::string *error, int *errno_out);

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
    std::unique_ptr<class SharedDirSync> pending_sync_;  // every upload links into pending/
};

}  // namespace sonde::console
