#pragma once
// The identity of the calling thread in one register read, for the recording path: the thread
// pointer (the TCB address that pthread_self() also returns on glibc; on Windows the TEB,
// gs:[0x30]). Where sonde.h's inline sonde_counter_add() has __builtin_thread_pointer() it
// compares the same value; MinGW's GCC has no such builtin, and the header takes its slow path.

#include <cstdint>

namespace sonde::platform {

inline uintptr_t thread_id() noexcept {
#if defined(_WIN32) && defined(__x86_64__)
    uintptr_t teb;
    __asm__("movq %%gs:0x30, %0" : "=r"(teb));
    return teb;
#else
    return reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
#endif
}

}  // namespace sonde::platform
