#include "plugin.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace sonde::shim {
namespace {

// The OS's loader: dlopen(RTLD_NOW | RTLD_LOCAL) and dlsym, or LoadLibraryW and GetProcAddress
// as a Windows host loads sonde.dll (docs/windows.md).
void *load_library(const std::string &path, std::string *error) {
#if defined(_WIN32)
    std::wstring wide(size_t(MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, nullptr, 0)), L'\0');
    if (wide.empty() ||
        !MultiByteToWideChar(CP_UTF8, 0, path.c_str(), -1, wide.data(), int(wide.size()))) {
        *error = "LoadLibraryW: not UTF-8: " + path;
        return nullptr;
    }
    HMODULE module = LoadLibraryW(wide.c_str());
    if (!module) *error = "LoadLibraryW(" + path + "): error " + std::to_string(GetLastError());
    return reinterpret_cast<void *>(module);
#else
    void *so = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!so) *error = std::string("dlopen: ") + ::dlerror();
    return so;
#endif
}

void *symbol(void *library, const char *name) {
#if defined(_WIN32)
    return reinterpret_cast<void *>(GetProcAddress(static_cast<HMODULE>(library), name));
#else
    return ::dlsym(library, name);
#endif
}

}  // namespace

std::optional<Plugin> Plugin::load(const std::string &path, std::string *error) {
    void *so = load_library(path, error);
    if (!so) return std::nullopt;
    auto magic_fn = reinterpret_cast<sonde_abi_magic_fn>(symbol(so, "sonde_abi_magic"));
    auto get_api = reinterpret_cast<sonde_get_api_fn>(symbol(so, "sonde_get_api"));
    if (!magic_fn || !get_api) {
        *error = path + ": not a sonde plugin (sonde_abi_magic/sonde_get_api missing)";
        return std::nullopt;
    }
    const sonde_magic *magic = magic_fn();
    if (!magic || magic->magic != SONDE_ABI_MAGIC || magic->abi_major != SONDE_ABI_MAJOR) {
        *error = path + ": wrong magic or ABI major";
        return std::nullopt;
    }
    if (magic->schema_hash != SONDE_SCHEMA_HASH) {
        *error = path + ": built from another catalogue (schema hash differs from the shim's)";
        return std::nullopt;
    }
    const sonde_api *api = get_api(SONDE_ABI_MAJOR, SONDE_ABI_MINOR);
    if (!api || api->struct_size < sizeof(sonde_api)) {
        *error = path + ": sonde_get_api refused ABI " + std::to_string(SONDE_ABI_MAJOR) + "." +
                 std::to_string(SONDE_ABI_MINOR);
        return std::nullopt;
    }
    return Plugin(api);
}

namespace {
int open_base(const Plugin &plugin, const std::string &uai, const std::string &config_dir,
              const std::string &shm_dir, sonde_base **out) {
    sonde_open_params params{};
    params.struct_size = sizeof params;
    params.product = SONDE_PRODUCT_PRONOTE;
    params.base_id = uai.c_str();
    params.config_dir = config_dir.c_str();
    params.shm_dir = shm_dir.c_str();
    return plugin->base_open(&params, out);
}
}  // namespace

std::optional<HostBase> open_host_base(const Plugin &plugin, const std::string &uai,
                                       const std::string &config_dir, const std::string &shm_dir,
                                       std::string *error) {
    HostBase host;
    int rc = open_base(plugin, uai, config_dir, shm_dir, &host.base);
    if (rc != SONDE_OK) {
        *error = "base_open(" + uai + "): " + plugin->strerror(rc);
        return std::nullopt;
    }
    rc = plugin->writer_get(host.base, &host.writer);
    if (rc != SONDE_OK) {
        *error = "writer_get(" + uai + "): " + plugin->strerror(rc);
        plugin->base_close(host.base);
        return std::nullopt;
    }
    return host;
}

void close_host_base(const Plugin &plugin, HostBase &host) {
    if (host.writer) plugin->writer_release(host.writer);
    if (host.base) plugin->base_close(host.base);
    host = {};
}

std::optional<sonde_diagnostics> base_diagnostics(const Plugin &plugin, const std::string &uai,
                                                  const std::string &config_dir,
                                                  const std::string &shm_dir, std::string *error,
                                                  int64_t clock) {
    sonde_base *base = nullptr;
    int rc = open_base(plugin, uai, config_dir, shm_dir, &base);
    if (rc != SONDE_OK) {
        *error = "base_open(" + uai + "): " + plugin->strerror(rc);
        return std::nullopt;
    }
    if (clock >= 0) plugin->clock_set(base, clock);
    sonde_diagnostics d{};
    d.struct_size = sizeof d;
    rc = plugin->diagnostics(base, &d);
    plugin->base_close(base);
    if (rc != SONDE_OK) {
        *error = std::string("diagnostics: ") + plugin->strerror(rc);
        return std::nullopt;
    }
    return d;
}

}  // namespace sonde::shim
