#pragma once
// The driver's host processes: the shim itself started again in a role (HostProcess: fork and
// exec on POSIX, CreateProcess on Windows), never a fork that runs on with the driver's memory.
// A host rebuilds its school, calendar and plan from the driver's arguments (deterministic),
// talks to the driver over its stdin and stdout (lines), and writes the oracle into the shared
// arena file. Killing one is SIGKILL or TerminateProcess: no clean-up in the host.

#include <memory>
#include <string>
#include <vector>

#include "base_setup.hpp"
#include "host_process.hpp"
#include "options.hpp"

namespace sonde::shim {

// Starts `PROGRAM <the driver's arguments> --lib --config-dir --shm-dir <role_args...>` with
// $SONDE_BOOT_ID set to `boot_id` when not empty. nullptr (and *error) if it did not start.
std::unique_ptr<HostProcess> start_host(const Options &options, const Dirs &dirs,
                                        const std::vector<std::string> &role_args,
                                        const std::string &boot_id, std::string *error);

// "exit N", or "killed" (a signal, TerminateProcess, or no end within the wait).
std::string exit_text(int status);

// Sets a variable of this process's environment (setenv; _putenv_s on Windows, which the C
// runtime of the DLL reads too).
bool set_environment(const std::string &name, const std::string &value);

// A host's side of the driver's lines: one line of stdin without its end (false at the end of
// the input: the driver is gone), and one line to stdout, flushed.
bool read_driver_line(std::string &line);
bool write_driver_line(const std::string &line);

}  // namespace sonde::shim
