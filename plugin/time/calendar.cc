// Civil-date arithmetic and calendar stamps. No allocation, no libc time zone state.
#include "time/calendar.hpp"

#include <limits>

namespace sonde::time {

namespace {

using detail::clamp_instant;
using detail::floor_div;
using detail::floor_mod;

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerHour = 3600;
// A handful of offset changes within one local day is already exotic; this only bounds the loop.
constexpr int kMaxChangesPerDay = 16;

template <typename T>
T saturate(int64_t v) {
    if (v < int64_t{std::numeric_limits<T>::min()}) return std::numeric_limits<T>::min();
    if (v > int64_t{std::numeric_limits<T>::max()}) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

int64_t local_day(const TimeZone &tz, int64_t t) {
    return floor_div(t + tz.utc_offset(t), kSecondsPerDay);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
    constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : kDays[m - 1];
}

bool two_digits(char hi, char lo, unsigned &out) {
    if (hi < '0' || hi > '9' || lo < '0' || lo > '9') return false;
    out = static_cast<unsigned>(hi - '0') * 10 + static_cast<unsigned>(lo - '0');
    return true;
}

}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);                 // [0, 399]
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t days, int64_t &y, unsigned &m, unsigned &d) noexcept {
    days += 719468;
    const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);                 // [0, 146096]
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
    const unsigned mp = (5 * doy + 2) / 153;                                     // [0, 11]
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

LocalTime to_local(const TimeZone &tz, int64_t unix_seconds) noexcept {
    const int64_t t = clamp_instant(unix_seconds);
    const int32_t offset = tz.utc_offset(t);
    const int64_t local = t + offset;
    const int64_t days = floor_div(local, kSecondsPerDay);
    const int64_t second_of_day = local - days * kSecondsPerDay;
    int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);

    LocalTime lt{};
    lt.year = static_cast<int32_t>(y);  // |y| < 2^28 thanks to clamp_instant
    lt.month = static_cast<int32_t>(m);
    lt.day = static_cast<int32_t>(d);
    lt.hour = static_cast<int32_t>(second_of_day / 3600);
    lt.minute = static_cast<int32_t>(second_of_day / 60 % 60);
    lt.second = static_cast<int32_t>(second_of_day % 60);
    lt.weekday = static_cast<int32_t>(floor_mod(days + 3, 7));  // 1970-01-01 was a Thursday
    lt.day_number = days;
    lt.utc_offset = offset;
    return lt;
}

CalendarStamps stamps_at(const TimeZone &tz, int64_t unix_seconds, SchoolYearStart start) noexcept {
    const LocalTime lt = to_local(tz, unix_seconds);
    const bool before_start =
        lt.month < start.month || (lt.month == start.month && lt.day < start.day);

    CalendarStamps s{};
    s.day = saturate<uint16_t>(lt.day_number);
    s.month = saturate<uint16_t>((int64_t{lt.year} - 1970) * 12 + (lt.month - 1));
    s.school_year = saturate<uint16_t>(int64_t{lt.year} - (before_start ? 1 : 0));
    s.hour_index =
        saturate<uint32_t>(floor_div(local_hour_start(tz, unix_seconds), kSecondsPerHour));
    return s;
}

// The offset is constant between the last change and t, so the latest local ":00:00" under the
// current offset is a boundary unless it lies before that change, in which case the change is.
int64_t local_hour_start(const TimeZone &tz, int64_t unix_seconds) noexcept {
    const int64_t t = clamp_instant(unix_seconds);
    int64_t start = t - floor_mod(t + tz.utc_offset(t), kSecondsPerHour);
    const std::optional<int64_t> change = tz.offset_change_at_or_before(t);
    if (change && *change > start) start = *change;
    return start;
}

int64_t next_local_hour_start(const TimeZone &tz, int64_t unix_seconds) noexcept {
    const int64_t t = clamp_instant(unix_seconds);
    int64_t next = t - floor_mod(t + tz.utc_offset(t), kSecondsPerHour) + kSecondsPerHour;
    const std::optional<int64_t> change = tz.offset_change_after(t);
    if (change && *change < next) next = *change;
    return next;
}

// Walks forward change by change: local midnight under the current offset is the answer unless
// an offset change comes first. A change that lands on the next day (midnight skipped) is the
// boundary itself; one that stays on the same day (e.g. falling back across midnight) restarts
// the search from there.
int64_t next_local_midnight(const TimeZone &tz, int64_t unix_seconds) noexcept {
    int64_t cur = clamp_instant(unix_seconds);
    const int64_t target_day = local_day(tz, cur) + 1;
    for (int i = 0; i < kMaxChangesPerDay; ++i) {
        const int64_t midnight = target_day * kSecondsPerDay - tz.utc_offset(cur);
        const std::optional<int64_t> change = tz.offset_change_after(cur);
        if (!change || midnight < *change) return midnight;
        if (local_day(tz, *change) >= target_day) return *change;
        cur = *change;
    }
    return target_day * kSecondsPerDay - tz.utc_offset(cur);
}

bool parse_school_year_start(std::string_view text, SchoolYearStart &out) noexcept {
    unsigned month = 0;
    unsigned day = 0;
    if (text.size() != 5 || text[2] != '-' || !two_digits(text[0], text[1], month) ||
        !two_digits(text[3], text[4], day)) {
        return false;
    }
    // A leap year allows "02-29"; the comparison in stamps_at copes with common years.
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(2000, month)) return false;
    out.month = static_cast<uint8_t>(month);
    out.day = static_cast<uint8_t>(day);
    return true;
}

}  // namespace sonde::time
