// Fuzzes sonde-console's configuration parser: any text gives a Config or an error that names
// the line, never a crash.
#include <cstdint>
#include <string>

#include "config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sonde::console::Config c;
    std::string error;
    const bool ok = sonde::console::parse_config(
        std::string(reinterpret_cast<const char *>(data), size), c, &error);
    if (!ok && error.empty()) __builtin_trap();
    return 0;
}
