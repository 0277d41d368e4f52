#pragma once
// Roles: the unit test program started again by a test, as another process (tests/abi/
// host_process.hpp; CreateProcess on Windows, fork and exec on POSIX), instead of a fork that
// Windows does not have. `PROGRAM --role NAME ARGS...` runs the role NAME registered with
// SONDE_TEST_ROLE and exits with its status (tests/unit/main.cc).
#include <map>
#include <string>
#include <vector>

namespace test {

using RoleFn = int (*)(const std::vector<std::string> &args);

inline std::map<std::string, RoleFn> &roles() {
    static std::map<std::string, RoleFn> all;
    return all;
}

struct RegisterRole {
    RegisterRole(const char *name, RoleFn fn) { roles()[name] = fn; }
};

}  // namespace test

#define SONDE_TEST_ROLE_CAT2(a, b) a##b
#define SONDE_TEST_ROLE_CAT(a, b) SONDE_TEST_ROLE_CAT2(a, b)
// SONDE_TEST_ROLE("name", fn): fn(args) runs as `PROGRAM --role name args...`.
#define SONDE_TEST_ROLE(name, fn) \
    static const test::RegisterRole SONDE_TEST_ROLE_CAT(sonde_role_, __LINE__)(name, fn)
