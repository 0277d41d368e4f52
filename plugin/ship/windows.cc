#include "ship/windows.hpp"

namespace sonde::ship {

int64_t local_midnight(const time::TimeZone &tz, int64_t y, unsigned m, unsigned d) noexcept {
    const int64_t naive = time::days_from_civil(y, m, d) * 86400;
    // Two rounds settle the offset in force at that midnight (DST changes happen at night,
    // never twice within a few hours).
    int64_t guess = naive - tz.utc_offset(naive);
    guess = naive - tz.utc_offset(guess);
    // Where a DST jump skips midnight itself, the day opens at the jump.
    if (time::to_local(tz, guess).day_number != time::days_from_civil(y, m, d))
        guess = time::next_local_midnight(tz, guess - 1);
    return guess;
}

namespace {

WindowId day_of(const time::TimeZone &tz, int64_t t) {
    const time::LocalTime lt = time::to_local(tz, t);
    const int64_t start = local_midnight(tz, lt.year, unsigned(lt.month), unsigned(lt.day));
    return {shm::LatchKind::Day, uint32_t(lt.day_number), start, time::next_local_midnight(tz, t)};
}

WindowId month_of(const time::TimeZone &tz, int64_t t) {
    const time::LocalTime lt = time::to_local(tz, t);
    const int64_t y = lt.year, m = lt.month;
    const int64_t ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
    return {shm::LatchKind::Month, uint32_t((y - 1970) * 12 + (m - 1)),
            local_midnight(tz, y, unsigned(m), 1), local_midnight(tz, ny, unsigned(nm), 1)};
}

WindowId school_year_of(const time::TimeZone &tz, time::SchoolYearStart s, int64_t t) {
    const uint32_t year = time::stamps_at(tz, t, s).school_year;
    return {shm::LatchKind::SchoolYear, year, local_midnight(tz, year, s.month, s.day),
            local_midnight(tz, year + 1, s.month, s.day)};
}

}  // namespace

Windows windows_at(const time::TimeZone &tz, time::SchoolYearStart start, int64_t t) noexcept {
    const int64_t hour_start = time::local_hour_start(tz, t);
    return {{shm::LatchKind::Hour, uint32_t(hour_start / 3600), hour_start,
             time::next_local_hour_start(tz, t)},
            day_of(tz, t),
            month_of(tz, t),
            school_year_of(tz, start, t)};
}

WindowId previous(const time::TimeZone &tz, time::SchoolYearStart start,
                  const WindowId &w) noexcept {
    const Windows before = windows_at(tz, start, w.start - 1);
    switch (w.kind) {
        case shm::LatchKind::Hour:
            return before.hour;
        case shm::LatchKind::Day:
            return before.day;
        case shm::LatchKind::Month:
            return before.month;
        case shm::LatchKind::SchoolYear:
            return before.school_year;
    }
    return w;
}

}  // namespace sonde::ship
