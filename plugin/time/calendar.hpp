// Civil-date arithmetic and the calendar stamps used to bucket statistics in local time.
#pragma once

#include <cstdint>
#include <string_view>

#include "time/timezone.hpp"

namespace sonde::time {

struct LocalTime {
    int32_t year, month /*1-12*/, day /*1-31*/, hour, minute, second;
    int32_t weekday;     // 0=Monday..6=Sunday
    int64_t day_number;  // local days since 1970-01-01
    int32_t utc_offset;  // seconds east of UTC
};

LocalTime to_local(const TimeZone &tz, int64_t unix_seconds) noexcept;

// H. Hinnant's algorithms (proleptic Gregorian). Valid for |y| < 10^15, m 1..12, d 1..31.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept;
void civil_from_days(int64_t days, int64_t &y, unsigned &m, unsigned &d) noexcept;

struct SchoolYearStart {
    uint8_t month = 9;
    uint8_t day = 1;
};

// All fields saturate to their type's range (instants before 1970 give 0).
struct CalendarStamps {
    uint16_t day;          // local days since 1970-01-01
    uint16_t month;        // (local year-1970)*12 + (month-1)
    uint16_t school_year;  // calendar year in which the current school year started
                           // (2026 for 2026-09-01..2027-08-31 with the default start)
    uint32_t hour_index;   // local_hour_start(t) / 3600, i.e. the UTC hour in which the local
                           // hour began. In :30/:45 zones the hour start still comes from local
                           // time (e.g. 10:00 IST starts at 04:30 UTC, index of 04:00 UTC).
};

CalendarStamps stamps_at(const TimeZone &tz, int64_t unix_seconds, SchoolYearStart start) noexcept;

// Unix seconds at which the current local hour started / the next one starts. Across DST the
// repeated autumn hour is two different hours (two different UTC instants); the skipped spring
// hour does not exist. Hour boundaries are where local minute==0 and second==0 or where the UTC
// offset changes.
int64_t local_hour_start(const TimeZone &tz, int64_t unix_seconds) noexcept;
int64_t next_local_hour_start(const TimeZone &tz, int64_t unix_seconds) noexcept;

// Unix seconds of the next local day boundary strictly after t: the first instant whose local
// date is later than t's. Usually local 00:00; where a DST jump skips midnight it is the jump.
int64_t next_local_midnight(const TimeZone &tz, int64_t unix_seconds) noexcept;

// Parses "MM-DD" (e.g. "09-01", two digits each); false on malformed or impossible dates.
// "02-29" is accepted: in common years the school year then starts on March 1.
bool parse_school_year_start(std::string_view text, SchoolYearStart &out) noexcept;

}  // namespace sonde::time
