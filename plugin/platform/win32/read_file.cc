// platform/read_file.hpp on Windows: binary (issue 10, trap 3), never blocking on open, a
// directory refused by kind (trap 4: open() on a directory is EACCES there).
#include "platform/read_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "platform/win32/win32.hpp"

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
    std::wstring w;
    try {
        w = win32::wide(path);
    } catch (const std::bad_alloc &) {
        return failed(ReadError::NoMemory);
    }
    if (w.empty()) return failed(ReadError::Missing, ENOENT);
    DWORD attributes = FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_SEQUENTIAL_SCAN;
    if (!options.follow_links) attributes |= FILE_FLAG_OPEN_REPARSE_POINT;
    HANDLE h =
        CreateFileW(w.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                    nullptr, OPEN_EXISTING, attributes, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        const int err = win32::set_errno_from_last_error();
        return failed(err == ENOENT ? ReadError::Missing : ReadError::Open, err);
    }
    struct Closer {
        HANDLE h;
        ~Closer() { CloseHandle(h); }
    } closer{h};
    BY_HANDLE_FILE_INFORMATION bh{};
    if (!GetFileInformationByHandle(h, &bh))
        return failed(ReadError::Stat, win32::set_errno_from_last_error());
    if (bh.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) return failed(ReadError::Open, ELOOP);
    if (bh.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        r.mode = S_IFDIR | 0700;
        return failed(ReadError::Directory);
    }
    const bool regular = GetFileType(h) == FILE_TYPE_DISK;
    // Rights are ACLs: a regular file reads as private to its owner.
    r.mode = regular ? S_IFREG | 0600 : 0;
    if (!regular && !options.special_files) return failed(ReadError::NotRegular);
    const uint64_t cap = limit == UINT64_MAX ? limit : limit + 1;
    size_t capacity = size_t(std::min<uint64_t>(cap, SIZE_MAX));
    if (regular) {
        r.stat_size = uint64_t(bh.nFileSizeHigh) << 32 | bh.nFileSizeLow;
        if (r.stat_size > limit) return failed(ReadError::TooLarge);
        capacity = size_t(r.stat_size) + 1;
    } else {
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
            try {
                out.resize(size_t(std::min<uint64_t>(cap, 2 * uint64_t(got) + 4096)));
            } catch (const std::bad_alloc &) {
                return failed(ReadError::NoMemory);
            }
        }
        DWORD n = 0;
        const DWORD want = DWORD(std::min<size_t>(out.size() - got, 1u << 30));
        if (!ReadFile(h, out.data() + got, want, &n, nullptr)) {
            if (GetLastError() == ERROR_BROKEN_PIPE || GetLastError() == ERROR_HANDLE_EOF) break;
            return failed(ReadError::Read, win32::set_errno_from_last_error());
        }
        if (n == 0) break;
        got += n;
    }
    if (got > limit) return failed(ReadError::TooLarge);
    out.resize(got);
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
