// Tests for plugin/time. Expected instants and offsets were computed once with
// `TZ=<zone> date -d @N` / `zdump -v` (tzdata 2025b) and pasted here; nothing shells out.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

using namespace sonde::time;

namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

// Paris 2026: CET -> CEST at 2026-03-29 01:00 UTC, CEST -> CET at 2026-10-25 01:00 UTC.
constexpr int64_t kParisSpring = 1774746000;
constexpr int64_t kParisAutumn = 1792890000;

TimeZone zone(const char *name) {
    std::string error;
    std::optional<TimeZone> tz = TimeZone::load(name, &error);
    INFO(name << ": " << error);
    REQUIRE(tz.has_value());
    return *tz;
}

class TzDir {
  public:
    TzDir() {
        path_ = make_temp_dir("sonde_tz_");
        REQUIRE(!path_.empty());
    }
    ~TzDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TzDir(const TzDir &) = delete;
    TzDir &operator=(const TzDir &) = delete;

    const std::string &path() const { return path_; }

    void write(const std::string &name, const std::string &bytes) const {
        std::ofstream out(path_ + "/" + name, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
    }

  private:
    std::string path_;
};

std::string read_bytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put_be(std::string &out, uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

struct TestType {
    int32_t utoff;
    bool isdst;
};

// Header + data block with one designation "ZZZ" shared by all types.
std::string tzif_block(char version, int time_size, const std::vector<int64_t> &times,
                       const std::vector<uint8_t> &indices, const std::vector<TestType> &types) {
    std::string out = "TZif";
    out.push_back(version);
    out.append(15, '\0');
    for (uint64_t count : {uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{times.size()},
                           uint64_t{types.size()}, uint64_t{4}}) {
        put_be(out, count, 4);
    }
    for (int64_t t : times) put_be(out, static_cast<uint64_t>(t), time_size);
    for (uint8_t i : indices) out.push_back(static_cast<char>(i));
    for (const TestType &type : types) {
        put_be(out, static_cast<uint32_t>(type.utoff), 4);
        out.push_back(type.isdst ? 1 : 0);
        out.push_back(0);
    }
    out.append("ZZZ", 4);
    return out;
}

// A v2 file without transitions: the footer alone defines the zone.
std::string tzif_footer_only(const std::string &footer) {
    const std::vector<TestType> types = {{0, false}};
    return tzif_block('2', 4, {}, {}, types) + tzif_block('2', 8, {}, {}, types) + "\n" + footer +
           "\n";
}

std::optional<TimeZone> load_footer(const TzDir &dir, const std::string &footer,
                                    std::string *error) {
    dir.write("Footer", tzif_footer_only(footer));
    return TimeZone::load("Footer", error, dir.path());
}

}  // namespace

TEST_CASE("days_from_civil and civil_from_days agree with known dates", "[time]") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(1969, 12, 31) == -1);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(days_from_civil(2026, 3, 29) == 20541);
    CHECK(days_from_civil(2026, 8, 31) == 20696);
    CHECK(days_from_civil(2026, 9, 1) == 20697);

    // Walk day by day across 400-year cycles (incl. negative years): dates must advance by
    // exactly one calendar day each time and round-trip.
    int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days_from_civil(-401, 1, 1), y, m, d);
    REQUIRE((y == -401 && m == 1 && d == 1));
    for (int64_t n = days_from_civil(-401, 1, 1); n < days_from_civil(401, 1, 1); ++n) {
        int64_t y2 = 0;
        unsigned m2 = 0;
        unsigned d2 = 0;
        civil_from_days(n + 1, y2, m2, d2);
        const bool next_day = (y2 == y && m2 == m && d2 == d + 1);
        const bool next_month = (y2 == y && m2 == m + 1 && d2 == 1 && d >= 28);
        const bool next_year = (y2 == y + 1 && m2 == 1 && d2 == 1 && m == 12 && d == 31);
        if (!(next_day || next_month || next_year) || days_from_civil(y2, m2, d2) != n + 1) {
            FAIL("calendar walk broke at day " << n + 1 << ": " << y2 << "-" << m2 << "-" << d2);
        }
        y = y2;
        m = m2;
        d = d2;
    }
    civil_from_days(days_from_civil(2024, 2, 29), y, m, d);
    CHECK((y == 2024 && m == 2 && d == 29));
}

