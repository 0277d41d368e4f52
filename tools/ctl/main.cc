// sonde-ctl: the operator tool of the sonde statistics plugin. See `sonde-ctl --help`.

#include <exception>
#include <iostream>

#include "command.hpp"

int main(int argc, char **argv) {
    try {
        const sonde::ctl::Args args(argv + 1, argv + argc);
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
