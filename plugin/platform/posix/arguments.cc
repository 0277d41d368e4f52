#include "platform/arguments.hpp"

namespace sonde::platform {

std::vector<std::string> utf8_arguments(int argc, char **argv) {
    return std::vector<std::string>(argv, argv + argc);
}

}  // namespace sonde::platform
