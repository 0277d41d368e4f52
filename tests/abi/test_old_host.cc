// Old hosts keep working: a host compiled against the 1.0 header (old_host_1_0.c, v1_0/) runs
// with today's library, and what it recorded is read back exactly.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "plugin.hpp"

TEST_CASE("a host built against the 1.0 header runs with today's library", "[abi][compat]") {
    test::TempBase tb;
    tb.enable();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl(SONDE_OLD_HOST_PATH, SONDE_OLD_HOST_PATH, SONDE_PLUGIN_PATH, tb.config_dir.c_str(),
                tb.shm_dir.c_str(), tb.id.c_str(), nullptr);
        ::_exit(127);
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // else the step of old_host_1_0.c that failed

    // The 1.0 catalogue's values name the same measures today (values never change).
    auto v = tb.view();
    CHECK(v.event(SONDE_EV_MESSAGE_SENT) == 7);
    CHECK(v.event(SONDE_EV_MESSAGE_SENT, 1) == 5);
    CHECK(v.tally_counter(SONDE_TALLY_ABSENCE_HALF_DAY, 1) == 3);
    CHECK(v.connections(SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT) == 1);
    CHECK(v.gauge(SONDE_GAUGE_CLASSES).set);
    CHECK(v.gauge(SONDE_GAUGE_CLASSES).value == 12);
    CHECK(v.level_label(1) == "6EME");
}
