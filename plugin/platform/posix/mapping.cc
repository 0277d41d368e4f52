// platform/mapping.hpp on POSIX: mmap, and the SIGBUS guard.
#include "platform/mapping.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>

namespace sonde::platform {

void *map_file(const File &file, uint64_t size, bool writable) noexcept {
    void *base = ::mmap(nullptr, size_t(size), writable ? PROT_READ | PROT_WRITE : PROT_READ,
                        MAP_SHARED, int(file.native()), 0);
    return base == MAP_FAILED ? nullptr : base;
}

void *map_private(uint64_t size) noexcept {
    void *base =
        ::mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return base == MAP_FAILED ? nullptr : base;
}

bool copy_file(const File &file, void *out, uint64_t size) noexcept {
    uint64_t got = 0;
    while (got < size) {
        const int64_t n = file.read_at(static_cast<char *>(out) + got, size_t(size - got), got);
        if (n <= 0) return false;
        got += uint64_t(n);
    }
    return true;
}

void unmap(void *base, uint64_t size) noexcept {
    if (base) ::munmap(base, size_t(size));
}

bool sync_mapping(const File &, void *base, uint64_t size) noexcept {
    return ::msync(base, size_t(size), MS_SYNC) == 0;
}

namespace {

// Registered file mappings, for the SIGBUS guard: read in a signal handler, so plain atomics.
struct GuardedRange {
    std::atomic<uintptr_t> start{0}, end{0};
    std::atomic<int> fd{-1};
    std::atomic<uint32_t> faulted{0};
};
constexpr uint32_t kGuardedRanges = 1024;
GuardedRange g_ranges[kGuardedRanges];

struct sigaction g_previous_sigbus;

void on_sigbus(int sig, siginfo_t *info, void *context) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr);
    for (GuardedRange &r : g_ranges) {
        const uintptr_t start = r.start.load(std::memory_order_acquire);
        if (start <= 1 || at < start || at >= r.end.load(std::memory_order_relaxed)) continue;
        const int fd = r.fd.load(std::memory_order_relaxed);
        if (fd >= 0 && ::ftruncate(fd, off_t(r.end.load(std::memory_order_relaxed) - start)) == 0) {
            r.faulted.store(1, std::memory_order_relaxed);
            return;  // the faulting access runs again, on a page of the file
        }
        break;
    }
    // Not ours: whatever was there before.
    if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
        if (g_previous_sigbus.sa_sigaction)
            return g_previous_sigbus.sa_sigaction(sig, info, context);
    } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
        return g_previous_sigbus.sa_handler(sig);
    }
    ::signal(SIGBUS, SIG_DFL);  // the access faults again and the process dies as it would have
}

}  // namespace

void install_truncation_guard() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
    });
}

void guard_mapping(void *base, uint64_t size, const File &file) noexcept {
    for (GuardedRange &r : g_ranges) {
        uintptr_t expected = 0;
        if (r.start.load(std::memory_order_relaxed) == 0 &&
            r.start.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
            r.end.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_relaxed);
            r.fd.store(int(file.native()), std::memory_order_relaxed);
            r.faulted.store(0, std::memory_order_relaxed);
            r.start.store(reinterpret_cast<uintptr_t>(base), std::memory_order_release);
            return;
        }
    }
}

void unguard_mapping(void *base) noexcept {
    for (GuardedRange &r : g_ranges)
        if (r.start.load(std::memory_order_acquire) == reinterpret_cast<uintptr_t>(base)) {
            r.fd.store(-1, std::memory_order_relaxed);
            r.start.store(0, std::memory_order_release);
            return;
        }
}

bool take_truncation_flag(void *base) noexcept {
    for (GuardedRange &r : g_ranges)
        if (r.start.load(std::memory_order_acquire) == reinterpret_cast<uintptr_t>(base))
            return r.faulted.exchange(0, std::memory_order_relaxed) != 0;
    return false;
}

}  // namespace sonde::platform
