#pragma once
// How sonde-uplink is stopped, and on Windows how it runs as a service (service_posix.cc,
// service_win32.cc; docs/windows.md#the-uplink-as-a-windows-service).

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace sonde::uplink {

// Waits up to `ms` milliseconds (0: only looks) for a stop request; true once one came.
class StopWait {
  public:
    virtual ~StopWait() = default;
    virtual bool wait(int64_t ms) = 0;
};

// A program run from a terminal or by systemd: SIGTERM, SIGINT, SIGHUP (POSIX); Ctrl+C,
// Ctrl+Break, the console closing (Windows). nullptr if it cannot be set up.
std::unique_ptr<StopWait> console_stop_wait();

#ifdef _WIN32
inline constexpr bool kHasService = true;
#else
inline constexpr bool kHasService = false;
#endif

inline constexpr const char *kServiceName = "sonde-uplink";
// The account the service runs as unless `install --account` says otherwise: the service's own
// virtual account, whose rights are granted by name on %ProgramData%\Sonde.
inline constexpr const char *kServiceAccount = "NT SERVICE\\sonde-uplink";

// Windows: connects to the service manager (StartServiceCtrlDispatcher) and runs `body` as the
// service's work, its StopWait ended by the stop control (or by shutdown); the service reports
// body's result as its exit code. Returns when the service has stopped: 0, or 1 if the
// process was not started by the service manager. POSIX: 2 (no services).
int service_run(const std::function<int(StopWait &)> &body);
// Windows: registers the service (automatic start, `account`, or kServiceAccount if empty), its
// command line this executable with --service --config FILE [--log FILE]. 0 or 1 (why on err).
int service_install(const std::string &config_path, const std::string &log_path,
                    const std::string &account, std::ostream &err);
// Windows: stops the service if it runs, then deletes it. 0 or 1.
int service_uninstall(std::ostream &err);

}  // namespace sonde::uplink
