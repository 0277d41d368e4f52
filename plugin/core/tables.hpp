#pragma once
// Lock-free hash tables in the segment: open addressing with linear probing, keys claimed by
// CAS. Used on the recording path, so everything here is inline, allocation-free and bounded
// (kMaxProbes).
//
// Entries of people who belong to no window the console still shows (nothing in the open or
// the just-closed day, month and school year) are reclaimed by the watcher (reclaim_pass),
// so that a table's capacity counts the people of those windows, not everyone since the
// segment was created. Probe chains must not break, so a reclaimed entry is not emptied but
// becomes a tombstone, which insertions reuse. The key word carries the entry's state:
//
//   0                      empty: ends a probe chain
//   k (bits 62-63 clear)   live: k is the keyed hash, reduced to 62 bits and never 0
//   k | kRetiring          the watcher found the entry stale and retires it: lookups of k no
//                          longer match it (a returning person gets a new entry); writers that
//                          read the key before may still be inside their call
//   k | kFinishing         one watcher, alone, finishes the retirement (after a grace period)
//   kTombstone             free for reuse; does not end a probe chain
//
// A retiring entry is finished at the reclaimer's next pass, at least a second later: by then
// every call that found the entry live has ended (a call takes nanoseconds). Anything such a
// late call marked is moved to the person's new entry (user marks are a union, tallies a sum,
// so moving them is exact); the words are cleared; then the key becomes a tombstone with a
// release store, so an insertion that claims it with a CAS sees cleared words.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "shm/layout.hpp"

