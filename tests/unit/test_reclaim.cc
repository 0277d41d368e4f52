// Issue 7 section 4: "The user and student tables never free an entry. After 3,000 students in
// one school year and 3,000 others the next, 1,904 of the second year's are refused." Entries of
// people who belong to no window the console shows (open or just-closed day, month, school
// year) are reclaimed, lock-free, without breaking probe chains.

#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/siphash.hpp"
#include "core/tables.hpp"

using namespace sonde;

namespace {

uint64_t token(const SipKey &secret, const std::string &id) {
    const uint64_t h = siphash24(secret, id.data(), id.size());
    return h ? h : 1;
}

// The calendar numbers of some day in school year `y` (as the plugin's stamps hold them).
tables::OpenNumbers numbers_in(uint32_t y) {
    const uint32_t day = (y - 1970) * 365 + 300;  // a day of the school year
    const uint32_t month = (y - 1970) * 12 + 10;  // November
    return {day, month, y};
}

// What abi.cc's student() does for one event.
bool record_student(std::vector<shm::StudentEntry> &t, uint64_t key, uint32_t year) {
    shm::StudentEntry *e = tables::find_or_insert(t.data(), uint32_t(t.size()), key);
    if (!e) return false;
    e->level[year & 1].store((year << 16) | 3);
    tables::add_tally(e->tally[year & 1][0], year, 1);
    return true;
}

// What abi.cc's connection() does.
bool record_user(std::vector<shm::UserEntry> &t, uint64_t key, const tables::OpenNumbers &n,
                 uint64_t bit) {
    shm::UserEntry *e = tables::find_or_insert(t.data(), uint32_t(t.size()), key);
    if (!e) return false;
    tables::mark_user(*e, shm::kDay, n.day, bit);
    tables::mark_user(*e, shm::kMonth, n.month, bit);
    tables::mark_user(*e, shm::kSchoolYear, n.school_year, bit);
    return true;
}

uint32_t students_of_year(const std::vector<shm::StudentEntry> &t, uint32_t y) {
    uint32_t n = 0;
    for (const auto &e : t)
        if (e.key.load() && (e.level[y & 1].load() >> 16) == y &&
            shm::tally_count(e.tally[y & 1][0].load()) > 0)
            ++n;
    return n;
}

uint64_t distinct_in_year(const std::vector<shm::UserEntry> &t, uint32_t y) {
    uint64_t n = 0;
    for (const auto &e : t) {
        if (!tables::live_key(e.key.load())) continue;  // as the readers count
        const uint64_t v = e.slot[shm::kSchoolYear][y & 1].load();
        if ((v >> shm::kMaskBits) == y && (v & shm::kMaskMask)) ++n;
    }
    return n;
}

// A school year of `people` new students, then the watcher's passes of the next year's start.
struct Years {
    uint32_t refused = 0;
    std::vector<uint32_t> present;  // students of the closed year still counted, per year
};

Years run_student_years(uint32_t capacity, int years, bool reclaim) {
    const uint32_t slots = shm::table_slots(capacity);
    std::vector<shm::StudentEntry> table(slots);
    std::vector<uint32_t> retiring;
    const SipKey secret{11, 22};
    Years out;
    for (int i = 0; i < years; ++i) {
        const uint32_t y = 2024 + uint32_t(i);
        if (reclaim)  // two passes, a second apart: mark retiring, then finish
            for (int pass = 0; pass < 2; ++pass)
                tables::reclaim_pass(table.data(), slots, numbers_in(y), retiring);
        if (i > 0) out.present.push_back(students_of_year(table, y - 1));
        for (uint32_t s = 0; s < 3000; ++s)
            if (!record_student(table, token(secret, std::to_string(y) + "/" + std::to_string(s)),
                                y))
                ++out.refused;
    }
    return out;
}

}  // namespace

TEST_CASE("student entries of school years no longer shown are reclaimed", "[tables][reclaim]") {
    // 3,000 new students every school year in a table sized for 3,000 (8,192 slots).
    const Years kept = run_student_years(3000, 4, false);
    CHECK(kept.refused > 0);  // without reclaiming, the table fills up with leavers
    const Years reclaimed = run_student_years(3000, 4, true);
    CHECK(reclaimed.refused == 0);
    // The closed school year stays whole: the console still shows it.
    for (uint32_t n : reclaimed.present) CHECK(n == 3000);
}

TEST_CASE("user entries of windows no longer shown are reclaimed", "[tables][reclaim]") {
    const uint32_t capacity = 3000, slots = shm::table_slots(capacity);
    for (bool reclaim : {false, true}) {
        std::vector<shm::UserEntry> table(slots);
        std::vector<uint32_t> retiring;
        const SipKey secret{5, 6};
        uint32_t refused = 0;
        for (uint32_t y = 2024; y < 2028; ++y) {
            uint32_t refused_this_year = 0;
            if (reclaim)
                for (int pass = 0; pass < 2; ++pass)
                    tables::reclaim_pass(table.data(), slots, numbers_in(y), retiring);
            if (reclaim && y > 2024) CHECK(distinct_in_year(table, y - 1) == 3000);
            for (uint32_t u = 0; u < 3000; ++u)
                refused_this_year +=
                    !record_user(table, token(secret, std::to_string(y) + "u" + std::to_string(u)),
                                 numbers_in(y), uint64_t{1} << (u % 36));
            CHECK(distinct_in_year(table, y) == 3000 - refused_this_year);
            refused += refused_this_year;
        }
        INFO("reclaim " << reclaim);
        if (reclaim)
            CHECK(refused == 0);
        else
            CHECK(refused > 0);
    }
}

