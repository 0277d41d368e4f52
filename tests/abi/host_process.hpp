#pragma once
// The tests' host processes: the portable helper of sonde-shim (shim/host_process.hpp: fork and
// exec on POSIX, CreateProcess on Windows), and the hosts of tests/abi/child.cc.

#include <memory>
#include <string>
#include <vector>

#include "shim/host_process.hpp"

namespace test {

struct TempBase;

using HostProcess = sonde::shim::HostProcess;
using sonde::shim::self_path;

// The arguments of tests/abi/child.cc on `tb`'s base: PLUGIN CONFIG_DIR SHM_DIR BASE args...
// (tests/abi/plugin.cc).
std::vector<std::string> child_args(const TempBase &tb, const std::vector<std::string> &args);
// A host process of tests/abi/child.cc in `mode` recording `n` message_sent at `level` on `tb`'s
// base, its start REQUIREd (tests/abi/plugin.cc). Killed by its destructor if a check fails
// first, so a failing test never leaves a host behind (one left "hold"ing kept ctest's output
// pipe open: the hang docs/windows.md describes).
std::unique_ptr<HostProcess> spawn_child(const TempBase &tb, const char *mode, long n, int level);

}  // namespace test
