#pragma once
// The TZif files compiled into the plugin (plugin/time/zones.txt, generated at build time by
// tools/gen_zones.py from the build machine's tzdata, zstd-compressed): the zone source of
// builds without a zoneinfo directory (Windows). TimeZone::load reads them when its directory
// is kEmbeddedZoneinfo.

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace sonde::time::embedded {

struct Zone {
    const char *name;
    const unsigned char *data;  // one zstd frame
    size_t size;
    size_t raw_size;  // the TZif file's size
};

std::span<const Zone> zones() noexcept;
extern const char *const kTzdataVersion;  // e.g. "2025b", from tzdata.zi

// The TZif bytes of `name`; false if it is not embedded (or out of memory).
bool find(std::string_view name, std::vector<unsigned char> &out);

}  // namespace sonde::time::embedded
