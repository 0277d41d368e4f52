#pragma once
// The plugin as a host sees it: loaded with dlopen (LoadLibrary on Windows), used through the
// function table only.
// (The tests read results back through the operator's read-only view, like sonde-ctl.)

#include <chrono>
#include <string>
#include <thread>

#include "reader/view.hpp"
#include "sonde.h"

namespace test {

const sonde_api &api();

// The plugin loaded once more (dlopen / LoadLibrary), a symbol of it, and unloading it.
void *load_plugin();
void *plugin_symbol(void *plugin, const char *name);
void unload_plugin(void *plugin);

struct TempBase {
    std::string dir, config_dir, shm_dir, id;
    explicit TempBase(const char *base_id = "0310001A");
    ~TempBase();  // removes the directory and everything in it
    TempBase(const TempBase &) = delete;
    TempBase &operator=(const TempBase &) = delete;
    void enable(bool on = true, const char *timezone = "Europe/Paris");
    void write_config(const std::string &text);
    sonde_base *open(uint32_t product = SONDE_PRODUCT_PRONOTE);
    sonde::reader::SegmentView view() const;
    std::string segment_path() const;
};

// Polls until pred() or the timeout; the plugin applies configuration changes within ~1 s.
template <typename Pred>
bool eventually(Pred pred, int timeout_ms = 5000) {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

sonde_diagnostics diagnostics(const sonde_base *base);

}  // namespace test
