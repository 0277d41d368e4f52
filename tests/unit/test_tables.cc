#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "core/tables.hpp"

using namespace sonde;

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
