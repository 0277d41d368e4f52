// The Windows time zone API as a diagnostic (issue 10 §1, docs/windows.md "Time zones"): each
// time a base's configuration is applied, the machine's own UTC offset now is compared with the
// base's zone's; a disagreement is counted (timezone_disagreements, in the base's segment) and
// the base's zone is used either way. POSIX consults no system zone: never counted there.
#if defined(_WIN32)
#include <windows.h>
#endif

#include <catch2/catch.hpp>
#include <string>

#include "plugin.hpp"
#include "shm/layout.hpp"

using test::api;

namespace {

// Zones of plugin/time/zones.txt with one offset all year (tzdata), seconds east of UTC.
struct FixedZone {
    const char *name;
    int32_t offset;
};
constexpr FixedZone kFixedZones[] = {
    {"UTC", 0},
    {"Indian/Reunion", 4 * 3600},
    {"Pacific/Noumea", 11 * 3600},
    {"America/Cayenne", -3 * 3600},
    {"Pacific/Tahiti", -10 * 3600},
};

// The machine's offset now, through the older GetTimeZoneInformation (the plugin asks
// GetDynamicTimeZoneInformation); POSIX: none.
bool machine_offset(int32_t &seconds_east) {
#if defined(_WIN32)
    TIME_ZONE_INFORMATION tz{};
    const DWORD id = GetTimeZoneInformation(&tz);
    if (id == TIME_ZONE_ID_INVALID) return false;
    LONG bias = tz.Bias;
    if (id == TIME_ZONE_ID_DAYLIGHT) bias += tz.DaylightBias;
    if (id == TIME_ZONE_ID_STANDARD) bias += tz.StandardBias;
    seconds_east = -bias * 60;
    return true;
#else
    (void)seconds_east;
    return false;
#endif
}

uint64_t disagreements(const test::TempBase &tb) {
    return tb.view().diag(sonde::shm::Diag::TimezoneDisagreements);
}

// Writes the base's configuration with `zone` and waits until the plugin applied it.
void set_zone(test::TempBase &tb, sonde_base *base, const char *zone) {
    const uint64_t reloads = test::diagnostics(base).config_reloads;
    tb.enable(true, zone);
    REQUIRE(test::eventually([&] { return test::diagnostics(base).config_reloads > reloads; }));
}

}  // namespace

TEST_CASE("a base whose zone disagrees with the machine's is counted, and still uses its zone",
          "[abi][timezone]") {
    int32_t machine = 0;
    const bool consulted = machine_offset(machine);
    const FixedZone *same = nullptr, *other[2] = {nullptr, nullptr};
    for (const FixedZone &z : kFixedZones) {
        if (consulted && z.offset == machine) {
            if (!same) same = &z;
        } else if (!other[0]) {
            other[0] = &z;
        } else if (!other[1]) {
            other[1] = &z;
        }
    }
    REQUIRE(other[1]);
    INFO("machine offset " << machine << " s (consulted: " << consulted << "), other zones "
                           << other[0]->name << ", " << other[1]->name);
    test::TempBase tb;
    tb.enable(true, other[0]->name);
    sonde_base *base = tb.open();
    CHECK(test::diagnostics(base).enabled == 1);  // the base records, in its own zone
    CHECK(disagreements(tb) == (consulted ? 1 : 0));
    if (same) {  // agreeing: not counted again
        set_zone(tb, base, same->name);
        CHECK(disagreements(tb) == 1);
    } else if (consulted) {
        WARN("no fixed-offset zone of zones.txt has the machine's offset: agreement not checked");
    }
    set_zone(tb, base, other[1]->name);  // each configuration applied is compared again
    CHECK(disagreements(tb) == (consulted ? 2 : 0));
    sonde_writer *w = nullptr;
    REQUIRE(api().writer_get(base, &w) == SONDE_OK);
    CHECK(api().count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK);
    api().writer_release(w);
    api().base_close(base);
}
