#pragma once
// A fuzz target's scratch files (a segment, a base, a key file, a console's data) live in a
// folder under the temporary folder (TMPDIR) for the whole process, removed when it exits
// normally: libFuzzer ends its runs and its corpus replays with exit(). After a crash the folder
// stays, beside the finding.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace sonde::fuzz {

// Creates "<TMPDIR>/<prefix><pid>" afresh and returns it; traps if it cannot.
inline std::string scratch_dir(const char *prefix) {
    static std::vector<std::string> dirs;  // constructed before the handler is registered
    if (dirs.empty())
        std::atexit([] {
            for (const std::string &d : dirs) {
                std::error_code ec;
                std::filesystem::remove_all(d, ec);
            }
        });
    std::error_code ec;
    const auto dir =
        std::filesystem::temp_directory_path(ec) / (prefix + std::to_string(::getpid()));
    std::filesystem::remove_all(dir, ec);  // a previous process's, with the same pid
    if (!std::filesystem::create_directories(dir, ec)) __builtin_trap();
    dirs.push_back(dir.string());
    return dirs.back();
}

}  // namespace sonde::fuzz
