#include "platform/arguments.hpp"

#include "win32.hpp"
// shellapi.h needs windows.h (from win32.hpp) first.
#include <shellapi.h>

namespace sonde::platform {

std::vector<std::string> utf8_arguments(int argc, char **argv) {
    int n = 0;
    wchar_t **wide = CommandLineToArgvW(GetCommandLineW(), &n);
    // The C runtime and CommandLineToArgvW split a command line by the same rules; if they
    // ever disagree on the count, the runtime's (ANSI) arguments are the safer answer.
    if (!wide || n != argc) {
        if (wide) LocalFree(wide);
        return std::vector<std::string>(argv, argv + argc);
    }
    std::vector<std::string> out;
    out.reserve(size_t(n));
    for (int i = 0; i < n; ++i) out.push_back(win32::utf8(wide[i]));
    LocalFree(wide);
    return out;
}

}  // namespace sonde::platform
