#pragma once
// Forking host processes. The child runs a function and leaves with _exit, so it never runs
// the driver's destructors or flushes the driver's buffers a second time; it is killed if the
// driver dies.

#include <sys/types.h>

#include <functional>
#include <string>

namespace sonde::shim {

pid_t spawn(const std::function<int()> &child_main);  // -1 if fork failed

struct ExitStatus {
    bool exited = false;  // normal exit
    int code = 0;         // exit code, or the signal that ended it
    std::string text() const;
};
ExitStatus wait_child(pid_t pid);

}  // namespace sonde::shim