namespace sonde::tables {

inline constexpr uint64_t kKeyBits = (uint64_t{1} << 62) - 1;
inline constexpr uint64_t kRetiring = uint64_t{1} << 63;
inline constexpr uint64_t kFinishing = uint64_t{3} << 62;
inline constexpr uint64_t kTombstone = uint64_t{1} << 62;

// The key a hash is stored as: 62 bits, never 0.
inline constexpr uint64_t stored_key(uint64_t hash) {
    const uint64_t k = hash & kKeyBits;
    return k ? k : 1;
}
inline constexpr bool live_key(uint64_t word) { return word != 0 && (word & ~kKeyBits) == 0; }

// `slots` is the number of slots of the table, a power of two: the header's user_capacity or
// student_capacity, table_slots() of the stated capacity (see shm/layout.hpp).
inline uint32_t home_slot(uint64_t hash, uint32_t slots) {
    const uint64_t key = stored_key(hash);
    return uint32_t(key ^ (key >> 29)) & (slots - 1);
}

// Finds the entry of `hash` or claims an empty slot or a tombstone; nullptr when kMaxProbes
// slots are taken. At the stated capacity a table is at most half full, so that does not
// happen before it.
template <typename Entry>
inline Entry *find_or_insert(Entry *entries, uint32_t slots, uint64_t hash) noexcept {
    const uint64_t key = stored_key(hash);
    for (int attempt = 0; attempt < 4; ++attempt) {
        uint32_t i = home_slot(key, slots);
        Entry *tomb = nullptr;
        uint32_t n = 0;
        for (; n < shm::kMaxProbes && n < slots; ++n, i = (i + 1) & (slots - 1)) {
            Entry &e = entries[i];
            uint64_t k = e.key.load(std::memory_order_acquire);
            if (k == key) return &e;
            if (k == kTombstone) {
                if (!tomb) tomb = &e;
                continue;
            }
            if (k != 0) continue;
            // The end of the chain: the key is not in the table. Reuse the first tombstone
            // before it, or claim this empty slot.
            Entry &claim = tomb ? *tomb : e;
            uint64_t expected = tomb ? kTombstone : 0;
            if (claim.key.compare_exchange_strong(expected, key, std::memory_order_acq_rel))
                return &claim;
            if (expected == key) return &claim;  // another process inserted the same key
            break;                               // the chain changed under us: probe again
        }
        if (n == shm::kMaxProbes || n == slots) {
            if (!tomb) return nullptr;
            uint64_t expected = kTombstone;
            if (tomb->key.compare_exchange_strong(expected, key, std::memory_order_acq_rel))
                return tomb;
            if (expected == key) return tomb;
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
            if ((cur & bit) == bit) return false;
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

// ---- reclaiming entries of closed windows (watcher only, never on the recording path) -----

// The windows the console still shows: an entry whose every word is older than the closed
// window of its kind (open - 1) belongs to nobody the console counts any more.
struct OpenNumbers {
    uint32_t day = 0, month = 0, school_year = 0;
};

inline bool user_stale(const shm::UserEntry &e, const OpenNumbers &open) noexcept {
    const uint32_t numbers[shm::kWindows] = {open.day, open.month, open.school_year};
    for (uint32_t w = 0; w < shm::kWindows; ++w)
        for (const auto &slot : e.slot[w]) {
            const uint64_t v = slot.load(std::memory_order_relaxed);
            if ((v & shm::kMaskMask) == 0) continue;                    // never marked
            if ((v >> shm::kMaskBits) + 1 >= numbers[w]) return false;  // open or just closed
        }
    return true;
}

inline bool student_stale(const shm::StudentEntry &e, const OpenNumbers &open) noexcept {
    const uint32_t y = open.school_year;
    for (uint32_t p = 0; p < 2; ++p) {
        const uint32_t lw = e.level[p].load(std::memory_order_relaxed);
        if (lw != 0 && (lw >> 16) + 1 >= y) return false;
        for (const auto &word : e.tally[p]) {
            const uint32_t v = word.load(std::memory_order_relaxed);
            if (shm::tally_count(v) != 0 &&
                (shm::tally_is_year(v, y) || shm::tally_is_year(v, y - 1)))
                return false;
        }
    }
    return true;
}

// Moves what a late call marked in a retiring entry to the person's live entry, then clears
// the entry's words (it is the finisher's alone).
inline void finish_entry(shm::UserEntry *entries, uint32_t slots, shm::UserEntry &e, uint64_t key,
                         const OpenNumbers &open) noexcept {
    if (!user_stale(e, open))
        if (shm::UserEntry *to = find_or_insert(entries, slots, key))
            for (uint32_t w = 0; w < shm::kWindows; ++w)
                for (const auto &slot : e.slot[w]) {
                    const uint64_t v = slot.load(std::memory_order_relaxed);
                    const uint64_t mask = v & shm::kMaskMask;
                    for (uint32_t b = 0; b < shm::kMaskBits; ++b)
                        if (mask >> b & 1)
                            mark_user(*to, shm::Window(w), uint32_t(v >> shm::kMaskBits),
                                      uint64_t{1} << b);
                }
    for (auto &window : e.slot)
        for (auto &slot : window) slot.store(0, std::memory_order_relaxed);
}

inline void finish_entry(shm::StudentEntry *entries, uint32_t slots, shm::StudentEntry &e,
                         uint64_t key, const OpenNumbers &open) noexcept {
    if (!student_stale(e, open))
        if (shm::StudentEntry *to = find_or_insert(entries, slots, key))
            for (uint32_t p = 0; p < 2; ++p) {
                const uint32_t lw = e.level[p].load(std::memory_order_relaxed);
                const uint32_t year = lw >> 16;
                if (lw == 0 || year + 1 < open.school_year) continue;
                to->level[p].store(lw, std::memory_order_relaxed);
                for (uint32_t t = 0; t < catalog::kTallySlots; ++t) {
                    const uint32_t v = e.tally[p][t].load(std::memory_order_relaxed);
                    if (shm::tally_is_year(v, year) && shm::tally_count(v) != 0)
                        add_tally(to->tally[p][t], year, shm::tally_count(v));
                }
            }
    for (auto &level : e.level) level.store(0, std::memory_order_relaxed);
    for (auto &parity : e.tally)
        for (auto &word : parity) word.store(0, std::memory_order_relaxed);
}

template <typename Entry>
inline bool entry_stale(const Entry &e, const OpenNumbers &open) noexcept {
    if constexpr (std::is_same_v<Entry, shm::UserEntry>)
        return user_stale(e, open);
    else
        return student_stale(e, open);
}

// One pass of the reclaimer over a table (the watcher calls it about once a second). Entries
// this process marked retiring at its previous pass (`retiring`, indices) are finished; then
// stale live entries are marked retiring for the next pass. Returns the entries freed.
// `retiring` lives in process memory; entries another process left retiring (it died between
// two passes) are picked up like stale ones.
template <typename Entry>
inline uint32_t reclaim_pass(Entry *entries, uint32_t slots, const OpenNumbers &open,
                             std::vector<uint32_t> &retiring) {
    uint32_t freed = 0;
    for (uint32_t i : retiring) {
        Entry &e = entries[i];
        uint64_t k = e.key.load(std::memory_order_acquire);
        if ((k & kFinishing) != kRetiring) continue;  // another reclaimer finished it
        if (!e.key.compare_exchange_strong(k, (k & kKeyBits) | kFinishing,
                                           std::memory_order_acq_rel))
            continue;
        finish_entry(entries, slots, e, k & kKeyBits, open);
        e.key.store(kTombstone, std::memory_order_release);
        ++freed;
    }
    retiring.clear();
    if (open.school_year == 0) return freed;  // calendar not known yet
    for (uint32_t i = 0; i < slots; ++i) {
        Entry &e = entries[i];
        uint64_t k = e.key.load(std::memory_order_acquire);
        if ((k & kFinishing) == kRetiring) {
            retiring.push_back(i);  // left by a reclaimer that died, or another one's: finish
            continue;
        }
        if (!live_key(k) || !entry_stale(e, open)) continue;
        if (e.key.compare_exchange_strong(k, k | kRetiring, std::memory_order_acq_rel))
            retiring.push_back(i);
    }
    return freed;
}

}  // namespace sonde::tables
