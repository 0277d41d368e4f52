#pragma once
// The one bounded reader of small files (configuration, keys, spool state, receipts, sealed
// snapshots, the console's inbox): open without blocking (a FIFO or a device put in place of
// the file does not wait for a writer) and without following a link, check on the open
// descriptor that it is a regular file within the bound, then read it whole. The bound holds
// even for a file that grows while it is read. Never throws: out of memory is an error.

#include <cstdint>
#include <string>
#include <vector>

namespace sonde::platform {

enum class ReadError {
    None,
    Missing,     // open: ENOENT
    Open,        // open failed otherwise (ELOOP: a symbolic link); `err` says why
    Stat,        // fstat failed
    Directory,   // a directory
    NotRegular,  // a FIFO, a device or a socket (unless ReadOptions::special_files)
    TooLarge,    // over the bound, by fstat or by what was read
    Read,        // read failed; `err` says why
    NoMemory,
};

struct ReadOptions {
    bool follow_links = false;  // O_NOFOLLOW unless set
    // Read FIFOs and devices too (opened without blocking, then read blocking, up to the bound
    // plus one byte). Directories are always refused.
    bool special_files = false;
};

struct ReadResult {
    ReadError error = ReadError::None;
    int err = 0;             // errno of Open, Stat, Read
    uint64_t stat_size = 0;  // st_size on the open descriptor (0 for a special file)
    uint32_t mode = 0;       // st_mode on the open descriptor (Windows: S_IFREG|0600 or S_IFDIR)
    explicit operator bool() const { return error == ReadError::None; }
};

// Reads the whole file into `out` (its previous content discarded), at most `limit` bytes: a
// longer one is TooLarge and leaves `out` empty, as does any error. A regular file is sized
// once from fstat, so a caller that must not see a file change while it is read compares the
// bytes read with `stat_size`.
ReadResult read_file(const std::string &path, uint64_t limit, std::string &out,
                     ReadOptions options = {});
ReadResult read_file(const std::string &path, uint64_t limit, std::vector<uint8_t> &out,
                     ReadOptions options = {});

}  // namespace sonde::platform
