#pragma once
// libsonde.so (sonde.dll) as a PRONOTE/EDT server sees it: dlopen (LoadLibraryW),
// sonde_abi_magic, sonde_get_api, and the function table. Nothing else of the plugin is ever
// touched by host code.

#include <optional>
#include <string>

#include "sonde.h"

namespace sonde::shim {

class Plugin {
  public:
    // RTLD_NOW | RTLD_LOCAL like a real host (LoadLibraryW on Windows). The handle is never closed:
    // the plugin keeps a watcher thread and thread-local writers for the life of the process.
    static std::optional<Plugin> load(const std::string &path, std::string *error);

    const sonde_api &api() const { return *api_; }
    const sonde_api *operator->() const { return api_; }
    const char *version() const { return api_->version(); }

  private:
    explicit Plugin(const sonde_api *api) : api_(api) {}
    const sonde_api *api_;
};

// One base opened by a host process, with the writer of its recording thread.
struct HostBase {
    sonde_base *base = nullptr;
    sonde_writer *writer = nullptr;
};

// base_open + writer_get; on failure *error says which call failed and why.
std::optional<HostBase> open_host_base(const Plugin &plugin, const std::string &uai,
                                       const std::string &config_dir, const std::string &shm_dir,
                                       std::string *error);
void close_host_base(const Plugin &plugin, HostBase &host);

// The ABI's diagnostics for a base (opened and closed around the call). clock >= 0: set the
// plugin's clock there first, so that a base shipping snapshots never ships at the real time
// in the middle of a replay.
std::optional<sonde_diagnostics> base_diagnostics(const Plugin &plugin, const std::string &uai,
                                                  const std::string &config_dir,
                                                  const std::string &shm_dir, std::string *error,
                                                  int64_t clock = -1);

}  // namespace sonde::shim
