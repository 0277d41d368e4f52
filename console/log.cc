#include "log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

namespace sonde::console {

void log(Level level, const std::string &message) {
    static std::mutex mutex;
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *name = level == Level::Info ? "info" : level == Level::Warn ? "warn" : "error";
    std::lock_guard lock(mutex);
    std::fprintf(stderr, "%s %s %s\n", stamp, name, message.c_str());
    std::fflush(stderr);
}

}  // namespace sonde::console
