#pragma once
// What every sonde-ctl command shares: where it writes and what it returns. Commands take
// streams rather than using std::cout so the tests can run them in-process.

#include <ostream>
#include <string>
#include <vector>

namespace sonde::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command could not do its job
inline constexpr int kExitUsage = 2;    // the command line is wrong

struct Io {
    std::ostream &out;
    std::ostream &err;
};

using Args = std::vector<std::string>;  // the command's arguments, without its name

int cmd_enable(const Args &args, Io io);
int cmd_disable(const Args &args, Io io);
int cmd_status(const Args &args, Io io);
int cmd_dump(const Args &args, Io io);
int cmd_keygen(const Args &args, Io io);
int cmd_open(const Args &args, Io io);
int cmd_audit(const Args &args, Io io);
int cmd_upload(const Args &args, Io io);

// Entry point: args = argv[1..]. Returns the process exit code.
int run(const Args &args, Io io);

}  // namespace sonde::ctl
