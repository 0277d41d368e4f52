#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/siphash.hpp"
#include "core/tables.hpp"

using namespace sonde;

namespace {

// Keys as the plugin makes them: SipHash-2-4 of the identifier under the base's secret, never 0.
uint64_t token(const SipKey &secret, const std::string &id) {
    const uint64_t h = siphash24(secret, id.data(), id.size());
    return h ? h : 1;
}

// "u123": built without `"u" + std::to_string(n)`, which GCC 12 at -O3 (Release) flags with a
// false -Wrestrict inside libstdc++.
uint64_t token(const SipKey &secret, char prefix, uint64_t n) {
    char id[32];
    const int len = std::snprintf(id, sizeof id, "%c%llu", prefix, (unsigned long long)n);
    return token(secret, std::string(id, size_t(len)));
}

struct Fill {
    uint32_t refused = 0;        // insertions that returned nullptr
    uint32_t first_refusal = 0;  // 1-based index of the first, 0 if none
    uint32_t longest_probe = 0;  // distance from the home slot of the farthest key
};

// Inserts `people` distinct identifiers ("u1", "u2"...) into a table of `slots` slots.
template <typename Entry>
Fill fill(uint32_t slots, uint32_t people, const SipKey &secret) {
    std::vector<Entry> table(slots);
    Fill f;
    for (uint32_t n = 1; n <= people; ++n) {
        const uint64_t key = token(secret, 'u', n);
        Entry *e = tables::find_or_insert(table.data(), slots, key);
        if (!e) {
            ++f.refused;
            if (!f.first_refusal) f.first_refusal = n;
            continue;
        }
        const uint32_t at = uint32_t(e - table.data());
        f.longest_probe =
            std::max(f.longest_probe, (at - tables::home_slot(key, slots)) & (slots - 1));
    }
    return f;
}

}  // namespace

TEST_CASE("the stated capacity fits: tables filled to capacity refuse nobody", "[tables]") {
    // Issue 6 item 1.5: with as many slots as the stated capacity, the first refusal came at
    // 3,549-3,742 of 4,096 students and 13,798-14,529 of 16,384 users. A table now has
    // table_slots(capacity) slots, at least twice the capacity.
    std::mt19937_64 rng(20261202);
    const int secrets = 100;
    uint32_t longest_users = 0, longest_students = 0;
    for (int s = 0; s < secrets; ++s) {
        const SipKey secret{rng(), rng()};
        const Fill users = fill<shm::UserEntry>(shm::table_slots(shm::kDefaultUserCapacity),
                                                shm::kDefaultUserCapacity, secret);
        const Fill students = fill<shm::StudentEntry>(
            shm::table_slots(shm::kDefaultStudentCapacity), shm::kDefaultStudentCapacity, secret);
        INFO("secret " << s);
        REQUIRE(users.refused == 0);
        REQUIRE(students.refused == 0);
        longest_users = std::max(longest_users, users.longest_probe);
        longest_students = std::max(longest_students, students.longest_probe);
    }
    // Far from the bound: probing stays short at half load.
    CHECK(longest_users < shm::kMaxProbes / 2);
    CHECK(longest_students < shm::kMaxProbes / 2);
    WARN("longest probe over " << secrets << " secrets: users " << longest_users << ", students "
                               << longest_students);
}

TEST_CASE("every configurable capacity fits at its bounds", "[tables]") {
    std::mt19937_64 rng(7);
    for (uint32_t capacity :
         {shm::kMinStudentCapacity, 1000u, 3000u, 5000u, 12000u, shm::kMaxStudentCapacity}) {
        for (int s = 0; s < 5; ++s) {
            const SipKey secret{rng(), rng()};
            INFO("capacity " << capacity << ", secret " << s);
            CHECK(fill<shm::StudentEntry>(shm::table_slots(capacity), capacity, secret).refused ==
                  0);
        }
    }
    const SipKey secret{rng(), rng()};
    CHECK(
        fill<shm::UserEntry>(shm::table_slots(shm::kMaxUserCapacity), shm::kMaxUserCapacity, secret)
            .refused == 0);
}

