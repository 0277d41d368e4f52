// Catch's runner, and the roles of tests/unit/roles.hpp: `PROGRAM --role NAME ARGS...`.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstring>

#include "roles.hpp"

int main(int argc, char **argv) {
    if (argc >= 3 && std::strcmp(argv[1], "--role") == 0) {
        const auto it = test::roles().find(argv[2]);
        if (it == test::roles().end()) return 126;
        return it->second(std::vector<std::string>(argv + 3, argv + argc));
    }
    return Catch::Session().run(argc, argv);
}
