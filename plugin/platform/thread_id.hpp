#pragma once
// The identity of the calling thread in one register read, for the recording path: the thread
// pointer (the TCB address that pthread_self() also returns on glibc). It must be the value
// that sonde.h's inline sonde_counter_add() compares, so both use __builtin_thread_pointer().

#include <cstdint>

namespace sonde::platform {

inline uintptr_t thread_id() noexcept {
    return reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
}

}  // namespace sonde::platform
