#include "plugin.hpp"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "host_process.hpp"
#include "shm/segment.hpp"
#include "tests/unit/temp_dir.hpp"

namespace test {

void *load_plugin() {
#if defined(_WIN32)
    return reinterpret_cast<void *>(LoadLibraryA(SONDE_PLUGIN_PATH));
#else
    return dlopen(SONDE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
#endif
}

void *plugin_symbol(void *plugin, const char *name) {
#if defined(_WIN32)
    return reinterpret_cast<void *>(GetProcAddress(static_cast<HMODULE>(plugin), name));
#else
    return dlsym(plugin, name);
#endif
}

void unload_plugin(void *plugin) {
#if defined(_WIN32)
    FreeLibrary(static_cast<HMODULE>(plugin));
#else
    dlclose(plugin);
#endif
}

const sonde_api &api() {
    static const sonde_api *table = [] {
        void *so = load_plugin();
        if (!so) FAIL("cannot load " << SONDE_PLUGIN_PATH);
        auto get = reinterpret_cast<sonde_get_api_fn>(plugin_symbol(so, "sonde_get_api"));
        if (!get) FAIL("sonde_get_api not exported");
        const sonde_api *t = get(SONDE_ABI_MAJOR, SONDE_ABI_MINOR);
        if (!t) FAIL("ABI mismatch");
        return t;
    }();
    return *table;
}

TempBase::TempBase(const char *base_id) : dir(make_temp_dir("sonde-abi-")), id(base_id) {
    // A random name created exclusively (a pid alone is not enough, Wine reuses them).
    if (dir.empty()) FAIL("cannot create a folder in the temporary folder");
    config_dir = dir + "/conf";
    shm_dir = dir + "/shm";
    std::filesystem::create_directories(config_dir);
    std::filesystem::create_directories(shm_dir);
}

TempBase::~TempBase() {
#if !defined(_WIN32)
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
#endif
    // Not under Wine: there the folder stays in the Wine prefix's temporary folder. Removing it
    // as a case ends made test_counts, test_persistence and test_system_zone run past their
    // timeouts (a file still open in the folder; not diagnosed further).
}

void TempBase::enable(bool on, const char *timezone) {
    sonde::BaseConfig c;
    c.enabled = on;
    c.secret = {0x1234567890abcdefULL, 0x0fedcba987654321ULL};
    c.timezone = timezone;
    std::string error;
    REQUIRE(sonde::save_config(sonde::config_path(config_dir, id), c, &error));
}

void TempBase::write_config(const std::string &text) {
    const std::string path = sonde::config_path(config_dir, id), tmp = path + ".new";
    std::ofstream(tmp) << text;
    std::error_code ec;  // replaces the file on Windows too, where std::rename would refuse
    std::filesystem::rename(tmp, path, ec);
    INFO(ec.message());
    REQUIRE_FALSE(ec);
}

sonde_base *TempBase::open(uint32_t product) {
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = product;
    p.base_id = id.c_str();
    p.config_dir = config_dir.c_str();
    p.shm_dir = shm_dir.c_str();
    sonde_base *base = nullptr;
    REQUIRE(api().base_open(&p, &base) == SONDE_OK);
    REQUIRE(base != nullptr);
    return base;
}

std::string TempBase::segment_path() const { return sonde::shm::segment_path(shm_dir, id); }

sonde::reader::SegmentView TempBase::view() const {
    std::string error;
    auto v = sonde::reader::SegmentView::open(segment_path(), &error);
    if (!v) FAIL(error);
    return std::move(*v);
}

std::vector<std::string> child_args(const TempBase &tb, const std::vector<std::string> &args) {
    std::vector<std::string> all{SONDE_PLUGIN_PATH, tb.config_dir, tb.shm_dir, tb.id};
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

std::unique_ptr<HostProcess> spawn_child(const TempBase &tb, const char *mode, long n, int level) {
    auto p = std::make_unique<HostProcess>(
        SONDE_CHILD_PATH, child_args(tb, {mode, std::to_string(n), std::to_string(level)}));
    REQUIRE(p->started());
    return p;
}

sonde_diagnostics diagnostics(const sonde_base *base) {
    sonde_diagnostics d{};
    d.struct_size = sizeof d;
    REQUIRE(api().diagnostics(base, &d) == SONDE_OK);
    return d;
}

}  // namespace test
