// Fuzzes the TZif reader (RFC 8536) and the calendar over what it loads: a zoneinfo folder is
// read at every base_open, and an operator may point SONDE_ZONEINFO_DIR or zoneinfo_dir at any
// folder. Loading must fail cleanly or give a zone on which the calendar keeps its promises
// (time/calendar.hpp): an hour and a day start at or before t and the next ones after it.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "scratch.hpp"
#include "time/calendar.hpp"
#include "time/timezone.hpp"

namespace {

const std::string &zone_dir() {
    static const std::string dir = [] {
        const std::string d = sonde::fuzz::scratch_dir("sonde-fuzz-tzif-");
        std::filesystem::create_directories(d + "/Fuzz");
        return d;
    }();
    return dir;
}

void check(const sonde::time::TimeZone &tz, int64_t t) {
    using namespace sonde::time;
    const int64_t hour = local_hour_start(tz, t), next_hour = next_local_hour_start(tz, t);
    if (hour > t || next_hour <= t) __builtin_trap();
    if (next_local_midnight(tz, t) <= t) __builtin_trap();
    if (const auto before = tz.offset_change_at_or_before(t); before && *before > t)
        __builtin_trap();
    if (const auto after = tz.offset_change_after(t); after && *after <= t) __builtin_trap();
    const LocalTime local = to_local(tz, t);
    if (local.month < 1 || local.month > 12 || local.day < 1 || local.day > 31 || local.hour < 0 ||
        local.hour > 23 || local.weekday < 0 || local.weekday > 6)
        __builtin_trap();
    (void)stamps_at(tz, t, SchoolYearStart{});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string path = zone_dir() + "/Fuzz/Zone";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    std::string error;
    const auto tz = sonde::time::TimeZone::load("Fuzz/Zone", &error, zone_dir());
    if (!tz) {
        if (error.empty()) __builtin_trap();  // a refusal always says why
        return 0;
    }
    // Instants around the school years Sonde counts, and one taken from the input's last bytes
    // (within +-2^40 s, the calendar's promises hold far beyond any real date).
    for (const int64_t t : {int64_t(0), int64_t(1'788'220'800), int64_t(1'805'000'000),
                            int64_t(-2'000'000'000), int64_t(4'102'444'800)})
        check(*tz, t);
    if (size >= 8) {
        int64_t t = 0;
        std::memcpy(&t, data + size - 8, 8);
        check(*tz, t % (int64_t{1} << 40));
    }
    return 0;
}