TEST_CASE("Europe/Paris offsets around the 2026 DST changes", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    CHECK(paris.name() == "Europe/Paris");
    CHECK(paris.utc_offset(kParisSpring - 1) == 3600);
    CHECK(paris.utc_offset(kParisSpring) == 7200);
    CHECK(paris.utc_offset(kParisAutumn - 1) == 7200);
    CHECK(paris.utc_offset(kParisAutumn) == 3600);
    CHECK(paris.utc_offset(1767225600) == 3600);  // 2026-01-01 00:00 UTC
    CHECK(paris.utc_offset(1783000000) == 7200);  // 2026-07-02 15:46:40 CEST

    CHECK(paris.offset_change_after(kParisSpring - 1) == kParisSpring);
    CHECK(paris.offset_change_after(kParisSpring) == kParisAutumn);
    CHECK(paris.offset_change_at_or_before(kParisAutumn) == kParisAutumn);
    CHECK(paris.offset_change_at_or_before(kParisAutumn - 1) == kParisSpring);

    // 01:59:59 CET is followed by 03:00:00 CEST on Sunday 2026-03-29.
    const LocalTime before = to_local(paris, kParisSpring - 1);
    CHECK((before.year == 2026 && before.month == 3 && before.day == 29));
    CHECK((before.hour == 1 && before.minute == 59 && before.second == 59));
    CHECK(before.weekday == 6);
    CHECK(before.day_number == 20541);
    CHECK(before.utc_offset == 3600);
    const LocalTime after = to_local(paris, kParisSpring);
    CHECK((after.hour == 3 && after.minute == 0 && after.second == 0));
    CHECK(after.utc_offset == 7200);
}

TEST_CASE("Europe/Paris after the TZif table uses the POSIX footer rule", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    // Debian's "fat" files list transitions up to 2037; 2045 comes from "CET-1CEST,...".
    CHECK(paris.utc_offset(2382480000) == 7200);  // 2045-07-01 00:00 UTC = 02:00 CEST
    CHECK(paris.utc_offset(2395699200) == 3600);  // 2045-12-01 00:00 UTC = 01:00 CET
    const LocalTime lt = to_local(paris, 2382480000);
    CHECK((lt.year == 2045 && lt.month == 7 && lt.day == 1 && lt.hour == 2));
    CHECK(lt.weekday == 5);  // Saturday

    // The footer alone must reproduce zic's table for 2026..2037, hour by hour.
    TzDir dir;
    std::string error;
    const std::optional<TimeZone> rule = load_footer(dir, "CET-1CEST,M3.5.0,M10.5.0/3", &error);
    REQUIRE(rule.has_value());
    int mismatches = 0;
    for (int64_t t = 1767225600; t < 2145916800; t += kHour) {  // 2026-01-01 .. 2038-01-01
        if (rule->utc_offset(t) != paris.utc_offset(t)) ++mismatches;
    }
    CHECK(mismatches == 0);
    for (int64_t t = 1767225600; t < 2145916800; t = *paris.offset_change_after(t)) {
        REQUIRE(rule->offset_change_after(t) == paris.offset_change_after(t));
    }
}

TEST_CASE("Local hour starts around the Paris spring-forward change", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    // 01:00 CET starts at 00:00 UTC and lasts until the jump; 03:00 CEST starts at the jump.
    CHECK(local_hour_start(paris, kParisSpring - 1) == kParisSpring - kHour);
    CHECK(next_local_hour_start(paris, kParisSpring - 1) == kParisSpring);
    CHECK(local_hour_start(paris, kParisSpring) == kParisSpring);
    CHECK(next_local_hour_start(paris, kParisSpring) == kParisSpring + kHour);

    // 02:xx local does not exist that night.
    for (int64_t t = kParisSpring - 2 * kHour; t < kParisSpring + 2 * kHour; t += 60) {
        if (to_local(paris, t).hour == 2) FAIL("02:xx exists at " << t);
    }
}

