#include "process_runner.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>

namespace sonde::shim {

pid_t spawn(const std::function<int()> &child_main) {
    std::fflush(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    // If the driver dies (a test timeout), its busy writers must not live on.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(6);
    int code = 5;
    try {
        code = child_main();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "sonde-shim child %d: %s\n", int(::getpid()), e.what());
    }
    std::fflush(nullptr);
    ::_exit(code);
}

std::string ExitStatus::text() const {
    return exited ? "exit " + std::to_string(code) : std::string("killed by ") + ::strsignal(code);
}

ExitStatus wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return {true, -1};
    if (WIFEXITED(status)) return {true, WEXITSTATUS(status)};
    return {false, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

}  // namespace sonde::shim
