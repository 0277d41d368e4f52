// platform/files.hpp on Windows. Every handle is opened with FILE_SHARE_READ | WRITE | DELETE,
// so other processes may rename or delete a file this one holds open, as on POSIX.
#include "platform/files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "platform/win32/win32.hpp"

namespace sonde::platform {

namespace win32 {

std::wstring wide(const std::string &utf8) {
    if (utf8.empty()) return {};
    const int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), int(utf8.size()),
                                      nullptr, 0);
    if (n <= 0) return {};
    std::wstring out(size_t(n), L'\0');
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), int(utf8.size()), out.data(),
                        n);
    return out;
}

std::string utf8(const std::wstring &wide) {
    if (wide.empty()) return {};
    const int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), int(wide.size()), nullptr, 0,
                                      nullptr, nullptr);
    std::string out(size_t(n > 0 ? n : 0), '\0');
    if (n > 0)
        WideCharToMultiByte(CP_UTF8, 0, wide.data(), int(wide.size()), out.data(), n, nullptr,
                            nullptr);
    return out;
}

int errno_of(DWORD error) {
    switch (error) {
        case ERROR_SUCCESS:
            return 0;
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_DRIVE:
        case ERROR_BAD_NETPATH:
        case ERROR_BAD_NET_NAME:
            return ENOENT;
        case ERROR_FILE_EXISTS:
        case ERROR_ALREADY_EXISTS:
            return EEXIST;
        case ERROR_ACCESS_DENIED:
        case ERROR_SHARING_VIOLATION:
        case ERROR_PRIVILEGE_NOT_HELD:
            return EACCES;
        case ERROR_LOCK_VIOLATION:
        case ERROR_IO_PENDING:
            return EWOULDBLOCK;
        case ERROR_DISK_FULL:
        case ERROR_HANDLE_DISK_FULL:
            return ENOSPC;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
        case ERROR_COMMITMENT_LIMIT:
            return ENOMEM;
        case ERROR_DIRECTORY:
            return ENOTDIR;
        case ERROR_DIR_NOT_EMPTY:
            return ENOTEMPTY;
        case ERROR_CANT_RESOLVE_FILENAME:
            return ELOOP;
        case ERROR_FILENAME_EXCED_RANGE:
            return ENAMETOOLONG;
        case ERROR_INVALID_NAME:
        case ERROR_INVALID_PARAMETER:
        case ERROR_NEGATIVE_SEEK:
            return EINVAL;
        case ERROR_NOT_SUPPORTED:
        case ERROR_INVALID_FUNCTION:
            return ENOSYS;
        case ERROR_NOT_SAME_DEVICE:
            return EXDEV;
        default:
            return EIO;
    }
}

int set_errno_from_last_error() {
    const int e = errno_of(GetLastError());
    errno = e;
    return e;
}

int64_t unix_nanoseconds(const FILETIME &ft) {
    const uint64_t t = uint64_t(ft.dwHighDateTime) << 32 | ft.dwLowDateTime;
    return (int64_t(t) - 116444736000000000LL) * 100;
}

int64_t unix_seconds(const FILETIME &ft) {
    const uint64_t t = uint64_t(ft.dwHighDateTime) << 32 | ft.dwLowDateTime;
    const int64_t ticks = int64_t(t) - 116444736000000000LL;
    return ticks >= 0 ? ticks / 10000000 : -((-ticks + 9999999) / 10000000);
}

}  // namespace win32

