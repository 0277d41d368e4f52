// sonde-ctl: the operator tool of the sonde statistics plugin. See `sonde-ctl --help`.

#include <exception>
#include <iostream>

#include "command.hpp"
#include "platform/arguments.hpp"

int main(int argc, char **argv) {
    try {
        const std::vector<std::string> utf8 = sonde::platform::utf8_arguments(argc, argv);
        const sonde::ctl::Args args(utf8.begin() + 1, utf8.end());
        const int status = sonde::ctl::run(args, {std::cout, std::cerr});
        std::cout.flush();
        if (!std::cout) {  // a full disk or closed pipe must not look like success
            std::cerr << "sonde-ctl: cannot write the output\n";
            return sonde::ctl::kExitFailure;
        }
        return status;
    } catch (const std::exception &e) {
        std::cerr << "sonde-ctl: " << e.what() << "\n";
        return sonde::ctl::kExitFailure;
    }
}
