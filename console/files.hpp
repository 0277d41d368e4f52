#pragma once
// Durable file operations of the inbox and the registry.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sonde::console {

// mkdir -p with mode 0700, then fsync of each directory created's parent.
bool make_dirs(const std::string &path, std::string *error);
bool sync_dir(const std::string &path, std::string *error);
// Creates `path` (O_EXCL, mode 0600), writes `bytes` and fsyncs it. errno_out: the failing errno.
bool write_new_file(const std::string &path, std::span<const uint8_t> bytes, std::string *error,
                    int *errno_out = nullptr);
// Whole file, at most `limit` bytes (false if longer or unreadable).
bool read_file(const std::string &path, std::vector<uint8_t> &out, uint64_t limit);

}  // namespace sonde::console
