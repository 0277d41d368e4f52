#pragma once
// Durable file operations of the inbox and the registry.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace sonde::console {

// mkdir -p with mode 0700, then fsync of each directory created's parent.
bool make_dirs(const std::string &path, std::string *error);
bool sync_dir(const std::string &path, std::string *error);
// fsync of one directory that concurrent threads link files into. An fsync started after a
// thread's link covers that link, so a thread waits for the fsync in progress to end and then
// joins the next one, which covers every link made meanwhile: under load one fsync serves many
// uploads (group commit) instead of one each. A failed fsync fails every thread it covered.
class SharedDirSync {
  public:
    explicit SharedDirSync(std::string path) : path_(std::move(path)) {}
    bool sync(std::string *error);
    uint64_t fsyncs() const;  // fsyncs made, for the tests

  private:
    const std::string path_;
    mutable std::mutex mutex_;
    std::condition_variable done_;
    uint64_t requested_ = 0;  // tickets handed out, one per sync() call
    uint64_t synced_ = 0;     // every ticket up to this one is covered by a successful fsync
    uint64_t failed_ = 0;     // every ticket up to this one was covered by a failed fsync
    std::string failure_;
    bool running_ = false;
    uint64_t fsyncs_ = 0;
};

// Creates `path` (O_EXCL, mode 0600), writes `bytes` and fsyncs it. errno_out: the failing errno.
bool write_new_file(const std::string &path, std::span<const uint8_t> bytes, std::string *error,
                    int *errno_out = nullptr);
// Whole file, at most `limit` bytes (false if longer or unreadable).
bool read_file(const std::string &path, std::vector<uint8_t> &out, uint64_t limit);

}  // namespace sonde::console
