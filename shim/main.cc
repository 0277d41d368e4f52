// sonde-shim: an emulated PRONOTE/EDT host for libsonde.so (see week.hpp and crash.hpp).
#include <cstdio>

#include "crash.hpp"
#include "options.hpp"
#include "week.hpp"

int main(int argc, char **argv) {
    using namespace sonde::shim;
    std::string error;
    const auto options = parse_options(argc, argv, &error);
    if (!options) {
        if (error.empty()) {
            std::fputs(usage().c_str(), stdout);
            return kExitOk;
        }
        std::fprintf(stderr, "sonde-shim: %s\n\n%s", error.c_str(), usage().c_str());
        return kExitSetup;
    }
    return options->scenario == Scenario::Week ? run_week(*options) : run_crash(*options);
}
