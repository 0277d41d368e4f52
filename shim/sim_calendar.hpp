#pragma once
// The simulated days of a base in its own time zone: where each local day starts and ends
// (UTC), and the day/month/school-year numbers the plugin uses as window numbers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace sonde::shim {

struct SimDay {
    uint32_t index;               // 0..days-1
    int64_t start, end;           // [start, end): local midnight to local midnight, unix seconds
    time::CalendarStamps stamps;  // numbers of that day
    int32_t weekday;              // 0 = Monday
    std::string label;            // "Mon 16"
    std::string date;             // "2026-11-16"
    // Starts of the local hours of the day (23, 24 or 25 of them; the autumn's repeated hour
    // is two hours), as the plugin's hour windows open them. The replay lines its processes up
    // at each one, because only the elected shipper latches hours.
    std::vector<int64_t> hours;
    bool holiday = false;  // --school-year: school holidays and summer, no school
    int64_t hour_end(size_t i) const { return i + 1 < hours.size() ? hours[i + 1] : end; }
    bool weekend() const { return weekday >= 5 || holiday; }  // a day without school
};

class SimCalendar {
  public:
    static std::optional<SimCalendar> make(const std::string &timezone,
                                           time::SchoolYearStart year_start,
                                           const std::string &first_date, uint32_t days,
                                           std::string *error, bool holidays = false);

    const std::vector<SimDay> &days() const { return days_; }
    const time::TimeZone &tz() const { return tz_; }
    time::CalendarStamps stamps(int64_t unix_seconds) const;
    // The distinct month and school-year numbers the days cover, ascending.
    const std::vector<uint32_t> &months() const { return months_; }
    const std::vector<uint32_t> &school_years() const { return years_; }
    uint32_t year_slot(
        uint32_t day_index) const;  // index of the day's school year in school_years()
    int64_t end() const { return days_.back().end; }

  private:
    SimCalendar(time::TimeZone tz, time::SchoolYearStart start)
        : tz_(std::move(tz)), start_(start) {}
    time::TimeZone tz_;
    time::SchoolYearStart start_;
    std::vector<SimDay> days_;
    std::vector<uint32_t> months_, years_;
};

std::string month_name(uint32_t month_number);  // 682 -> "2026-11"
std::string format_local(const time::TimeZone &tz,
                         int64_t unix_seconds);  // "2026-11-22 23:59:59 +01:00"

}  // namespace sonde::shim
