#pragma once
// Helpers shared by the Win32 implementation of the platform layer (platform/win32 only).

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <string>

namespace sonde::platform::win32 {

// UTF-8 to UTF-16 (empty on invalid input), and back.
std::wstring wide(const std::string &utf8);
std::string utf8(const std::wstring &wide);
// GetLastError() as an errno value (ENOENT, EEXIST, EACCES, ...), also stored in errno.
int set_errno_from_last_error();
int errno_of(DWORD error);
// 100 ns units since 1601 to seconds and nanoseconds since 1970.
int64_t unix_seconds(const FILETIME &ft);
int64_t unix_nanoseconds(const FILETIME &ft);

}  // namespace sonde::platform::win32
