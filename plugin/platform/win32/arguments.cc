#include "platform/arguments.hpp"

#include "win32.hpp"
// shellapi.h needs windows.h (from win32.hpp) first.
#include <shellapi.h>

namespace sonde::platform {

namespace {
std::string utf8_of(const wchar_t *wide) {
    const int n = WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr);
    if (n <= 1) return {};
    std::string out(size_t(n - 1), '\0');
    WideCharToMultiByte(CP_UTF8, 0, wide, -1, out.data(), n, nullptr, nullptr);
    return out;
}
}  // namespace

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
    for (int i = 0; i < n; ++i) out.push_back(utf8_of(wide[i]));
    LocalFree(wide);
    return out;
}

}  // namespace sonde::platform
