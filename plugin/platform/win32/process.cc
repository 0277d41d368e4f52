// platform/process.hpp on Windows.
#include "platform/process.hpp"

#include <cerrno>
#include <cstdio>
#include <mutex>

#include "platform/win32/win32.hpp"
// After <windows.h>, which it needs.
#include <bcrypt.h>

namespace sonde::platform {

Pid current_pid() noexcept { return Pid(GetCurrentProcessId()); }

namespace {

uint64_t creation_time(HANDLE process, bool &ok) {
    FILETIME created{}, exited{}, kernel{}, user{};
    ok = GetProcessTimes(process, &created, &exited, &kernel, &user) != 0;
    return uint64_t(created.dwHighDateTime) << 32 | created.dwLowDateTime;
}

}  // namespace

bool process_start(Pid pid, uint64_t &start) noexcept {
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, DWORD(pid));
    if (!h) {
        errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : ESRCH;
        return false;
    }
    bool ok = false;
    start = creation_time(h, ok);
    CloseHandle(h);
    if (!ok) errno = EACCES;
    return ok;
}

Liveness process_liveness(Pid pid, uint32_t start_low) noexcept {
    if (pid <= 0) return Liveness::Dead;
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, DWORD(pid));
    if (!h) return GetLastError() == ERROR_ACCESS_DENIED ? Liveness::Unknown : Liveness::Dead;
    // An exited process whose object someone still holds open is dead, like a zombie.
    const bool running = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
    bool ok = false;
    const uint64_t start = creation_time(h, ok);
    CloseHandle(h);
    if (!running) return Liveness::Dead;
    if (!ok) return Liveness::Unknown;
    return uint32_t(start) == start_low ? Liveness::Alive : Liveness::Dead;
}

size_t boot_id_text(char *out, size_t capacity) noexcept {
    // The boot time, from NtQuerySystemInformation(SystemTimeOfDayInformation): the first
    // member of the answer, 100 ns units since 1601.
    using Query = LONG(WINAPI *)(int, void *, ULONG, ULONG *);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    auto query = ntdll ? reinterpret_cast<Query>(reinterpret_cast<void *>(
                             GetProcAddress(ntdll, "NtQuerySystemInformation")))
                       : nullptr;
    if (!query) return 0;
    unsigned char info[48] = {};
    ULONG got = 0;
    if (query(3 /* SystemTimeOfDayInformation */, info, sizeof info, &got) < 0 || got < 8) return 0;
    uint64_t boot = 0;
    for (int i = 7; i >= 0; --i) boot = boot << 8 | info[i];
    const int n = std::snprintf(out, capacity, "windows-boot-%llu",
                                static_cast<unsigned long long>(boot / 10000000));
    return n > 0 && size_t(n) < capacity ? size_t(n) : 0;
}

void set_thread_name(const char *name) noexcept {
    using Describe = HRESULT(WINAPI *)(HANDLE, PCWSTR);
    HMODULE kernel = GetModuleHandleW(L"kernel32.dll");
    auto describe = kernel ? reinterpret_cast<Describe>(reinterpret_cast<void *>(
                                 GetProcAddress(kernel, "SetThreadDescription")))
                           : nullptr;
    if (!describe) return;  // before Windows 10 1607
    wchar_t wname[32] = {};
    for (size_t i = 0; i + 1 < sizeof wname / sizeof *wname && name[i]; ++i)
        wname[i] = wchar_t(static_cast<unsigned char>(name[i]));
    describe(GetCurrentThread(), wname);
}

void at_fork_child(void (*)()) noexcept {}

namespace {

ThreadCleanup g_cleanup = nullptr;
DWORD g_fls = FLS_OUT_OF_INDEXES;

void WINAPI on_fiber_exit(void *value) {
    if (value && g_cleanup) g_cleanup(value);
}

DWORD fls_index() {
    static std::once_flag once;
    std::call_once(once, [] {
        // The callback lives in this DLL: pin it so that it is never unloaded while a thread
        // may still end with a value set (as -z nodelete would on Linux).
        HMODULE self = nullptr;
        GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                           reinterpret_cast<LPCWSTR>(reinterpret_cast<void *>(&on_fiber_exit)),
                           &self);
        g_fls = FlsAlloc(&on_fiber_exit);
    });
    return g_fls;
}

}  // namespace

void *thread_value() noexcept {
    const DWORD index = fls_index();
    return index == FLS_OUT_OF_INDEXES ? nullptr : FlsGetValue(index);
}

bool set_thread_value(void *value, ThreadCleanup cleanup) noexcept {
    const DWORD index = fls_index();
    if (index == FLS_OUT_OF_INDEXES) return false;
    g_cleanup = cleanup;
    return FlsSetValue(index, value) != 0;
}

bool random_bytes(void *out, size_t size) noexcept {
    auto *p = static_cast<unsigned char *>(out);
    while (size > 0) {
        const ULONG chunk = ULONG(size > 0x40000000 ? 0x40000000 : size);
        if (BCryptGenRandom(nullptr, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) < 0) return false;
        p += chunk;
        size -= chunk;
    }
    return true;
}

}  // namespace sonde::platform