TEST_CASE("The repeated autumn hour in Paris is two different hours", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    const int64_t first_0230 = 1792888200;   // 02:30 CEST
    const int64_t second_0230 = 1792891800;  // 02:30 CET
    const LocalTime a = to_local(paris, first_0230);
    const LocalTime b = to_local(paris, second_0230);
    CHECK((a.hour == 2 && a.minute == 30 && b.hour == 2 && b.minute == 30));
    CHECK((a.utc_offset == 7200 && b.utc_offset == 3600));

    CHECK(local_hour_start(paris, first_0230) == 1792886400);
    CHECK(next_local_hour_start(paris, first_0230) == kParisAutumn);
    CHECK(local_hour_start(paris, second_0230) == kParisAutumn);
    CHECK(next_local_hour_start(paris, second_0230) == 1792893600);
    CHECK(local_hour_start(paris, second_0230) - local_hour_start(paris, first_0230) == kHour);

    const CalendarStamps sa = stamps_at(paris, first_0230, {});
    const CalendarStamps sb = stamps_at(paris, second_0230, {});
    CHECK(sa.hour_index == 498024);
    CHECK(sb.hour_index == 498025);
    CHECK(sa.day == sb.day);
}

TEST_CASE("Hour starts are consistent over a whole DST year", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    // Chaining next_local_hour_start visits 8760 local hours in 2026 (365 days: 23 h + 25 h).
    int64_t t = 1767222000;  // 2026-01-01 00:00 CET
    int hours = 0;
    while (t < 1798758000) {  // 2027-01-01 00:00 CET
        const int64_t next = next_local_hour_start(paris, t);
        REQUIRE(next > t);
        REQUIRE(local_hour_start(paris, t) == t);
        REQUIRE(local_hour_start(paris, next - 1) == t);
        t = next;
        ++hours;
    }
    CHECK(t == 1798758000);
    CHECK(hours == 8760);
}

TEST_CASE("next_local_midnight on DST days in Paris", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    const int64_t spring_day = 1774738800;   // 2026-03-29 00:00 CET
    const int64_t spring_next = 1774821600;  // 2026-03-30 00:00 CEST
    CHECK(next_local_midnight(paris, spring_day - 1) == spring_day);
    CHECK(next_local_midnight(paris, spring_day) == spring_next);
    CHECK(next_local_midnight(paris, kParisSpring) == spring_next);
    CHECK(spring_next - spring_day == 23 * kHour);

    const int64_t autumn_day = 1792879200;   // 2026-10-25 00:00 CEST
    const int64_t autumn_next = 1792969200;  // 2026-10-26 00:00 CET
    CHECK(next_local_midnight(paris, autumn_day) == autumn_next);
    CHECK(next_local_midnight(paris, kParisAutumn) == autumn_next);
    CHECK(next_local_midnight(paris, autumn_next - 1) == autumn_next);
    CHECK(autumn_next - autumn_day == 25 * kHour);
}

TEST_CASE("next_local_midnight when DST changes at midnight (America/Santiago)", "[time]") {
    const TimeZone santiago = zone("America/Santiago");
    // Sat 2026-04-04 24:00 -03 falls back to Sat 23:00 -04: Saturday lasts 25 h and its end is
    // Sunday 00:00 -04, not the Sunday 00:00 -03 that is never shown.
    const int64_t saturday = 1775271600;                         // 2026-04-04 00:00 -03
    const int64_t fall_back = 1775358000;                        // 03:00 UTC
    const int64_t sunday = 1775361600;                           // 2026-04-05 00:00 -04
    CHECK(next_local_midnight(santiago, 1775314800) == sunday);  // Sat 12:00 -03
    CHECK(next_local_midnight(santiago, 1775356200) == sunday);  // Sat 23:30 -03
    CHECK(next_local_midnight(santiago, 1775359800) == sunday);  // Sat 23:30 -04 (again)
    CHECK(sunday - saturday == 25 * kHour);
    CHECK(to_local(santiago, fall_back).day == 4);

    // Sat 2026-09-05 24:00 -04 jumps to Sun 01:00 -03: midnight is skipped, the jump is the
    // day boundary, and Sunday lasts 23 h.
    const int64_t jump = 1788667200;
    CHECK(next_local_midnight(santiago, 1788624000) == jump);  // Sat 12:00 -04
    CHECK(next_local_midnight(santiago, jump - 1) == jump);
    CHECK(next_local_midnight(santiago, jump) == 1788750000);  // Mon 00:00 -03
    const LocalTime first = to_local(santiago, jump);
    CHECK((first.day == 6 && first.hour == 1 && first.minute == 0));
    CHECK(local_hour_start(santiago, jump + 60) == jump);
    CHECK(stamps_at(santiago, jump, {}).day == stamps_at(santiago, jump - 1, {}).day + 1);
}

