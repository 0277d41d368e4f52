// Fuzzes the configuration parser: whatever the hosting console (or a disk error) leaves in
// a base's file, loading it must return Ok/Malformed, never crash or throw.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/config.hpp"
#include "scratch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const std::string path =
        sonde::fuzz::scratch_dir("sonde-fuzz-config-") + "/0310001A.conf";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    sonde::BaseConfig c;
    std::string error;
    const auto r = sonde::load_config(path, c, &error);
    if (r == sonde::ConfigLoad::Malformed && error.empty()) __builtin_trap();
    return 0;
}
