// platform/process.hpp on POSIX (Linux: /proc).
#include "platform/process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sonde::platform {
namespace {

// Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses,
// so parsing starts after its last ')'.
bool start_ticks(Pid pid, uint64_t &ticks, bool *zombie = nullptr) noexcept {
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

}  // namespace

Pid current_pid() noexcept { return Pid(::getpid()); }

bool process_start(Pid pid, uint64_t &start) noexcept { return start_ticks(pid, start); }

Liveness process_liveness(Pid pid, uint32_t start_low) noexcept {
    if (pid <= 0) return Liveness::Dead;
    if (::kill(pid, 0) != 0 && errno == ESRCH) return Liveness::Dead;
    uint64_t ticks = 0;
    bool zombie = false;
    if (!start_ticks(pid, ticks, &zombie))
        return errno == EACCES ? Liveness::Unknown : Liveness::Dead;
    return !zombie && uint32_t(ticks) == start_low ? Liveness::Alive : Liveness::Dead;
}

size_t boot_id_text(char *out, size_t capacity) noexcept {
    int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    const ssize_t n = ::read(fd, out, capacity);
    ::close(fd);
    return n > 0 ? size_t(n) : 0;
}

void set_thread_name(const char *name) noexcept { ::pthread_setname_np(::pthread_self(), name); }

void at_fork_child(void (*child)()) noexcept { ::pthread_atfork(nullptr, nullptr, child); }

namespace {

struct ThreadValue {
    void *value = nullptr;
    ThreadCleanup cleanup = nullptr;
    ~ThreadValue() {
        if (value && cleanup) cleanup(value);
    }
};
thread_local ThreadValue t_value;

}  // namespace

void *thread_value() noexcept { return t_value.value; }

bool set_thread_value(void *value, ThreadCleanup cleanup) noexcept {
    t_value.value = value;
    t_value.cleanup = cleanup;
    return true;
}

bool random_bytes(void *out, size_t size) noexcept {
    auto *p = static_cast<unsigned char *>(out);
    size_t done = 0;
    while (done < size) {
        // Flags 0: blocks only until the kernel pool is first initialised, then never.
        const ssize_t n = ::getrandom(p + done, size - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += size_t(n);
    }
    return true;
}

}  // namespace sonde::platform