TEST_CASE("Fixed-offset zones", "[time]") {
    struct Case {
        const char *name;
        int32_t offset;
    };
    const Case cases[] = {{"Indian/Reunion", 4 * 3600},
                          {"America/Cayenne", -3 * 3600},
                          {"Pacific/Noumea", 11 * 3600},
                          {"Pacific/Tahiti", -10 * 3600},
                          {"UTC", 0}};
    for (const Case &c : cases) {
        INFO(c.name);
        const TimeZone tz = zone(c.name);
        for (int64_t t : {int64_t{kParisSpring}, int64_t{kParisAutumn}, int64_t{2382480000},
                          int64_t{2395699200}}) {
            CHECK(tz.utc_offset(t) == c.offset);
        }
        CHECK(!tz.offset_change_after(kParisSpring).has_value());
        CHECK(next_local_midnight(tz, kParisSpring) -
                  next_local_midnight(tz, kParisSpring - kDay) ==
              kDay);
    }
    // 2045-12-01 00:00 UTC: Cayenne 2045-11-30 21:00 Thursday, Noumea 2045-12-01 11:00 Friday.
    const LocalTime cayenne = to_local(zone("America/Cayenne"), 2395699200);
    CHECK((cayenne.month == 11 && cayenne.day == 30 && cayenne.hour == 21 && cayenne.weekday == 3));
    const LocalTime noumea = to_local(zone("Pacific/Noumea"), 2395699200);
    CHECK((noumea.month == 12 && noumea.day == 1 && noumea.hour == 11 && noumea.weekday == 4));
    const LocalTime tahiti = to_local(zone("Pacific/Tahiti"), 2382480000);
    CHECK((tahiti.month == 6 && tahiti.day == 30 && tahiti.hour == 14));
}

TEST_CASE("UTC built in and loaded", "[time]") {
    const TimeZone builtin = TimeZone::utc();
    CHECK(builtin.name() == "UTC");
    const TimeZone loaded = zone("UTC");
    for (int64_t t :
         {int64_t{-5000000000}, int64_t{0}, int64_t{kParisSpring}, int64_t{40000000000}}) {
        CHECK(builtin.utc_offset(t) == 0);
        CHECK(loaded.utc_offset(t) == 0);
    }
    CHECK(local_hour_start(builtin, 1774745999) == 1774742400);
    CHECK(next_local_midnight(builtin, 0) == kDay);
    CHECK(next_local_midnight(builtin, -1) == 0);
    const LocalTime epoch = to_local(builtin, -1);
    CHECK((epoch.year == 1969 && epoch.month == 12 && epoch.day == 31 && epoch.hour == 23));
    CHECK(epoch.day_number == -1);
    CHECK(epoch.weekday == 2);  // Wednesday
}

TEST_CASE("America/Miquelon DST (-3/-2)", "[time]") {
    const TimeZone miquelon = zone("America/Miquelon");
    const int64_t spring = 1772946000;  // 2026-03-08 05:00 UTC: 02:00 -03 -> 03:00 -02
    const int64_t autumn = 1793505600;  // 2026-11-01 04:00 UTC: 02:00 -02 -> 01:00 -03
    CHECK(miquelon.utc_offset(spring - 1) == -10800);
    CHECK(miquelon.utc_offset(spring) == -7200);
    CHECK(miquelon.utc_offset(autumn - 1) == -7200);
    CHECK(miquelon.utc_offset(autumn) == -10800);
    CHECK(miquelon.utc_offset(2382480000) == -7200);  // 2045 via the footer
    CHECK(miquelon.utc_offset(2395699200) == -10800);

    // The repeated 01:00 hour: 01:30 -02 and 01:30 -03.
    CHECK(local_hour_start(miquelon, 1793503800) == autumn - kHour);
    CHECK(local_hour_start(miquelon, 1793507400) == autumn);
    CHECK(to_local(miquelon, 1793507400).hour == 1);
}

