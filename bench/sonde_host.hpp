#pragma once
// What the benchmarks and the callgrind driver share: the real libsonde.so loaded with dlopen
// (only the C ABI is used), a private temporary directory for configuration and shared memory,
// one enabled base and one disabled base, and the user population of the connection workload.

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "sonde.h"

namespace sonde_bench {

// Loads the plugin ($SONDE_PLUGIN, else the path compiled in), writes an enabled
// configuration for kEnabledBase and none for kDisabledBase, and opens both. Everything lives
// in a fresh mkdtemp() directory that the destructor removes.
class SondeHost {
  public:
    static constexpr const char *kEnabledBase = "0310001A";
    static constexpr const char *kDisabledBase = "0310002B";

    SondeHost();
    ~SondeHost();
    SondeHost(const SondeHost &) = delete;
    SondeHost &operator=(const SondeHost &) = delete;

    const sonde_api &api() const { return *api_; }
    sonde_base *enabled() const { return enabled_; }
    sonde_base *disabled() const { return disabled_; }
    // The temporary directory: conf/ holds the configuration, shm/ the segments.
    const std::filesystem::path &dir() const { return dir_; }

    // A writer for the calling thread; aborts with a message if the plugin refuses.
    sonde_writer *writer_for(sonde_base *base) const;

  private:
    std::filesystem::path dir_;
    void *so_ = nullptr;
    const sonde_api *api_ = nullptr;
    sonde_base *enabled_ = nullptr;
    sonde_base *disabled_ = nullptr;
};

// The process-wide host of sonde-bench, created on first use; shutdown_host() closes it.
SondeHost &host();
void shutdown_host();

// A school's users and one simulated day of connections: kUsers users with keys like
// "G-0310001A-001234" (the letter is the profile), each connecting a few times a day (kVisits
// in all, shuffled, with a realistic profile/medium/access mix).
struct Visit {
    uint32_t user;
    uint32_t profile, medium, access;
};

class UserPool {
  public:
    static constexpr uint32_t kUsers = 4000;
    static constexpr uint32_t kKeyLen = 17;

    UserPool();
    std::string_view key(uint32_t user) const { return {&keys_[size_t(user) * kKeyLen], kKeyLen}; }
    const std::vector<Visit> &day() const { return day_; }

  private:
    std::vector<char> keys_;
    std::vector<Visit> day_;
};

const UserPool &user_pool();

// Simulated calendar: 2024-09-02 (a Monday) 07:00 UTC plus `day` days; wraps after 40 years so
// the clock stays within the plugin's range.
int64_t simulated_time(uint64_t day);

}  // namespace sonde_bench
