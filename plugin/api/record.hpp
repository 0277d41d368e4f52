#pragma once
// What the recording entry points (abi.cc) and the inline counters' slow path (counter.cc)
// share: where an event's cell is, and how a writer adds to it.

#include <array>

#include "api/state.hpp"
#include "catalog_layout.hpp"

#define SONDE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SONDE_LIKELY(x) __builtin_expect(!!(x), 1)

namespace sonde::api {

// The counter cell of (event, level), precomputed: one load instead of kEvents' 24-byte span
// and a branch on per_level. (kEventCount + 1) * kLevelSlots * 2 bytes = 1.4 KB.
inline constexpr auto kCellOf = [] {
    std::array<std::array<uint16_t, catalog::kLevelSlots>, catalog::kEventCount + 1> t{};
    for (uint32_t e = 1; e <= catalog::kEventCount; ++e)
        for (uint32_t l = 0; l < catalog::kLevelSlots; ++l)
            t[e][l] = uint16_t(catalog::kEvents[e].first + (catalog::kEvents[e].per_level ? l : 0));
    return t;
}();
static_assert(catalog::kCounterCells <= 0xffff);

inline bool valid_count(uint32_t event, uint32_t level) noexcept {
    return event - 1 < catalog::kEventCount && level < catalog::kLevelSlots;
}

// The row is the owner thread's alone: no lock prefix needed, and readers see whole 8-byte
// stores. Unsigned arithmetic wraps like fetch_add does, where signed overflow would be UB.
inline void add_owned(std::atomic<int64_t> &cell, int64_t delta) noexcept {
    cell.store(int64_t(uint64_t(cell.load(std::memory_order_relaxed)) + uint64_t(delta)),
               std::memory_order_relaxed);
}

// A call on a disabled base, by the writer's own thread: counted in the writer's own line with
// load+store (most bases are never enabled: no write to a line shared by threads).
inline void count_disabled_call(Writer &w) noexcept {
    w.disabled_calls.store(w.disabled_calls.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
}

// Where a recording call through writer `w` adds, once the writer is known to be live.
enum class Route {
    Own,       // the writer's own row: load+store
    Shared,    // the shared row (all rows leased, or a foreign thread): fetch_add
    Disabled,  // the base does not record
};

// Sends the call to the right row. Owner thread: arms the writer if needed (CAS only, no
// syscall). Foreign thread: the shared row, counted. Sets *cells for Own and Shared.
Route route_slow(Writer &w, std::atomic<int64_t> **cells) noexcept;

// The common case inline: the owner thread of an armed writer.
inline Route route(Writer &w, std::atomic<int64_t> **cells) noexcept {
    std::atomic<int64_t> *fast = w.fast_cells.load(std::memory_order_relaxed);
    if (SONDE_LIKELY(fast != nullptr &&
                     w.owner.load(std::memory_order_relaxed) == platform::thread_id())) {
        *cells = fast;
        return Route::Own;
    }
    return route_slow(w, cells);
}

inline void add_routed(Route r, std::atomic<int64_t> &cell, int64_t delta) noexcept {
    if (r == Route::Own)
        add_owned(cell, delta);
    else
        cell.fetch_add(delta, std::memory_order_relaxed);
}

// The status of a call through a writer handle that checked_writer refused; counted in the
// base the writer belonged to if it is known, else process-wide.
int refuse_writer(const void *handle) noexcept;

}  // namespace sonde::api
