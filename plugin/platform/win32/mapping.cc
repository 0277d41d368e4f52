// platform/mapping.hpp on Windows: an unnamed section over the file, then a view of it. The
// section goes with its last view; the file stays (issue 10, trap 2: a pagefile-backed section
// would vanish with its last handle). Windows refuses to truncate a file that has a view
// (ERROR_USER_MAPPED_FILE), so the truncation guard has nothing to do.
#include "platform/mapping.hpp"

#include <cerrno>
#include <cstring>

#include "platform/win32/win32.hpp"

namespace sonde::platform {

void *map_file(const File &file, uint64_t size, bool writable) noexcept {
    HANDLE h = reinterpret_cast<HANDLE>(file.native());
    HANDLE section = CreateFileMappingW(h, nullptr, writable ? PAGE_READWRITE : PAGE_READONLY,
                                        DWORD(size >> 32), DWORD(size), nullptr);
    if (!section) {
        win32::set_errno_from_last_error();
        return nullptr;
    }
    void *base = MapViewOfFile(section, writable ? FILE_MAP_READ | FILE_MAP_WRITE : FILE_MAP_READ,
                               0, 0, SIZE_T(size));
    if (!base) win32::set_errno_from_last_error();
    CloseHandle(section);  // the view keeps the section
    return base;
}

void *map_private(uint64_t size) noexcept {
    void *base = VirtualAlloc(nullptr, SIZE_T(size), MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (!base) win32::set_errno_from_last_error();
    return base;
}

bool copy_file(const File &file, void *out, uint64_t size) noexcept {
    // The file cannot be truncated while the view exists (ERROR_USER_MAPPED_FILE).
    void *view = map_file(file, size, false);
    if (!view) return false;
    std::memcpy(out, view, size_t(size));
    UnmapViewOfFile(view);
    return true;
}

void unmap(void *base, uint64_t) noexcept {
    if (!base) return;
    MEMORY_BASIC_INFORMATION mbi{};
    if (VirtualQuery(base, &mbi, sizeof mbi) && mbi.Type == MEM_PRIVATE)
        VirtualFree(base, 0, MEM_RELEASE);
    else
        UnmapViewOfFile(base);
}

bool sync_mapping(const File &file, void *base, uint64_t size) noexcept {
    // FlushViewOfFile starts the writes; FlushFileBuffers waits for them (and the metadata).
    if (!FlushViewOfFile(base, SIZE_T(size))) {
        win32::set_errno_from_last_error();
        return false;
    }
    if (file.valid() && !FlushFileBuffers(reinterpret_cast<HANDLE>(file.native()))) {
        win32::set_errno_from_last_error();
        return false;
    }
    return true;
}

void install_truncation_guard() noexcept {}
void guard_mapping(void *, uint64_t, const File &) noexcept {}
void unguard_mapping(void *) noexcept {}
bool take_truncation_flag(void *) noexcept { return false; }

}  // namespace sonde::platform
