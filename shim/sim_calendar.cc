#include "sim_calendar.hpp"

#include <algorithm>
#include <cstdio>

#include "ship/windows.hpp"

namespace sonde::shim {
namespace {

// French school holidays, zone C (Paris, Créteil, Versailles, Montpellier, Toulouse), from the
// calendars of the Ministry of Education for 2024-2025 and 2025-2026, with the Ascension
// bridge and the summers: the first and the last day without school, inclusive.
constexpr int kHolidays[][6] = {
    {2024, 7, 6, 2024, 9, 1},  {2024, 10, 19, 2024, 11, 3}, {2024, 12, 21, 2025, 1, 5},
    {2025, 2, 15, 2025, 3, 2}, {2025, 4, 12, 2025, 4, 27},  {2025, 5, 29, 2025, 6, 1},
    {2025, 7, 5, 2025, 8, 31}, {2025, 10, 18, 2025, 11, 2}, {2025, 12, 20, 2026, 1, 4},
    {2026, 2, 21, 2026, 3, 8}, {2026, 4, 18, 2026, 5, 3},   {2026, 5, 14, 2026, 5, 17},
    {2026, 7, 4, 2026, 8, 31},
};

bool holiday(int y, unsigned m, unsigned d) {
    const long day = y * 10000L + long(m) * 100 + d;
    for (const auto &h : kHolidays)
        if (day >= h[0] * 10000L + h[1] * 100 + h[2] && day <= h[3] * 10000L + h[4] * 100 + h[5])
            return true;
    return false;
}

}  // namespace

std::optional<SimCalendar> SimCalendar::make(const std::string &timezone,
                                             time::SchoolYearStart year_start,
                                             const std::string &first_date, uint32_t days,
                                             std::string *error, bool holidays) {
    auto tz = time::TimeZone::load(timezone, error);
    if (!tz) return std::nullopt;
    unsigned y = 0, m = 0, d = 0;
    if (std::sscanf(first_date.c_str(), "%4u-%2u-%2u", &y, &m, &d) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31) {
        *error = "bad date " + first_date;
        return std::nullopt;
    }
    SimCalendar cal(std::move(*tz), year_start);
    const int64_t day_number = time::days_from_civil(y, m, d);
    // Local midnight: two fixed-point steps on the offset, then snap to the real day boundary
    // (robust to a DST change near midnight).
    const int64_t guess = day_number * 86400;
    int64_t t = guess - cal.tz_.utc_offset(guess - cal.tz_.utc_offset(guess));
    int64_t start = time::next_local_midnight(cal.tz_, t - 7200);
    if (time::to_local(cal.tz_, start).day_number != day_number) {
        *error = "cannot find local midnight of " + first_date + " in " + timezone;
        return std::nullopt;
    }
    static constexpr const char *kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    for (uint32_t i = 0; i < days; ++i) {
        const int64_t end = time::next_local_midnight(cal.tz_, start);
        const time::LocalTime local = time::to_local(cal.tz_, start);
        char label[16], date[16];
        std::snprintf(label, sizeof label, "%s %02d", kWeekdays[local.weekday], local.day);
        std::snprintf(date, sizeof date, "%04d-%02d-%02d", local.year, local.month, local.day);
        std::vector<int64_t> hours;
        for (int64_t h = start; h < end; h = ship::windows_at(cal.tz_, year_start, h).hour.end)
            hours.push_back(h);
        cal.days_.push_back({i, start, end, cal.stamps(start), local.weekday, label, date,
                             std::move(hours),
                             holidays && holiday(local.year, local.month, local.day)});
        start = end;
    }
    for (const SimDay &day : cal.days_) {
        cal.months_.push_back(day.stamps.month);
        cal.years_.push_back(day.stamps.school_year);
    }
    for (auto *v : {&cal.months_, &cal.years_}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    return cal;
}

time::CalendarStamps SimCalendar::stamps(int64_t unix_seconds) const {
    return time::stamps_at(tz_, unix_seconds, start_);
}

uint32_t SimCalendar::year_slot(uint32_t day_index) const {
    const uint32_t year = days_[day_index].stamps.school_year;
    return uint32_t(std::lower_bound(years_.begin(), years_.end(), year) - years_.begin());
}

std::string month_name(uint32_t month_number) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04u-%02u", 1970 + month_number / 12, month_number % 12 + 1);
    return buf;
}

std::string format_local(const time::TimeZone &tz, int64_t unix_seconds) {
    const time::LocalTime l = time::to_local(tz, unix_seconds);
    const int32_t off = l.utc_offset < 0 ? -l.utc_offset : l.utc_offset;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d %c%02d:%02d", l.year, l.month,
                  l.day, l.hour, l.minute, l.second, l.utc_offset < 0 ? '-' : '+', off / 3600,
                  off / 60 % 60);
    return buf;
}

}  // namespace sonde::shim