TEST_CASE("Half-hour zones: hour starts come from local time", "[time]") {
    const TimeZone kolkata = zone("Asia/Kolkata");
    const int64_t t = 1778388300;                        // 2026-05-10 10:15 IST = 04:45 UTC
    CHECK(local_hour_start(kolkata, t) == t - 15 * 60);  // 10:00 IST = 04:30 UTC
    CHECK(next_local_hour_start(kolkata, t) == t + 45 * 60);
    CHECK(stamps_at(kolkata, t, {}).hour_index == static_cast<uint32_t>((t - 15 * 60) / 3600));

    // Lord Howe moves by 30 minutes: 02:00 +10:30 -> 02:30 +11 at 2026-10-03 15:30 UTC.
    const TimeZone lord_howe = zone("Australia/Lord_Howe");
    const int64_t jump = 1791041400;
    CHECK(lord_howe.utc_offset(jump - 1) == 37800);
    CHECK(lord_howe.utc_offset(jump) == 39600);
    CHECK(local_hour_start(lord_howe, jump + 900) == jump);              // 02:45 -> 02:30
    CHECK(next_local_hour_start(lord_howe, jump + 900) == jump + 1800);  // 03:00
    CHECK(local_hour_start(lord_howe, jump - 1) == jump - kHour);        // 01:00 +10:30
}

TEST_CASE("Calendar stamps at the school-year boundary in Paris", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    const int64_t last_second = 1788213599;   // 2026-08-31 23:59:59 CEST
    const int64_t first_second = 1788213600;  // 2026-09-01 00:00:00 CEST (UTC: still Aug 31)
    const CalendarStamps before = stamps_at(paris, last_second, {});
    const CalendarStamps after = stamps_at(paris, first_second, {});
    CHECK(before.day == 20696);
    CHECK(after.day == 20697);
    CHECK(before.month == (2026 - 1970) * 12 + 7);
    CHECK(after.month == (2026 - 1970) * 12 + 8);
    CHECK(before.school_year == 2025);
    CHECK(after.school_year == 2026);
    CHECK(before.hour_index == static_cast<uint32_t>((last_second - 3599) / 3600));
    CHECK(after.hour_index == static_cast<uint32_t>(first_second / 3600));

    // The month boundary follows local time: in UTC the same instant is still in August.
    const CalendarStamps utc = stamps_at(TimeZone::utc(), first_second, {});
    CHECK(utc.month == (2026 - 1970) * 12 + 7);
    CHECK(utc.day == 20696);
    CHECK(utc.school_year == 2025);

    // School year starting on 08-20.
    SchoolYearStart custom;
    REQUIRE(parse_school_year_start("08-20", custom));
    CHECK((custom.month == 8 && custom.day == 20));
    CHECK(stamps_at(paris, 1787176799, custom).school_year == 2025);  // 2026-08-19 23:59:59
    CHECK(stamps_at(paris, 1787176800, custom).school_year == 2026);  // 2026-08-20 00:00:00
    CHECK(stamps_at(paris, first_second, custom).school_year == 2026);
    // January belongs to the school year that started the previous calendar year.
    CHECK(stamps_at(paris, 1767225600, {}).school_year == 2025);

    // Before 1970 the stamps saturate instead of wrapping.
    const CalendarStamps old = stamps_at(paris, -kDay * 400, {});
    CHECK((old.day == 0 && old.month == 0 && old.hour_index == 0));
}

TEST_CASE("parse_school_year_start", "[time]") {
    SchoolYearStart s;
    CHECK(parse_school_year_start("09-01", s));
    CHECK((s.month == 9 && s.day == 1));
    CHECK(parse_school_year_start("12-31", s));
    CHECK(parse_school_year_start("02-29", s));
    const SchoolYearStart untouched = s;
    for (const char *bad : {"", "9-1", "09-1", "0901", "09/01", "13-01", "00-10", "09-00", "09-31",
                            "02-30", "04-31", "ab-cd", "09-01 ", " 09-01", "+9-01"}) {
        INFO(bad);
        CHECK_FALSE(parse_school_year_start(bad, s));
    }
    CHECK((s.month == untouched.month && s.day == untouched.day));
}

