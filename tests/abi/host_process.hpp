#pragma once
// Another host process, the same way on both systems (docs/windows.md, "What runs under
// Wine"): fork and exec on POSIX, CreateProcess on Windows. The program is usually
// tests/abi/child.cc (`child()` below), a host that loads the plugin and uses the C ABI only.
// Its stdin and stdout are pipes to the test, read and written line by line; the test reads a
// "ready" line before it acts. The destructor kills a process that is still running, so a test
// that fails half way never leaves a host behind (holding the output pipe of ctest, a lock or a
// row).

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace test {

struct TempBase;

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

// The arguments of tests/abi/child.cc on `tb`'s base: PLUGIN CONFIG_DIR SHM_DIR BASE args...
// (tests/abi/plugin.cc).
std::vector<std::string> child_args(const TempBase &tb, const std::vector<std::string> &args);
// A host process of tests/abi/child.cc in `mode` recording `n` message_sent at `level` on `tb`'s
// base, its start REQUIREd (tests/abi/plugin.cc). Killed by its destructor if a check fails
// first, so a failing test never leaves a host behind (one left "hold"ing kept ctest's output
// pipe open: the hang docs/windows.md describes).
std::unique_ptr<HostProcess> spawn_child(const TempBase &tb, const char *mode, long n, int level);

// This test program's own path, to start it again in a role (tests/unit/main.cc).
std::string self_path();

}  // namespace test