namespace {

using win32::wide;

HANDLE h_of(intptr_t native) { return reinterpret_cast<HANDLE>(native); }

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
// Locks cover one byte far past any real data: byte-range locks on Windows are mandatory for
// ReadFile and WriteFile, and no reader of the file may ever be refused because of them.
constexpr DWORD kLockOffsetHigh = 0x40000000;

// The volume serial number of an open file, or false. A file never changes volume while it is
// open (a rename cannot cross volumes), so File keeps the one read at open: Wine 8.0 answers
// this query from the name the handle was opened with, and once the file has been renamed
// through another handle (MoveFileExW opens its own, as when a segment is published from its
// temporary name) that name is gone: the query fails, and GetFileInformationByHandle reports
// volume 0, so that the file at the path no longer looks like the file the handle holds
// (docs/windows.md, "A file renamed under an open handle").
bool volume_serial(HANDLE h, uint64_t &serial) {
    DWORD s = 0;
    if (!GetVolumeInformationByHandleW(h, nullptr, 0, &s, nullptr, nullptr, nullptr, 0))
        return false;
    serial = s;
    return true;
}

bool fill_info(HANDLE h, FileInfo &out) {
    BY_HANDLE_FILE_INFORMATION bh{};
    if (!GetFileInformationByHandle(h, &bh)) {
        win32::set_errno_from_last_error();
        return false;
    }
    const DWORD attributes = bh.dwFileAttributes;
    if (attributes & FILE_ATTRIBUTE_REPARSE_POINT)
        out.kind = FileKind::Link;
    else if (attributes & FILE_ATTRIBUTE_DIRECTORY)
        out.kind = FileKind::Directory;
    else
        out.kind = GetFileType(h) == FILE_TYPE_DISK ? FileKind::Regular : FileKind::Other;
    out.size = uint64_t(bh.nFileSizeHigh) << 32 | bh.nFileSizeLow;
    out.links = bh.nNumberOfLinks;
    FILE_STANDARD_INFO standard{};
    if (GetFileInformationByHandleEx(h, FileStandardInfo, &standard, sizeof standard) &&
        standard.DeletePending)
        out.links = 0;  // deleted, its name goes when the last handle closes
    out.device = bh.dwVolumeSerialNumber;
    out.inode = uint64_t(bh.nFileIndexHigh) << 32 | bh.nFileIndexLow;
    out.modified_unix = win32::unix_seconds(bh.ftLastWriteTime);
    out.modified_ns = win32::unix_nanoseconds(bh.ftLastWriteTime);
    out.owned_by_me = true;  // the directory's ACL is the protection (docs/windows.md)
    out.others_may_write = false;
    out.sticky = false;
    out.owner = 0;
    return true;
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

File File::open(const std::string &path, unsigned flags, unsigned) noexcept {
    File file;
    std::wstring w;
    try {
        w = wide(path);
    } catch (...) {
        errno = ENOMEM;
        return file;
    }
    if (w.empty()) {
        errno = path.empty() ? ENOENT : EINVAL;
        return file;
    }
    DWORD access = 0;
    if (flags & kRead) access |= GENERIC_READ;
    if (flags & kWrite) access |= GENERIC_WRITE;
    if (!access) access = GENERIC_READ;
    DWORD disposition = OPEN_EXISTING;
    if ((flags & kCreate) && (flags & kExclusive))
        disposition = CREATE_NEW;
    else if ((flags & kCreate) && (flags & kTruncate))
        disposition = CREATE_ALWAYS;
    else if (flags & kCreate)
        disposition = OPEN_ALWAYS;
    else if (flags & kTruncate)
        disposition = TRUNCATE_EXISTING;
    // Backup semantics: a directory opens too (and is then refused by kind, not by EACCES).
    DWORD attributes = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS;
    if (flags & kNoFollow) attributes |= FILE_FLAG_OPEN_REPARSE_POINT;
    HANDLE h = CreateFileW(w.c_str(), access, kShareAll, nullptr, disposition, attributes, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        win32::set_errno_from_last_error();
        return file;
    }
    if (flags & kNoFollow) {
        BY_HANDLE_FILE_INFORMATION bh{};
        if (GetFileInformationByHandle(h, &bh) &&
            (bh.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
            CloseHandle(h);
            errno = ELOOP;
            return file;
        }
    }
    file.handle_ = reinterpret_cast<intptr_t>(h);
    if (uint64_t serial = 0; volume_serial(h, serial)) file.volume_ = serial | uint64_t{1} << 32;
    return file;
}

bool File::info(FileInfo &out) const noexcept {
    if (!valid()) {
        errno = EBADF;
        return false;
    }
    if (!fill_info(h_of(handle_), out)) return false;
    if (volume_ >> 32) out.device = uint32_t(volume_);  // the volume it was opened on (above)
    return true;
}

bool File::write_all(const void *data, size_t size) noexcept {
    const char *p = static_cast<const char *>(data);
    for (size_t done = 0; done < size;) {
        const DWORD chunk = DWORD(std::min<size_t>(size - done, 1u << 30));
        DWORD written = 0;
        if (!WriteFile(h_of(handle_), p + done, chunk, &written, nullptr) || written == 0) {
            win32::set_errno_from_last_error();
            return false;
        }
        done += written;
    }
    return true;
}

int64_t File::read_at(void *data, size_t size, uint64_t offset) const noexcept {
    OVERLAPPED ov{};
    ov.Offset = DWORD(offset);
    ov.OffsetHigh = DWORD(offset >> 32);
    DWORD got = 0;
    if (!ReadFile(h_of(handle_), data, DWORD(std::min<size_t>(size, 1u << 30)), &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF) return 0;
        win32::set_errno_from_last_error();
        return -1;
    }
    return int64_t(got);
}

bool File::sync() noexcept {
    if (FlushFileBuffers(h_of(handle_))) return true;
    win32::set_errno_from_last_error();
    return false;
}

bool File::set_mode(unsigned) noexcept { return true; }  // ACLs are inherited

int File::allocate(uint64_t size) noexcept {
    // The end of file set to the full size: NTFS allocates the clusters now (the file is not
    // sparse), so a full disk fails here, never on a page of the mapping.
    FILE_END_OF_FILE_INFO eof{};
    eof.EndOfFile.QuadPart = LONGLONG(size);
    if (!SetFileInformationByHandle(h_of(handle_), FileEndOfFileInfo, &eof, sizeof eof))
        return win32::set_errno_from_last_error();
    FILE_ALLOCATION_INFO alloc{};
    alloc.AllocationSize.QuadPart = LONGLONG(size);
    SetFileInformationByHandle(h_of(handle_), FileAllocationInfo, &alloc, sizeof alloc);
    return 0;
}

bool File::truncate(uint64_t size) const noexcept {
    FILE_END_OF_FILE_INFO eof{};
    eof.EndOfFile.QuadPart = LONGLONG(size);
    if (SetFileInformationByHandle(h_of(handle_), FileEndOfFileInfo, &eof, sizeof eof)) return true;
    win32::set_errno_from_last_error();
    return false;
}

bool File::lock(Lock kind) const noexcept {
    if (!valid()) {
        errno = EBADF;
        return false;
    }
    const uint8_t want = kind == Lock::Shared ? 1 : 2;
    if (lock_held_ == want) return true;
    unlock();  // LockFileEx does not convert
    OVERLAPPED ov{};
    ov.OffsetHigh = kLockOffsetHigh;
    const DWORD flags =
        LOCKFILE_FAIL_IMMEDIATELY | (kind == Lock::Exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
    if (!LockFileEx(h_of(handle_), flags, 0, 1, 0, &ov)) {
        win32::set_errno_from_last_error();
        if (errno == EACCES || errno == EIO) errno = EWOULDBLOCK;
        return false;
    }
    lock_held_ = want;
    return true;
}

void File::unlock() const noexcept {
    if (!valid() || !lock_held_) return;
    OVERLAPPED ov{};
    ov.OffsetHigh = kLockOffsetHigh;
    UnlockFileEx(h_of(handle_), 0, 1, 0, &ov);
    lock_held_ = 0;
}

bool File::close() noexcept {
    if (!valid()) return true;
    unlock();  // explicitly: Windows may release the lock of a closed handle only later
    const bool ok = CloseHandle(h_of(handle_)) != 0;
    if (!ok) win32::set_errno_from_last_error();
    handle_ = kInvalid;
    return ok;
}

bool path_info(const std::string &path, FileInfo &out, bool follow) noexcept {
    std::wstring w;
    try {
        w = wide(path);
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    if (w.empty()) {
        errno = ENOENT;
        return false;
    }
    DWORD attributes = FILE_FLAG_BACKUP_SEMANTICS;
    if (!follow) attributes |= FILE_FLAG_OPEN_REPARSE_POINT;
    HANDLE h = CreateFileW(w.c_str(), FILE_READ_ATTRIBUTES, kShareAll, nullptr, OPEN_EXISTING,
                           attributes, nullptr);
    if (h == INVALID_HANDLE_VALUE) {
        // A file deleted while open elsewhere keeps its name until then: it is gone.
        const DWORD e = GetLastError();
        errno = e == ERROR_ACCESS_DENIED && GetFileAttributesW(w.c_str()) == INVALID_FILE_ATTRIBUTES
                    ? ENOENT
                    : win32::errno_of(e);
        return false;
    }
    const bool ok = fill_info(h, out);
    CloseHandle(h);
    return ok;
}

bool rename_replace(const std::string &from, const std::string &to) noexcept {
    try {
        if (MoveFileExW(wide(from).c_str(), wide(to).c_str(),
                        MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
            return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    win32::set_errno_from_last_error();
    return false;
}

bool link_new(const std::string &from, const std::string &to) noexcept {
    try {
        if (CreateHardLinkW(wide(to).c_str(), wide(from).c_str(), nullptr)) return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    win32::set_errno_from_last_error();
    return false;
}

bool rename_new(const std::string &from, const std::string &to) noexcept {
    try {
        // Without MOVEFILE_REPLACE_EXISTING: fails with ERROR_ALREADY_EXISTS if `to` exists.
        if (MoveFileExW(wide(from).c_str(), wide(to).c_str(), MOVEFILE_WRITE_THROUGH)) return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    win32::set_errno_from_last_error();
    return false;
}

bool remove_file(const std::string &path) noexcept {
    try {
        if (DeleteFileW(wide(path).c_str())) return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    win32::set_errno_from_last_error();
    return false;
}

bool make_directory(const std::string &path, unsigned) noexcept {
    try {
        if (CreateDirectoryW(wide(path).c_str(), nullptr)) return true;
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    win32::set_errno_from_last_error();
    return false;
}

// Renames are MOVEFILE_WRITE_THROUGH: the name is durable when MoveFileExW returns.
bool sync_directory(const std::string &) noexcept { return true; }

bool list_directory(const std::string &dir, std::vector<std::string> &names) noexcept {
    names.clear();
    try {
        WIN32_FIND_DATAW data{};
        HANDLE h = FindFirstFileW(wide(dir + "/*").c_str(), &data);
        if (h == INVALID_HANDLE_VALUE) {
            if (GetLastError() == ERROR_FILE_NOT_FOUND) return true;  // empty
            win32::set_errno_from_last_error();
            return false;
        }
        do {
            const std::wstring name = data.cFileName;
            if (name == L"." || name == L"..") continue;
            names.push_back(win32::utf8(name));
        } while (FindNextFileW(h, &data));
        FindClose(h);
    } catch (...) {
        errno = ENOMEM;
        return false;
    }
    return true;
}

bool DirectoryLock::acquire(const std::string &dir, int attempts) noexcept {
    file_.close();
    File f = File::open(dir + "/.lock", kRead | kWrite | kCreate | kNoFollow, 0600);
    if (!f) return false;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (f.lock(Lock::Exclusive)) {
            file_ = std::move(f);
            return true;
        }
        Sleep(1);
    }
    errno = EWOULDBLOCK;
    return false;
}

int64_t unix_now() noexcept {
    FILETIME ft{};
    GetSystemTimePreciseAsFileTime(&ft);
    return win32::unix_seconds(ft);
}

int64_t unix_now_ns() noexcept {
    FILETIME ft{};
    GetSystemTimePreciseAsFileTime(&ft);
    return win32::unix_nanoseconds(ft);
}

bool system_utc_offset_now(int32_t &seconds_east) noexcept {
    DYNAMIC_TIME_ZONE_INFORMATION tz{};
    const DWORD id = GetDynamicTimeZoneInformation(&tz);
    if (id == TIME_ZONE_ID_INVALID) return false;
    LONG bias = tz.Bias;  // minutes west of UTC
    if (id == TIME_ZONE_ID_DAYLIGHT) bias += tz.DaylightBias;
    if (id == TIME_ZONE_ID_STANDARD) bias += tz.StandardBias;
    seconds_east = int32_t(-bias) * 60;
    return true;
}

void sleep_ms(unsigned ms) noexcept { Sleep(ms); }

std::string error_text(int err) { return std::strerror(err); }

}  // namespace sonde::platform
