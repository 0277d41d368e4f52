#include "core/process.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace sonde {
namespace {

std::atomic<platform::Pid> g_cached_pid{0};
std::atomic<uint64_t> g_cached_identity{0};

}  // namespace

uint64_t process_identity(platform::Pid pid) noexcept {
    uint64_t start = 0;
    platform::process_start(pid, start);
    return (uint64_t(uint32_t(pid)) << 32) | (start & 0xffffffffu);
}

uint64_t self_identity() noexcept {
    const platform::Pid pid = platform::current_pid();
    if (pid != g_cached_pid.load(std::memory_order_acquire)) {
        g_cached_identity.store(process_identity(pid), std::memory_order_relaxed);
        g_cached_pid.store(pid, std::memory_order_release);
    }
    return g_cached_identity.load(std::memory_order_relaxed);
}

bool identity_alive(uint64_t identity) noexcept {
    return platform::process_liveness(identity_pid(identity), uint32_t(identity)) !=
           platform::Liveness::Dead;  // unreadable: assume alive
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
    char buf[64];
    const size_t n = platform::boot_id_text(buf, sizeof buf);
    if (n == 0) return {};
    return boot_id_from_text(buf, n);
}

}  // namespace

BootId current_boot_id() noexcept {
    if (const char *forced = std::getenv("SONDE_BOOT_ID"); forced && *forced)
        return boot_id_from_text(forced, std::strlen(forced));
    static const BootId id = read_boot_id();
    return id;
}

}  // namespace sonde
