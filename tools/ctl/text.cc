#include "text.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace sonde::ctl {

std::string iso8601_utc(int64_t unix_seconds) {
    const time_t t = time_t(unix_seconds);
    tm parts{};
    if (!gmtime_r(&t, &parts)) return std::to_string(unix_seconds);
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
