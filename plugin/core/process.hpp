#pragma once
#include <sys/types.h>

#include <cstdint>

namespace sonde {

// (pid << 32) | low 32 bits of the process start time in clock ticks since boot. Two processes
// that reuse a pid differ in start time, so a lease of a dead owner is never mistaken for a
// lease of a live one.
uint64_t process_identity(pid_t pid) noexcept;
uint64_t self_identity() noexcept;  // cached per process; recomputed after fork
bool identity_alive(uint64_t identity) noexcept;
inline pid_t identity_pid(uint64_t identity) { return pid_t(identity >> 32); }

}  // namespace sonde
