// sonde-shim: an emulated PRONOTE/EDT host for libsonde.so (see week.hpp and crash.hpp). The
// same program is each host process of a run (--role, process_runner.hpp).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "crash.hpp"
#include "crash_writer.hpp"
#include "options.hpp"
#include "platform/arguments.hpp"
#include "week.hpp"
#include "week_host.hpp"

int main(int argc, char **argv) {
    using namespace sonde::shim;
    std::string error;
    // UTF-8 arguments (on Windows from the wide command line): the folders may have any name.
    std::vector<std::string> utf8 = sonde::platform::utf8_arguments(argc, argv);
    std::vector<char *> pointers;
    for (std::string &a : utf8) pointers.push_back(a.data());
    const auto options = parse_options(int(pointers.size()), pointers.data(), &error);
    if (!options) {
        if (error.empty()) {
            std::fputs(usage().c_str(), stdout);
            return kExitOk;
        }
        std::fprintf(stderr, "sonde-shim: %s\n\n%s", error.c_str(), usage().c_str());
        return kExitSetup;
    }
    if (options->role != HostRole::None) {
        int code = 5;
        try {
            code = options->role == HostRole::WeekHost ? run_week_host_role(*options)
                                                       : run_crash_writer_role(*options);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "sonde-shim host: %s\n", e.what());
        }
        // No exit-time clean-up: a crash writer's thread may still be blocked reading stdin.
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(code);
    }
    try {
        return options->scenario == Scenario::Week ? run_week(*options) : run_crash(*options);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "sonde-shim: %s\n", e.what());
        return kExitSetup;
    }
}
