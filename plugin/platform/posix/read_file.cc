#include "platform/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>

namespace sonde::platform {
namespace {

template <class Buffer>
ReadResult read_into(const std::string &path, uint64_t limit, Buffer &out, ReadOptions options) {
    ReadResult r;
    out.clear();
    auto failed = [&](ReadError e, int err = 0) {
        r.error = e;
        r.err = err;
        out.clear();
        return r;
    };
    const int flags =
        O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (options.follow_links ? 0 : O_NOFOLLOW);
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) return failed(errno == ENOENT ? ReadError::Missing : ReadError::Open, errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return failed(ReadError::Stat, errno);
    r.mode = st.st_mode;
    if (S_ISDIR(st.st_mode)) return failed(ReadError::Directory);
    const bool regular = S_ISREG(st.st_mode);
    if (!regular && !options.special_files) return failed(ReadError::NotRegular);
    // One byte more than allowed tells a file that is, or became, too large.
    const uint64_t cap = limit == UINT64_MAX ? limit : limit + 1;
    size_t capacity = size_t(std::min<uint64_t>(cap, SIZE_MAX));
    if (regular) {
        r.stat_size = uint64_t(st.st_size);
        if (r.stat_size > limit) return failed(ReadError::TooLarge);
        capacity = size_t(r.stat_size) + 1;  // a file that grows meanwhile is noticed
    } else {
        // Reads block again: a FIFO is read until its writer closes it.
        const int fl = ::fcntl(fd, F_GETFL);
        if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
            return failed(ReadError::Read, errno);
        capacity = size_t(std::min<uint64_t>(cap, 64 * 1024));
    }
    try {
        out.resize(capacity);
    } catch (const std::bad_alloc &) {
        return failed(ReadError::NoMemory);
    }
    size_t got = 0;
    for (;;) {
        if (got == out.size()) {
            if (got >= cap) break;
            try {  // grew since fstat, or a special file: go on, within the bound
                out.resize(size_t(std::min<uint64_t>(cap, 2 * uint64_t(got) + 4096)));
            } catch (const std::bad_alloc &) {
                return failed(ReadError::NoMemory);
            }
        }
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return failed(ReadError::Read, errno);
        if (n == 0) break;
        got += size_t(n);
    }
    if (got > limit) return failed(ReadError::TooLarge);
    out.resize(got);  // shrinks: no reallocation
    return r;
}

}  // namespace

ReadResult read_file(const std::string &path, uint64_t limit, std::string &out,
                     ReadOptions options) {
    return read_into(path, limit, out, options);
}

ReadResult read_file(const std::string &path, uint64_t limit, std::vector<uint8_t> &out,
                     ReadOptions options) {
    return read_into(path, limit, out, options);
}

}  // namespace sonde::platform