TEST_CASE("table_slots: a power of two, at least twice the stated capacity", "[tables]") {
    for (uint32_t c : {shm::kMinUserCapacity, 257u, 4096u, 5000u, shm::kDefaultStudentCapacity,
                       shm::kDefaultUserCapacity, 32768u, shm::kMaxUserCapacity}) {
        const uint32_t slots = shm::table_slots(c);
        CHECK((slots & (slots - 1)) == 0);
        CHECK(slots >= 2 * c);
        CHECK(slots < 4 * c);
    }
}

TEST_CASE("far past its capacity a table refuses, and keeps finding its keys", "[tables]") {
    const uint32_t capacity = shm::kMinStudentCapacity, slots = shm::table_slots(capacity);
    std::vector<shm::StudentEntry> table(slots);
    const SipKey secret{1, 2};
    uint32_t placed = 0, refused = 0;
    for (uint32_t n = 1; n <= 4 * slots; ++n)
        (tables::find_or_insert(table.data(), slots, token(secret, 's', n)) ? placed : refused)++;
    CHECK(placed >= capacity);  // the stated capacity, and more, fit...
    CHECK(placed <= slots);
    CHECK(refused >= 3 * slots);  // ...and past the slots everything is refused, never looped on
    for (uint32_t n = 1; n <= 16; ++n) {
        const uint64_t key = token(secret, 's', n);
        CHECK(tables::find_or_insert(table.data(), slots, key) != nullptr);  // placed early
    }
}

TEST_CASE("find_or_insert places each key once", "[tables]") {
    std::vector<shm::UserEntry> users(64);
    shm::UserEntry *a = tables::find_or_insert(users.data(), 64, 42);
    shm::UserEntry *b = tables::find_or_insert(users.data(), 64, 43);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a != b);
    CHECK(tables::find_or_insert(users.data(), 64, 42) == a);
}

TEST_CASE("a full table returns null instead of looping", "[tables]") {
    std::vector<shm::StudentEntry> students(16);
    for (uint64_t k = 1; k <= 16; ++k)
        REQUIRE(tables::find_or_insert(students.data(), 16, k * 7919) != nullptr);
    CHECK(tables::find_or_insert(students.data(), 16, 999999) == nullptr);
    CHECK(tables::find_or_insert(students.data(), 16, 7919) !=
          nullptr);  // existing keys still found
}

TEST_CASE("mark_user reports only new bits and rolls windows over", "[tables]") {
    shm::UserEntry e{};
    CHECK(tables::mark_user(e, shm::kDay, 20000, 1u << 3));
    CHECK_FALSE(tables::mark_user(e, shm::kDay, 20000, 1u << 3));
    CHECK(tables::mark_user(e, shm::kDay, 20000, 1u << 4));
    // Next day uses the other parity slot: the closed day stays readable.
    CHECK(tables::mark_user(e, shm::kDay, 20001, 1u << 3));
    CHECK((e.slot[shm::kDay][0].load() >> shm::kMaskBits) == 20000);
    CHECK((e.slot[shm::kDay][0].load() & shm::kMaskMask) == ((1u << 3) | (1u << 4)));
    // Two days later the old slot is replaced, not extended.
    CHECK(tables::mark_user(e, shm::kDay, 20002, 1u << 5));
    CHECK(e.slot[shm::kDay][0].load() == shm::user_slot(20002, 1u << 5));
    // A late writer still on an older day does not roll a newer slot back.
    CHECK_FALSE(tables::mark_user(e, shm::kDay, 20000, 1u << 6));
    CHECK(e.slot[shm::kDay][0].load() == shm::user_slot(20002, 1u << 5));
}

TEST_CASE("add_tally counts per school year with signed corrections", "[tables]") {
    std::atomic<uint32_t> word{0};
    tables::add_tally(word, 2026, 3);
    tables::add_tally(word, 2026, -1);
    CHECK(shm::tally_is_year(word.load(), 2026));
    CHECK(shm::tally_count(word.load()) == 2);
    tables::add_tally(word, 2028, 5);  // two years later: starts from zero
    CHECK(shm::tally_count(word.load()) == 5);
    tables::add_tally(word, 2028, -9);
    CHECK(shm::tally_count(word.load()) == -4);
    tables::add_tally(word, 2028, int64_t{1} << 30);  // saturates instead of wrapping
    CHECK(shm::tally_count(word.load()) == (1 << 23) - 1);
}
