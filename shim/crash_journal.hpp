#pragma once
// The crash scenario's oracle: each writer process journals every call in shared memory so
// that the driver knows exactly what was recorded even after a SIGKILL. Before a call the
// writer publishes the pending (cell, delta) and the cell's committed value; after it, it
// commits and clears `pending` (release). A call in flight at the kill was counted by the
// plugin entirely or not at all (one 8-byte store), so the cell must hold
// pending_before + 0 or pending_before + delta.

#include <atomic>
#include <cstdint>

#include "catalog_layout.hpp"

namespace sonde::shim {

inline constexpr uint32_t kCrashUsers = 4096;  // per base: the user keys the writers draw from
inline constexpr uint32_t kNoUser = ~0u;

enum JournalState : uint32_t { kUnused, kStarting, kRecording, kFinished, kKilled };

struct alignas(64) Journal {
    std::atomic<uint32_t> state;
    std::atomic<int32_t> pid;
    std::atomic<uint32_t> pending;  // 1 while a call is in flight
    std::atomic<uint32_t> pending_cell;
    std::atomic<uint32_t> pending_user;  // user of an in-flight connection, or kNoUser
    std::atomic<int64_t> pending_delta;
    std::atomic<int64_t> pending_before;  // committed[pending_cell] before the call
    std::atomic<uint64_t> calls, connections, failed;
    std::atomic<int32_t> first_failure;
    std::atomic<int64_t> committed[catalog::kCounterCells];
    std::atomic<uint64_t> users[kCrashUsers / 64];  // users whose connection completed
};

struct CrashControl {
    std::atomic<uint32_t> stop;  // survivors finish their call, close cleanly and exit 0
};
static_assert(sizeof(CrashControl) <= 64, "the journals start one cache line into the arena");

}  // namespace sonde::shim
