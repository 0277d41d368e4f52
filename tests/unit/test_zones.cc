// The time zones compiled into the plugin (plugin/time/zones.txt, tools/gen_zones.py): the
// zone source of the Windows build (docs/windows.md). Each must read exactly like the tzdata
// file it was made from, and a zone that is not embedded must be refused, not guessed.
#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "time/timezone.hpp"

using sonde::time::kEmbeddedZoneinfo;
using sonde::time::TimeZone;

namespace {

const std::string kZoneinfo = "/usr/share/zoneinfo";

std::vector<std::string> listed_zones() {
    std::ifstream in(std::string(SONDE_SOURCE_DIR) + "/plugin/time/zones.txt");
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::string name;
        if (words >> name) names.push_back(name);
    }
    return names;
}

}  // namespace

TEST_CASE("every listed zone is embedded and reads like its tzdata file", "[time][zones]") {
    const std::vector<std::string> names = listed_zones();
    REQUIRE(names.size() >= 10);
    for (const std::string &name : names) {
        INFO(name);
        std::string error;
        const std::optional<TimeZone> embedded = TimeZone::load(name, &error, kEmbeddedZoneinfo);
        INFO(error);
        REQUIRE(embedded.has_value());
        const std::optional<TimeZone> file = TimeZone::load(name, &error, kZoneinfo);
        REQUIRE(file.has_value());
        // Every 6 hours from 1970 to 2100: the same offset, the same changes.
        for (int64_t t = 0; t < 4102444800; t += 6 * 3600) {
            if (embedded->utc_offset(t) != file->utc_offset(t)) {
                FAIL_CHECK("offset differs at " << t);
                break;
            }
        }
        CHECK(embedded->offset_change_after(1700000000) == file->offset_change_after(1700000000));
    }
}

TEST_CASE("Europe/Paris from the embedded zones: CET and CEST", "[time][zones]") {
    std::string error;
    const std::optional<TimeZone> paris = TimeZone::load("Europe/Paris", &error, kEmbeddedZoneinfo);
    REQUIRE(paris.has_value());
    CHECK(paris->utc_offset(1767225600) == 3600);  // 2026-01-01T00:00Z
    CHECK(paris->utc_offset(1782864000) == 7200);  // 2026-07-01T00:00Z
    // EU rule: summer time from the last Sunday of March, 01:00 UTC (2026-03-29).
    CHECK(paris->offset_change_after(1767225600) == std::optional<int64_t>(1774746000));
}

TEST_CASE("a zone that is not embedded is refused and says why", "[time][zones]") {
    std::string error;
    CHECK_FALSE(TimeZone::load("America/New_York", &error, kEmbeddedZoneinfo).has_value());
    CHECK(error.find("unknown") != std::string::npos);
    CHECK(error.find("embedded") != std::string::npos);
    CHECK_FALSE(TimeZone::load("../Europe/Paris", &error, kEmbeddedZoneinfo).has_value());
}

TEST_CASE("the embedded zones record their tzdata version", "[time][zones]") {
    std::ifstream in(kZoneinfo + "/tzdata.zi");
    std::string hash, word, version;
    in >> hash >> word >> version;
    REQUIRE(word == "version");
    CHECK(sonde::time::embedded_tzdata_version() == version);
}
