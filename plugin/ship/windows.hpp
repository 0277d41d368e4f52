#pragma once
// The windows the console shows, in the base's time zone: the local hour, day, month and
// school year containing an instant, with their start instants and calendar numbers.

#include <cstdint>

#include "shm/layout.hpp"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace sonde::ship {

struct WindowId {
    shm::LatchKind kind;
    uint32_t number;  // hour_index, day, month or school-year number (calendar.hpp)
    int64_t start;    // unix seconds at which it opened
    int64_t end;      // unix seconds at which the next one opens
};

struct Windows {
    WindowId hour, day, month, school_year;
};

Windows windows_at(const time::TimeZone &tz, time::SchoolYearStart start, int64_t t) noexcept;
// The window just before `w` (the closed one the console shows as "last").
WindowId previous(const time::TimeZone &tz, time::SchoolYearStart start,
                  const WindowId &w) noexcept;
// Unix seconds of local midnight opening the local date y-m-d.
int64_t local_midnight(const time::TimeZone &tz, int64_t y, unsigned m, unsigned d) noexcept;

}  // namespace sonde::ship
