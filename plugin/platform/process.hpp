#pragma once
// Processes and threads (platform/posix: /proc; platform/win32: OpenProcess and its creation
// time).

#include <cstddef>
#include <cstdint>

namespace sonde::platform {

using Pid = int32_t;

Pid current_pid() noexcept;

// When process `pid` started, in an OS unit (POSIX: clock ticks since boot, field 22 of
// /proc/<pid>/stat; Windows: creation time, 100 ns units since 1601). False if unknown, with
// errno EACCES when the process exists but may not be inspected.
bool process_start(Pid pid, uint64_t &start) noexcept;

enum class Liveness { Alive, Dead, Unknown };
// Whether the process `pid` that started at `start` (low 32 bits of process_start) still runs:
// a pid reused by a later process is Dead; a zombie (POSIX) or an exited process whose object
// is still held open (Windows) is Dead; a process that may not be inspected is Unknown.
Liveness process_liveness(Pid pid, uint32_t start_low) noexcept;

// Text that names the current boot and changes at every boot (POSIX:
// /proc/sys/kernel/random/boot_id; Windows: the boot time); its length, 0 if unknown.
size_t boot_id_text(char *out, size_t capacity) noexcept;

// Names the calling thread for debuggers (at most 15 characters).
void set_thread_name(const char *name) noexcept;
// Runs `child` in the child after a fork (POSIX); Windows has no fork: nothing.
void at_fork_child(void (*child)()) noexcept;

// One per-thread value for the library: `cleanup(value)` runs when a thread that set a
// non-null value ends (POSIX: a thread_local's destructor; Windows: an FlsAlloc callback, as
// thread_local destructors are unsafe in a MinGW DLL, issue 10 trap 1).
using ThreadCleanup = void (*)(void *);
void *thread_value() noexcept;
bool set_thread_value(void *value, ThreadCleanup cleanup) noexcept;

// Fresh randomness from the OS (getrandom / BCryptGenRandom). False on failure.
bool random_bytes(void *out, size_t size) noexcept;

}  // namespace sonde::platform
