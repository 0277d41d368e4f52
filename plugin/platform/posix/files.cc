// platform/files.hpp on POSIX.
#include "platform/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace sonde::platform {
namespace {

void fill_info(const struct stat &st, FileInfo &out) {
    out.kind = S_ISREG(st.st_mode)   ? FileKind::Regular
               : S_ISDIR(st.st_mode) ? FileKind::Directory
               : S_ISLNK(st.st_mode) ? FileKind::Link
                                     : FileKind::Other;
    out.size = uint64_t(st.st_size);
    out.links = uint64_t(st.st_nlink);
    out.device = uint64_t(st.st_dev);
    out.inode = uint64_t(st.st_ino);
    out.modified_unix = int64_t(st.st_mtim.tv_sec);
    out.modified_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    out.owner = uint32_t(st.st_uid);
    out.owned_by_me = st.st_uid == ::geteuid();
    out.others_may_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    out.sticky = (st.st_mode & S_ISVTX) != 0;
}

}  // namespace

File &File::operator=(File &&o) noexcept {
    if (this != &o) {
        close();
        handle_ = o.handle_;
        lock_held_ = o.lock_held_;
        volume_ = o.volume_;
        o.handle_ = kInvalid;
        o.lock_held_ = 0;
        o.volume_ = 0;
    }
    return *this;
}

File File::open(const std::string &path, unsigned flags, unsigned mode) noexcept {
    int f = (flags & kRead) && (flags & kWrite) ? O_RDWR : (flags & kWrite) ? O_WRONLY : O_RDONLY;
    if (flags & kCreate) f |= O_CREAT;
    if (flags & kExclusive) f |= O_EXCL;
    if (flags & kTruncate) f |= O_TRUNC;
    if (flags & kNoFollow) f |= O_NOFOLLOW;
    if (flags & kNonBlock) f |= O_NONBLOCK | O_NOCTTY;
    File file;
    file.handle_ = ::open(path.c_str(), f | O_CLOEXEC, mode_t(mode));
    return file;
}

bool File::info(FileInfo &out) const noexcept {
    struct stat st {};
    if (::fstat(int(handle_), &st) != 0) return false;
    fill_info(st, out);
    return true;
}

bool File::write_all(const void *data, size_t size) noexcept {
    const char *p = static_cast<const char *>(data);
    for (size_t done = 0; done < size;) {
        const ssize_t n = ::write(int(handle_), p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += size_t(n);
    }
    return true;
}

int64_t File::read_at(void *data, size_t size, uint64_t offset) const noexcept {
    for (;;) {
        const ssize_t n = ::pread(int(handle_), data, size, off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        return int64_t(n);
    }
}

bool File::sync() noexcept { return ::fsync(int(handle_)) == 0; }

bool File::set_mode(unsigned mode) noexcept { return ::fchmod(int(handle_), mode_t(mode)) == 0; }

int File::allocate(uint64_t size) noexcept {
    int rc = ::posix_fallocate(int(handle_), 0, off_t(size));
    if (rc == EOPNOTSUPP || rc == EINVAL)
        rc = ::ftruncate(int(handle_), off_t(size)) == 0 ? 0 : errno;
    return rc;
}

bool File::truncate(uint64_t size) const noexcept {
    return ::ftruncate(int(handle_), off_t(size)) == 0;
}

bool File::lock(Lock kind) const noexcept {
    return ::flock(int(handle_), (kind == Lock::Shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0;
}

void File::unlock() const noexcept {
    if (valid()) ::flock(int(handle_), LOCK_UN);
}

bool File::close() noexcept {
    if (!valid()) return true;
    const bool ok = ::close(int(handle_)) == 0;
    handle_ = kInvalid;
    return ok;
}

bool path_info(const std::string &path, FileInfo &out, bool follow) noexcept {
    struct stat st {};
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return false;
    fill_info(st, out);
    return true;
}

bool rename_replace(const std::string &from, const std::string &to) noexcept {
    return ::rename(from.c_str(), to.c_str()) == 0;
}

bool link_new(const std::string &from, const std::string &to) noexcept {
    return ::link(from.c_str(), to.c_str()) == 0;
}

bool rename_new(const std::string &from, const std::string &to) noexcept {
    if (::link(from.c_str(), to.c_str()) != 0) return false;
    ::unlink(from.c_str());  // published: a leftover name would only be swept later
    return true;
}

bool remove_file(const std::string &path) noexcept { return ::unlink(path.c_str()) == 0; }

bool make_directory(const std::string &path, unsigned mode) noexcept {
    return ::mkdir(path.c_str(), mode_t(mode)) == 0;
}

bool sync_directory(const std::string &dir) noexcept {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    const int err = errno;
    ::close(fd);
    errno = err;
    return ok;
}

bool list_directory(const std::string &dir, std::vector<std::string> &names) noexcept {
    names.clear();
    DIR *d = ::opendir(dir.c_str());
    if (!d) return false;
    try {
        while (dirent *e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
            names.emplace_back(e->d_name);
        }
    } catch (...) {
        ::closedir(d);
        errno = ENOMEM;
        return false;
    }
    ::closedir(d);
    return true;
}

bool DirectoryLock::acquire(const std::string &dir, int attempts) noexcept {
    file_.close();
    File f = File::open(dir, kRead);
    if (!f) return false;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (f.lock(Lock::Exclusive)) {
            file_ = std::move(f);
            return true;
        }
        ::usleep(1000);
    }
    errno = EWOULDBLOCK;
    return false;
}

int64_t unix_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec);
}

bool system_utc_offset_now(int32_t &) noexcept { return false; }

int64_t unix_now_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void sleep_ms(unsigned ms) noexcept { ::usleep(useconds_t(ms) * 1000); }

std::string error_text(int err) { return std::strerror(err); }

}  // namespace sonde::platform
