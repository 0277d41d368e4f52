#include <catch2/catch.hpp>

#include "ship/windows.hpp"

using namespace sonde;

namespace {
const time::TimeZone &paris() {
    static const time::TimeZone tz = *time::TimeZone::load("Europe/Paris", nullptr);
    return tz;
}
ship::Windows at(int64_t t) { return ship::windows_at(paris(), {}, t); }
}  // namespace

TEST_CASE("days are local, 23 and 25 hours long on DST days", "[windows]") {
    const ship::Windows spring = at(1774778400);  // 2026-03-29 12:00 CEST
    CHECK(spring.day.start == 1774738800);
    CHECK(spring.day.end == 1774821600);
    CHECK(spring.day.end - spring.day.start == 23 * 3600);
    const ship::Windows autumn = at(1792926000);  // 2026-10-25 12:00 CET
    CHECK(autumn.day.start == 1792879200);
    CHECK(autumn.day.end - autumn.day.start == 25 * 3600);
}

TEST_CASE("the repeated autumn hour is two hours", "[windows]") {
    const ship::Windows first = at(1792888200);   // 02:30 CEST
    const ship::Windows second = at(1792891800);  // 02:30 CET, one hour later
    CHECK(first.hour.start == 1792886400);
    CHECK(second.hour.start == 1792890000);
    CHECK(first.hour.number != second.hour.number);
    CHECK(first.hour.end == second.hour.start);
    CHECK(first.day.number == second.day.number);
}

TEST_CASE("months and school years open at local midnight", "[windows]") {
    const ship::Windows w = at(1795510800);  // 2026-11-24 10:00 CET
    CHECK(w.month.start == 1793487600);
    CHECK(w.month.end == 1796079600);
    CHECK(w.month.number == (2026 - 1970) * 12 + 10);
    CHECK(w.school_year.number == 2026);
    CHECK(w.school_year.start == 1788213600);
    CHECK(w.school_year.end == 1819749600);
    const ship::WindowId yesterday = ship::previous(paris(), {}, w.day);
    CHECK(yesterday.start == 1795388400);
    CHECK(yesterday.end == w.day.start);
    CHECK(ship::previous(paris(), {}, w.school_year).number == 2025);
    const ship::WindowId last_month = ship::previous(paris(), {}, w.month);
    CHECK(last_month.end == w.month.start);
    CHECK(last_month.number == w.month.number - 1);
}

TEST_CASE("a custom school-year start", "[windows]") {
    const ship::Windows w =
        ship::windows_at(paris(), {8, 20}, 1787522400);  // 2026-08-24 00:00 CEST
    CHECK(w.school_year.number == 2026);
    CHECK(w.school_year.start < 1787522400);
}
