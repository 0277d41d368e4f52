#include "text.hpp"

#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "time/calendar.hpp"

namespace sonde::ctl {

bool utc_parts(int64_t unix_seconds, std::tm &out) {
    // gmtime_r without the C library (MinGW has none): days and seconds of the day, floored.
    int64_t days = unix_seconds / 86400, second = unix_seconds % 86400;
    if (second < 0) {
        second += 86400;
        --days;
    }
    int64_t year = 0;
    unsigned month = 0, day = 0;
    sonde::time::civil_from_days(days, year, month, day);
    if (year - 1900 < INT32_MIN || year - 1900 > INT32_MAX) return false;
    out = std::tm{};
    out.tm_year = int(year - 1900);
    out.tm_mon = int(month) - 1;
    out.tm_mday = int(day);
    out.tm_hour = int(second / 3600);
    out.tm_min = int(second / 60 % 60);
    out.tm_sec = int(second % 60);
    out.tm_wday = int(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    return true;
}

std::string iso8601_utc(int64_t unix_seconds) {
    std::tm parts{};
    if (!utc_parts(unix_seconds, parts)) return std::to_string(unix_seconds);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return buf;
}

std::string hex64(uint64_t value) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016" PRIX64, value);
    return buf;
}

std::string one_decimal(double value) {
    // Integer arithmetic so neither the locale nor printf's rounding mode matters.
    const int64_t tenths = std::llround(value * 10.0);
    const int64_t whole = (tenths < 0 ? -tenths : tenths) / 10;
    // Appended piece by piece: const char * + std::string trips GCC 12's -Wrestrict false
    // positive at -O3.
    std::string text = tenths < 0 ? "-" : "";
    text += std::to_string(whole);
    text += '.';
    text += std::to_string((tenths < 0 ? -tenths : tenths) % 10);
    return text;
}

std::string openmetrics_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

}  // namespace sonde::ctl
