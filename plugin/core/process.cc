#include "core/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sonde {
namespace {

// Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses,
// so parsing starts after its last ')'.
bool start_ticks(pid_t pid, uint64_t &ticks, bool *zombie = nullptr) noexcept {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char *p = std::strrchr(buf, ')');
    if (!p) return false;
    if (zombie) *zombie = p[1] == ' ' && p[2] == 'Z';  // a zombie never writes again
    int field = 2;
    for (++p; *p && field < 22; ++p)
        if (*p == ' ') ++field;
    if (field != 22) return false;
    ticks = std::strtoull(p, nullptr, 10);
    return true;
}

std::atomic<pid_t> g_cached_pid{0};
std::atomic<uint64_t> g_cached_identity{0};

}  // namespace

uint64_t process_identity(pid_t pid) noexcept {
    uint64_t ticks = 0;
    start_ticks(pid, ticks);
    return (uint64_t(uint32_t(pid)) << 32) | (ticks & 0xffffffffu);
}

uint64_t self_identity() noexcept {
    pid_t pid = ::getpid();
    if (pid != g_cached_pid.load(std::memory_order_acquire)) {
        g_cached_identity.store(process_identity(pid), std::memory_order_relaxed);
        g_cached_pid.store(pid, std::memory_order_release);
    }
    return g_cached_identity.load(std::memory_order_relaxed);
}

bool identity_alive(uint64_t identity) noexcept {
    pid_t pid = identity_pid(identity);
    if (pid <= 0) return false;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
    uint64_t ticks = 0;
    bool zombie = false;
    if (!start_ticks(pid, ticks, &zombie)) return errno == EACCES;  // unreadable: assume alive
    return !zombie && (ticks & 0xffffffffu) == (identity & 0xffffffffu);
}

namespace {

// FNV-1a of the text, twice with different seeds: any text names a boot.
BootId boot_id_from_text(const char *text, size_t len) noexcept {
    BootId id;
    uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;
    for (size_t i = 0; i < len; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n' || c == '-') continue;
        h1 = (h1 ^ c) * 0x100000001b3ULL;
        h2 = (h2 ^ c) * 0x100000001b3ULL;
    }
    id.hi = h1;
    id.lo = h2;
    return id;
}

BootId read_boot_id() noexcept {
    int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return {};
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n <= 0) return {};
    return boot_id_from_text(buf, size_t(n));
}

}  // namespace

BootId current_boot_id() noexcept {
    if (const char *forced = std::getenv("SONDE_BOOT_ID"); forced && *forced)
        return boot_id_from_text(forced, std::strlen(forced));
    static const BootId id = read_boot_id();
    return id;
}

}  // namespace sonde
