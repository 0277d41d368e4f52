#pragma once
// Files, directories and the clock, the way the rest of the plugin needs them, on every OS
// (platform/posix, platform/win32; CMake compiles one of them). Every function that can fail
// returns false (or an invalid File) and leaves an errno value in `errno`: on Windows the
// system's error is translated (ERROR_FILE_NOT_FOUND is ENOENT, ERROR_ALREADY_EXISTS is
// EEXIST, a sharing or access violation is EACCES...), so messages and decisions read the same.
// Paths are UTF-8; "/" separates components on every OS.

#include <cstdint>
#include <string>
#include <vector>

namespace sonde::platform {

enum class FileKind { Regular, Directory, Link, Other };

// What the plugin checks about a file (stat, or the open handle's information on Windows).
struct FileInfo {
    FileKind kind = FileKind::Other;
    uint64_t size = 0;
    uint64_t links = 0;              // hard links; 0 once deleted (POSIX)
    uint64_t device = 0, inode = 0;  // identity: st_dev/st_ino, volume serial/file index
    int64_t modified_unix = 0;       // seconds
    int64_t modified_ns = 0;         // nanoseconds since 1970
    bool owned_by_me = true;         // st_uid == euid; Windows: true (the ACL protects)
    bool others_may_write = false;   // group or other write bits; Windows: false
    bool sticky = false;             // S_ISVTX (/dev/shm, /tmp); Windows: false
    uint32_t owner = 0;              // st_uid; Windows: 0
    bool same_file(const FileInfo &o) const { return device == o.device && inode == o.inode; }
};

// Open flags. Files are always binary, never inherited by a child process, never a controlling
// terminal.
enum : unsigned {
    kRead = 1u << 0,
    kWrite = 1u << 1,
    kCreate = 1u << 2,
    kExclusive = 1u << 3,  // with kCreate: fails with EEXIST if the path exists
    kTruncate = 1u << 4,
    kNoFollow = 1u << 5,  // a symbolic link (reparse point) at the path is refused (ELOOP)
    kNonBlock = 1u << 6,  // a FIFO or a device does not block the open
};

enum class Lock { Shared, Exclusive };

// An open file. Movable; closes on destruction (which drops its lock).
class File {
  public:
    File() = default;
    File(File &&o) noexcept : handle_(o.handle_), lock_held_(o.lock_held_), volume_(o.volume_) {
        o.handle_ = kInvalid;
        o.lock_held_ = 0;
        o.volume_ = 0;
    }
    File &operator=(File &&o) noexcept;
    File(const File &) = delete;
    File &operator=(const File &) = delete;
    ~File() { close(); }

    // `mode`: POSIX permission bits of a created file (Windows: inherited ACL).
    static File open(const std::string &path, unsigned flags, unsigned mode = 0600) noexcept;

    bool valid() const noexcept { return handle_ != kInvalid; }
    explicit operator bool() const noexcept { return valid(); }
    bool info(FileInfo &out) const noexcept;
    bool write_all(const void *data, size_t size) noexcept;
    // Reads up to `size` bytes at `offset`; the count read, or -1.
    int64_t read_at(void *data, size_t size, uint64_t offset) const noexcept;
    bool sync() noexcept;                   // fsync / FlushFileBuffers
    bool set_mode(unsigned mode) noexcept;  // fchmod; Windows: nothing to do
    // Allocates the whole file (never sparse); 0 or an errno value.
    int allocate(uint64_t size) noexcept;
    bool truncate(uint64_t size) const noexcept;
    // Non-blocking whole-file lock, advisory, dropped by the OS when the process dies. Taking
    // the other kind converts the lock (not atomically: unlocked in between on Windows).
    bool lock(Lock kind) const noexcept;
    void unlock() const noexcept;
    // Closes; false if closing reported an error (a delayed write error).
    bool close() noexcept;
    intptr_t native() const noexcept { return handle_; }  // fd or HANDLE
    // Lets go of the handle without closing it (kept open for the life of the process).
    void release() noexcept { handle_ = kInvalid; }

  private:
    static constexpr intptr_t kInvalid = -1;  // also INVALID_HANDLE_VALUE
    intptr_t handle_ = kInvalid;
    mutable uint8_t lock_held_ = 0;  // Windows: 0, 1 shared, 2 exclusive
    // Windows: the volume serial number read when the file was opened, with bit 32 set; 0 if
    // it could not be read then. info() reports it (see win32/files.cc). POSIX: unused.
    uint64_t volume_ = 0;
};

// lstat (follow = false) or stat of a path.
bool path_info(const std::string &path, FileInfo &out, bool follow = false) noexcept;
// Replaces `to` atomically; durable on Windows (MOVEFILE_WRITE_THROUGH), on POSIX once the
// directory is synced (sync_directory).
bool rename_replace(const std::string &from, const std::string &to) noexcept;
// Gives `from` a second name `to`, failing with EEXIST if `to` exists (atomic publication).
bool link_new(const std::string &from, const std::string &to) noexcept;
// Moves `from` to the new name `to`, failing with EEXIST if `to` exists (atomic publication of
// a file this process may hold open and mapped: Windows cannot delete a mapped file's other
// name, so link_new then remove_file would leave it behind there). POSIX: link, then unlink.
bool rename_new(const std::string &from, const std::string &to) noexcept;
bool remove_file(const std::string &path) noexcept;
// mkdir with POSIX permission bits (Windows: inherited ACL).
bool make_directory(const std::string &path, unsigned mode) noexcept;
// Makes the names in `dir` durable (fsync of the directory); Windows: renames are written
// through, nothing to do.
bool sync_directory(const std::string &dir) noexcept;
// The names in `dir`, without "." and "..".
bool list_directory(const std::string &dir, std::vector<std::string> &names) noexcept;

// An exclusive lock of a directory (the spool's state), held while the object lives; on
// Windows a lock file in it, "<dir>/.lock".
class DirectoryLock {
  public:
    // Tries `attempts` times, 1 ms apart. False (errno set) if not taken.
    bool acquire(const std::string &dir, int attempts) noexcept;
    bool held() const noexcept { return file_.valid(); }

  private:
    File file_;
};

// Wall clock, seconds and nanoseconds since 1970 (UTC).
int64_t unix_now() noexcept;
int64_t unix_now_ns() noexcept;
// The machine's own UTC offset now, in seconds east of UTC, as the system's time zone settings
// give it: on Windows GetDynamicTimeZoneInformation (its bias, with the daylight or standard
// bias in force). Only a diagnostic, never the base's zone (docs/windows.md, "Time zones").
// False where it is not consulted (POSIX: the plugin reads the system's own tzdata there) or
// unknown.
bool system_utc_offset_now(int32_t &seconds_east) noexcept;
void sleep_ms(unsigned ms) noexcept;

// strerror, thread-safe enough for messages.
std::string error_text(int err);

}  // namespace sonde::platform
