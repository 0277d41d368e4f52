#pragma once
#include <cstdint>

#include "platform/process.hpp"

namespace sonde {

// (pid << 32) | low 32 bits of the process start time (platform::process_start). Two processes
// that reuse a pid differ in start time, so a lease of a dead owner is never mistaken for a
// lease of a live one.
uint64_t process_identity(platform::Pid pid) noexcept;
uint64_t self_identity() noexcept;  // cached per process; recomputed after fork
bool identity_alive(uint64_t identity) noexcept;
inline platform::Pid identity_pid(uint64_t identity) { return platform::Pid(identity >> 32); }

}  // namespace sonde

namespace sonde {

// The kernel's boot id (/proc/sys/kernel/random/boot_id, 128 bits), read once per process: it
// changes at every boot, so a segment that records it tells a restart after a reboot from one
// within the same boot. Tests and replays may simulate a reboot with $SONDE_BOOT_ID (any text,
// hashed), read at the first call. {0, 0} if neither can be read.
struct BootId {
    uint64_t hi = 0, lo = 0;
    bool operator==(const BootId &) const = default;
};
BootId current_boot_id() noexcept;

}  // namespace sonde