TEST_CASE("POSIX footer rules evaluated from footer-only TZif files", "[time]") {
    TzDir dir;
    std::string error;
    struct Transition {
        int64_t at;  // first second of the new offset (zdump -v)
        int32_t before, after;
    };
    struct Case {
        const char *footer;
        Transition spring, autumn;
    };
    const Case cases[] = {
        // Israel: Thursday rule at 26:00 (RFC 8536 extension).
        {"IST-2IDT,M3.4.4/26,M10.5.0", {1837468800, 7200, 10800}, {1856386800, 10800, 7200}},
        // Greenland: negative rule time.
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", {1837645200, -7200, -3600}, {1856394000, -3600, -7200}},
        // Lord Howe: southern hemisphere, half-hour DST.
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
         {1853940600, 37800, 39600},
         {1838214000, 39600, 37800}},
        // Jn never counts Feb 29 (2028 is a leap year: J60 is March 1).
        {"AAA3BBB,J60/2,J300/2", {1835499600, -10800, -7200}, {1856232000, -7200, -10800}},
        // Zero-based n counts Feb 29; times may be negative or up to 167 h; odd DST offset.
        {"AAA-3BBB-4:30,59/-5,300/167", {1835366400, 10800, 16200}, {1856802600, 16200, 10800}},
    };
    for (const Case &c : cases) {
        INFO(c.footer);
        const std::optional<TimeZone> tz = load_footer(dir, c.footer, &error);
        INFO(error);
        REQUIRE(tz.has_value());
        for (const Transition &tr : {c.spring, c.autumn}) {
            CHECK(tz->utc_offset(tr.at - 1) == tr.before);
            CHECK(tz->utc_offset(tr.at) == tr.after);
            CHECK(tz->offset_change_after(tr.at - 1) == tr.at);
            CHECK(tz->offset_change_at_or_before(tr.at) == tr.at);
        }
    }

    // RFC 8536 3.3.1: "EST5EDT,0/0,J365/25" is daylight time all year, with no transitions.
    const std::optional<TimeZone> permanent = load_footer(dir, "EST5EDT,0/0,J365/25", &error);
    REQUIRE(permanent.has_value());
    for (int64_t t = 1830297600 - 2 * kDay; t < 1861920000 + 2 * kDay; t += 1800) {
        REQUIRE(permanent->utc_offset(t) == -14400);
    }
    CHECK(!permanent->offset_change_after(1830297600).has_value());

    // No DST part: fixed offset, minutes and seconds allowed.
    const std::optional<TimeZone> fixed = load_footer(dir, "<+0545>-5:45", &error);
    REQUIRE(fixed.has_value());
    CHECK(fixed->utc_offset(1846022400) == 20700);
}

TEST_CASE("Malformed POSIX footers are rejected", "[time]") {
    TzDir dir;
    for (const char *footer :
         {"CET", "CET-1CEST", "CE-1", "<+04-4", "<+4>-4", "CET-25", "CET-1CEST,M13.1.0,M10.5.0",
          "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.0.0,M10.5.0",
          "CET-1CEST,J0,J365", "CET-1CEST,366,1", "CET-1CEST,M3.5.0/168,M10.5.0",
          "CET-1CEST,M3.5.0,M10.5.0 ", "CET-1:60", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.0,", "1CET",
          "CET-1CEST-2CEST"}) {
        INFO(footer);
        std::string error;
        CHECK_FALSE(load_footer(dir, footer, &error).has_value());
        CHECK(error.find("footer") != std::string::npos);
    }
}

