#pragma once
// Lock-free hash tables in the segment: open addressing with linear probing, keys claimed by
// CAS (0 = empty), entries never removed. Used on the recording path, so everything here is
// inline, allocation-free and bounded (kMaxProbes).

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "shm/layout.hpp"

namespace sonde::tables {

// `slots` is the number of slots of the table, a power of two: the header's user_capacity or
// student_capacity, table_slots() of the stated capacity (see shm/layout.hpp).
inline uint32_t home_slot(uint64_t key, uint32_t slots) {
    return uint32_t(key ^ (key >> 29)) & (slots - 1);
}

// Finds the entry of `key` or claims an empty one; nullptr when kMaxProbes slots are taken.
// At the stated capacity a table is at most half full, so that does not happen before it.
template <typename Entry>
inline Entry *find_or_insert(Entry *entries, uint32_t slots, uint64_t key) noexcept {
    uint32_t i = home_slot(key, slots);
    for (uint32_t n = 0; n < shm::kMaxProbes && n < slots; ++n, i = (i + 1) & (slots - 1)) {
        Entry &e = entries[i];
        uint64_t k = e.key.load(std::memory_order_acquire);
        if (k == key) return &e;
        if (k == 0) {
            if (e.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) return &e;
            if (k == key) return &e;  // another process inserted the same key
        }
    }
    return nullptr;
}

// Sets `bit` in the user's slot for window number `number`. Returns true if the bit is new.
// A slot holding an older window number is replaced; one holding a newer one (another process
// already moved on) is left alone.
inline bool mark_user(shm::UserEntry &e, shm::Window w, uint32_t number, uint64_t bit) noexcept {
    std::atomic<uint64_t> &slot = e.slot[w][number & 1];
    uint64_t cur = slot.load(std::memory_order_relaxed);
    for (;;) {
        const uint64_t have = cur >> shm::kMaskBits;
        uint64_t want;
        if (have == number) {
            if (cur & bit) return false;
            want = cur | bit;
        } else if (have > number && (cur & shm::kMaskMask) != 0) {
            return false;
        } else {
            want = shm::user_slot(number, bit);
        }
        if (slot.compare_exchange_weak(cur, want, std::memory_order_relaxed)) return true;
    }
}

// Adds delta to a student's tally for `school_year`, starting from 0 in a new year.
inline void add_tally(std::atomic<uint32_t> &word, uint32_t school_year, int64_t delta) noexcept {
    constexpr int64_t lo = -(int64_t{1} << 23), hi = (int64_t{1} << 23) - 1;
    uint32_t cur = word.load(std::memory_order_relaxed);
    for (;;) {
        const int64_t base = shm::tally_is_year(cur, school_year) ? shm::tally_count(cur) : 0;
        const int64_t next = std::clamp(base + delta, lo, hi);
        if (word.compare_exchange_weak(cur, shm::tally_word(school_year, int32_t(next)),
                                       std::memory_order_relaxed))
            return;
    }
}

}  // namespace sonde::tables