TEST_CASE("a returning person and probe chains survive reclaiming", "[tables][reclaim]") {
    const uint32_t slots = 1024;
    std::vector<shm::StudentEntry> table(slots);
    std::vector<uint32_t> retiring;
    // Keys that share a home slot form one chain; the first two are reclaimed, the third not.
    const uint64_t a = 5, b = 5 + (uint64_t(slots) << 29) * 0 + slots, c = 5 + 2 * uint64_t(slots);
    REQUIRE(tables::home_slot(a, slots) == tables::home_slot(b, slots));
    REQUIRE(tables::home_slot(a, slots) == tables::home_slot(c, slots));
    REQUIRE(record_student(table, a, 2020));
    REQUIRE(record_student(table, b, 2020));
    REQUIRE(record_student(table, c, 2023));
    shm::StudentEntry *ec = tables::find_or_insert(table.data(), slots, c);
    for (int pass = 0; pass < 2; ++pass)
        CHECK(tables::reclaim_pass(table.data(), slots, numbers_in(2023), retiring) ==
              (pass == 1 ? 2u : 0u));
    // c is still found behind the two tombstones, at the same place, with its tally.
    CHECK(tables::find_or_insert(table.data(), slots, c) == ec);
    CHECK(shm::tally_count(ec->tally[2023 & 1][0].load()) == 1);
    // a comes back: it reuses the first tombstone, starts from zero, and is found again.
    REQUIRE(record_student(table, a, 2023));
    shm::StudentEntry *ea = tables::find_or_insert(table.data(), slots, a);
    CHECK(ea < ec);
    CHECK(shm::tally_count(ea->tally[2023 & 1][0].load()) == 1);
    CHECK(tables::find_or_insert(table.data(), slots, a) == ea);
}

TEST_CASE("a late mark in a retiring entry moves to the person's new entry", "[tables][reclaim]") {
    const uint32_t slots = 256;
    std::vector<shm::UserEntry> table(slots);
    std::vector<uint32_t> retiring;
    const tables::OpenNumbers now = numbers_in(2026);
    REQUIRE(record_user(table, 77, numbers_in(2023), 1));
    shm::UserEntry *old = tables::find_or_insert(table.data(), slots, 77);
    tables::reclaim_pass(table.data(), slots, now, retiring);  // marked retiring
    REQUIRE(retiring.size() == 1);
    // A call that found the entry live just before marks it now (late), and a new call of the
    // same person no longer matches the retiring entry: it gets a new one.
    tables::mark_user(*old, shm::kSchoolYear, now.school_year, 1u << 4);
    REQUIRE(record_user(table, 77, now, 1u << 5));
    CHECK(tables::find_or_insert(table.data(), slots, 77) != old);
    tables::reclaim_pass(table.data(), slots, now, retiring);  // finished
    CHECK(old->key.load() == tables::kTombstone);
    // Counted once, with both combinations.
    CHECK(distinct_in_year(table, now.school_year) == 1);
    const shm::UserEntry *e = tables::find_or_insert(table.data(), slots, 77);
    CHECK((e->slot[shm::kSchoolYear][now.school_year & 1].load() & shm::kMaskMask) ==
          ((1u << 4) | (1u << 5)));
}

TEST_CASE("reclaiming while writers record loses no distinct user", "[tables][reclaim]") {
    const uint32_t slots = shm::table_slots(2048);
    std::vector<shm::UserEntry> table(slots);
    const SipKey secret{9, 9};
    // 1,500 people of 2023 (stale in 2025), of whom a third come back in 2025.
    for (uint32_t u = 0; u < 1500; ++u)
        REQUIRE(record_user(table, token(secret, "p" + std::to_string(u)), numbers_in(2023), 1));
    const tables::OpenNumbers now = numbers_in(2025);
    std::atomic<bool> stop{false};
    // Passes 2 ms apart stand for the watcher's second: a call takes well under that.
    std::thread reclaimer([&] {
        std::vector<uint32_t> retiring;
        while (!stop.load()) {
            tables::reclaim_pass(table.data(), slots, now, retiring);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        tables::reclaim_pass(table.data(), slots, now, retiring);
    });
    std::vector<std::thread> writers;
    std::atomic<uint32_t> refused{0};
    for (int t = 0; t < 3; ++t)
        writers.emplace_back([&, t] {
            for (int round = 0; round < 200; ++round)
                for (uint32_t u = uint32_t(t); u < 1500; u += 9)  // every third, split in 3
                    if (!record_user(table, token(secret, "p" + std::to_string(u)), now,
                                     uint64_t{1} << (round % 8)))
                        ++refused;
        });
    for (auto &w : writers) w.join();
    stop = true;
    reclaimer.join();
    CHECK(refused.load() == 0);
    // 501 returned (u % 9 < 3), each counted once in 2025 with all 8 combinations.
    CHECK(distinct_in_year(table, 2025) == 501);
    std::set<uint64_t> live;
    for (const auto &e : table) {
        const uint64_t v = e.slot[shm::kSchoolYear][2025 & 1].load();
        if ((v >> shm::kMaskBits) != 2025 || !tables::live_key(e.key.load())) continue;
        CHECK((v & shm::kMaskMask) == 0xff);
        CHECK(live.insert(e.key.load()).second);
    }
}