TEST_CASE("Version 1 TZif files", "[time]") {
    TzDir dir;
    // Type 0 (+1h) before the first transition; the last type applies after the last one.
    dir.write("V1", tzif_block('\0', 4, {1000, 2000}, {1, 0}, {{3600, false}, {7200, true}}));
    std::string error;
    const std::optional<TimeZone> tz = TimeZone::load("V1", &error, dir.path());
    INFO(error);
    REQUIRE(tz.has_value());
    CHECK(tz->utc_offset(-100000) == 3600);
    CHECK(tz->utc_offset(999) == 3600);
    CHECK(tz->utc_offset(1000) == 7200);
    CHECK(tz->utc_offset(1999) == 7200);
    CHECK(tz->utc_offset(2000) == 3600);
    CHECK(tz->utc_offset(int64_t{1} << 40) == 3600);
    CHECK(tz->offset_change_at_or_before(1500) == 1000);
    CHECK(tz->offset_change_after(1500) == 2000);
    CHECK(!tz->offset_change_after(2000).has_value());
}

TEST_CASE("Transitions that keep the offset are not offset changes", "[time]") {
    TzDir dir;
    // At 1000 only isdst/abbreviation change (+1h stays +1h); at 2000 the offset really changes.
    dir.write("Same", tzif_block('\0', 4, {1000, 2000}, {1, 2},
                                 {{3600, false}, {3600, true}, {7200, true}}));
    std::string error;
    const std::optional<TimeZone> tz = TimeZone::load("Same", &error, dir.path());
    REQUIRE(tz.has_value());
    CHECK(tz->offset_change_after(0) == 2000);
    CHECK(!tz->offset_change_at_or_before(1500).has_value());
    CHECK(local_hour_start(*tz, 1500) == 0);  // 01:25 local started at 01:00, not at 1000
    CHECK(next_local_hour_start(*tz, 1500) == 2000);
}

TEST_CASE("Structurally invalid TZif files are rejected", "[time]") {
    TzDir dir;
    const std::vector<TestType> one = {{3600, false}};
    std::string bad_magic = tzif_block('\0', 4, {}, {}, one);
    bad_magic[3] = 'g';
    std::string bad_version = tzif_block('\0', 4, {}, {}, one);
    bad_version[4] = '1';
    struct Case {
        const char *what;
        std::string bytes;
        const char *message;
    };
    const Case cases[] = {
        {"bad magic", bad_magic, "magic"},
        {"version '1'", bad_version, "version"},
        {"no time types", tzif_block('\0', 4, {}, {}, {}), "time types"},
        {"descending times", tzif_block('\0', 4, {2000, 1000}, {0, 0}, one), "ascending"},
        {"equal times", tzif_block('\0', 4, {1000, 1000}, {0, 0}, one), "ascending"},
        {"type index", tzif_block('\0', 4, {1000}, {1}, one), "time type"},
        {"offset", tzif_block('\0', 4, {}, {}, {{100000, false}}), "out of range"},
        {"v2 without footer", tzif_block('2', 4, {}, {}, one) + tzif_block('2', 8, {}, {}, one),
         "footer"},
        {"v2 with a v1 second header",
         tzif_block('2', 4, {}, {}, one) + tzif_block('\0', 8, {}, {}, one) + "\nUTC0\n",
         "version"},
    };
    for (const Case &c : cases) {
        INFO(c.what);
        dir.write("Bad", c.bytes);
        std::string error;
        CHECK_FALSE(TimeZone::load("Bad", &error, dir.path()).has_value());
        CHECK(error.find(c.message) != std::string::npos);
    }
    // A valid v2 file with an empty footer: the last transition's type applies forever.
    dir.write("Good", tzif_block('2', 4, {}, {}, one) +
                          tzif_block('2', 8, {1000}, {1}, {{3600, false}, {-3600, false}}) +
                          "\n\n");
    std::string error;
    const std::optional<TimeZone> good = TimeZone::load("Good", &error, dir.path());
    INFO(error);
    REQUIRE(good.has_value());
    CHECK(good->utc_offset(999) == 3600);
    CHECK(good->utc_offset(int64_t{1} << 40) == -3600);

    // Leap-second zones count seconds differently; refuse them rather than be off by ~27 s.
    if (std::filesystem::exists("/usr/share/zoneinfo/right/Europe/Paris")) {
        CHECK_FALSE(TimeZone::load("right/Europe/Paris", &error).has_value());
        CHECK(error.find("leap-second") != std::string::npos);
    }
}

