#pragma once
// Another host process, the same way on both systems (docs/windows.md, "What runs under
// Wine"): fork and exec on POSIX, CreateProcess on Windows. Used by sonde-shim for its hosts
// (a host is the shim itself started again in a role) and by the tests (tests/abi/host_process.hpp:
// tests/abi/child.cc, or a test program in a role). Its stdin and stdout are pipes to the
// parent, read and written line by line; its stderr is the parent's. The destructor kills a
// process that is still running, so a test or a replay that fails half way never leaves a host
// behind (holding the output pipe of ctest, a lock or a row).

#include <string>
#include <utility>
#include <vector>

namespace sonde::shim {

class HostProcess {
  public:
    struct Options {
        // Variables set in the child's environment only.
        std::vector<std::pair<std::string, std::string>> env;
    };

    HostProcess(const std::string &program, const std::vector<std::string> &args,
                const Options &options);
    HostProcess(const std::string &program, const std::vector<std::string> &args)
        : HostProcess(program, args, Options{}) {}
    ~HostProcess();
    HostProcess(const HostProcess &) = delete;
    HostProcess &operator=(const HostProcess &) = delete;

    bool started() const { return started_; }
    // The system's process id (not unique over time: Wine reuses them from one run to the
    // next; never used to name anything).
    unsigned long pid() const { return pid_; }
    // A line of its stdout without its end ("\n" or Wine's "\r\n"); false at end of file.
    bool read_line(std::string &line);
    // Writes `line` and "\n" to its stdin.
    bool send_line(const std::string &line);
    // Waits for its end (up to `timeout_ms`, then kills it): its exit status, or -1 when it
    // was killed by a signal (POSIX) or by kill() (both systems) or did not end in time.
    int wait(int timeout_ms = 120000);
    // Non-blocking: true (and the status as wait() gives it) once it has ended.
    bool try_wait(int &status);
    // SIGKILL or TerminateProcess: no clean-up of any kind in the child.
    void kill();
    // Stops every thread of the child (SIGSTOP; NtSuspendProcess on Windows) and lets them go
    // on (SIGCONT; NtResumeProcess). False if the system refused.
    bool suspend();
    bool resume();

  private:
    void close_pipes();
    bool started_ = false, ended_ = false, killed_ = false;
    int status_ = -1;
    unsigned long pid_ = 0;
#if defined(_WIN32)
    void *process_ = nullptr, *in_ = nullptr, *out_ = nullptr;
#else
    int in_ = -1, out_ = -1;
#endif
};

// This program's own path, to start it again in a role (sonde-shim, tests/unit/main.cc).
std::string self_path();

}  // namespace sonde::shim
