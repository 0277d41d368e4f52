#pragma once
// Small text helpers shared by the formatters.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace sonde::ctl {

// The UTC calendar fields of a time, as gmtime_r fills them (year, month, day, hour, minute,
// second, weekday); false if the year does not fit.
bool utc_parts(int64_t unix_seconds, std::tm &out);
std::string iso8601_utc(int64_t unix_seconds);  // "2026-11-24T10:00:00Z"
std::string hex64(uint64_t value);              // "0x0123456789ABCDEF"
std::string one_decimal(double value);          // "50.0"; the locale never changes the dot

// OpenMetrics escaping of label values and HELP text: backslash, double quote, line feed.
std::string openmetrics_escape(std::string_view text);

}  // namespace sonde::ctl