TEST_CASE("Bad names and missing zones", "[time]") {
    for (const char *name : {"Mars/Olympus_Mons", "Europe/Pariss", "America"}) {
        INFO(name);
        std::string error;
        CHECK_FALSE(TimeZone::load(name, &error).has_value());
        CHECK(error.find("unknown time zone") != std::string::npos);
    }
    for (const char *name : {"../etc/passwd", "Europe/../../etc/passwd", "..", "/etc/passwd",
                             "/usr/share/zoneinfo/UTC", "", "Europe//Paris", "./UTC",
                             "Europe/Paris\n", "Europe/Par is"}) {
        INFO(name);
        std::string error;
        CHECK_FALSE(TimeZone::load(name, &error).has_value());
        CHECK(error.find("invalid time zone") != std::string::npos);
    }
    std::string error;
    CHECK(TimeZone::load("../etc/passwd", &error).has_value() == false);
    CHECK(error.find("'..'") != std::string::npos);
    CHECK_FALSE(TimeZone::load("Nope", nullptr).has_value());  // a null error pointer is fine
}

TEST_CASE("Truncated copies of a real TZif file are rejected", "[time]") {
    const std::string bytes = read_bytes("/usr/share/zoneinfo/Europe/Paris");
    REQUIRE(bytes.size() > 1000);
    TzDir dir;
    dir.write("Whole", bytes);
    std::string error;
    const std::optional<TimeZone> whole = TimeZone::load("Whole", &error, dir.path());
    REQUIRE(whole.has_value());
    CHECK(whole->utc_offset(kParisSpring) == 7200);

    for (size_t size = 0; size < bytes.size(); ++size) {
        // A fresh name per size: rewriting one file (truncate) is slow on some file systems.
        const std::string name = "Cut" + std::to_string(size);
        dir.write(name, bytes.substr(0, size));
        error.clear();
        if (TimeZone::load(name, &error, dir.path()).has_value() || error.empty()) {
            FAIL("a copy truncated to " << size << " bytes was accepted");
        }
    }
    dir.write("Cut", bytes.substr(0, 30));
    CHECK_FALSE(TimeZone::load("Cut", &error, dir.path()).has_value());
    CHECK(error.find("truncated") != std::string::npos);
}

TEST_CASE("Random and mutated TZif data never crash", "[time]") {
    const std::string paris = read_bytes("/usr/share/zoneinfo/Europe/Paris");
    TzDir dir;
    std::mt19937_64 rng(20260901);
    int files = 0;
    auto exercise = [&](const std::string &bytes) {
        const std::string name = "Fuzz" + std::to_string(files++);
        dir.write(name, bytes);
        std::string error;
        const std::optional<TimeZone> tz = TimeZone::load(name, &error, dir.path());
        if (!tz) {
            CHECK(!error.empty());
            return;
        }
        for (int64_t t : {int64_t{INT64_MIN}, int64_t{-1}, int64_t{kParisSpring},
                          int64_t{2382480000}, int64_t{INT64_MAX}}) {
            const int64_t start = local_hour_start(*tz, t);
            const int64_t next = next_local_hour_start(*tz, t);
            CHECK(start <= next);
            (void)next_local_midnight(*tz, t);
            (void)stamps_at(*tz, t, {});
        }
    };
    for (int i = 0; i < 300; ++i) {
        std::string bytes(rng() % 600, '\0');
        for (char &c : bytes) c = static_cast<char>(rng());
        if (i % 2 == 0) bytes.replace(0, std::min<size_t>(5, bytes.size()), "TZif2");
        exercise(bytes);
    }
    for (int i = 0; i < 600; ++i) {
        std::string bytes = paris;
        for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
            bytes[rng() % bytes.size()] = static_cast<char>(rng());
        }
        exercise(bytes);
    }
}

TEST_CASE("Extreme instants are clamped, not overflowed", "[time]") {
    const TimeZone paris = zone("Europe/Paris");
    for (int64_t t : {int64_t{INT64_MIN}, int64_t{INT64_MAX}}) {
        const LocalTime lt = to_local(paris, t);
        CHECK(lt.month >= 1);
        CHECK(lt.month <= 12);
        CHECK(next_local_midnight(paris, t) > local_hour_start(paris, t));
    }
    CHECK(stamps_at(paris, INT64_MAX, {}).day == UINT16_MAX);
}
