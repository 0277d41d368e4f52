#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "platform/read_file.hpp"

namespace sonde::console {
namespace {

bool fail(std::string *error, const std::string &what, int e) {
    if (error) *error = what + ": " + std::strerror(e);
    return false;
}

}  // namespace

bool sync_dir(const std::string &path, std::string *error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(error, "cannot open " + path, errno);
    const bool ok = ::fsync(fd) == 0;
    const int e = errno;
    ::close(fd);
    return ok || fail(error, "cannot fsync " + path, e);
}

bool make_dirs(const std::string &path, std::string *error) {
    if (path.empty()) return true;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return true;
        return fail(error, path + " is not a directory", ENOTDIR);
    }
    const size_t slash = path.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : path.substr(0, slash);
    if (slash != std::string::npos && slash > 0 && !make_dirs(parent, error)) return false;
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(error, "cannot create " + path, errno);
    return sync_dir(parent.empty() ? "/" : parent, error);
}

bool write_new_file(const std::string &path, std::span<const uint8_t> bytes, std::string *error,
                    int *errno_out) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno_out) *errno_out = errno;
        return fail(error, "cannot create " + path, errno);
    }
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int e = n < 0 ? errno : EIO;
            ::close(fd);
            ::unlink(path.c_str());
            if (errno_out) *errno_out = e;
            return fail(error, "cannot write " + path, e);
        }
        done += size_t(n);
    }
    if (::fsync(fd) != 0) {
        const int e = errno;
        ::close(fd);
        ::unlink(path.c_str());
        if (errno_out) *errno_out = e;
        return fail(error, "cannot fsync " + path, e);
    }
    ::close(fd);
    return true;
}

bool read_file(const std::string &path, std::vector<uint8_t> &out, uint64_t limit) {
    // A file that changed size after fstat is not ours to read: inbox files are written once.
    const platform::ReadResult r = platform::read_file(path, limit, out);
    return r && r.stat_size == out.size();
}

}  // namespace sonde::console
