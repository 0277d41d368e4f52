// A separate host process for the cross-process tests: loads the plugin with dlopen, opens the
// base and records a known pattern. Run as:
//   sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE count N LEVEL   -> N x count(message_sent,
//   LEVEL) sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE hold N          -> records N, prints
//   "ready", sleeps sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE exit N          -> records N,
//   exits with the base open
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sonde.h"

int main(int argc, char **argv) {
    if (argc < 7) return 2;
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) return 3;
    auto get = reinterpret_cast<sonde_get_api_fn>(dlsym(so, "sonde_get_api"));
    const sonde_api *api = get ? get(SONDE_ABI_MAJOR, SONDE_ABI_MINOR) : nullptr;
    if (!api) return 4;
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.config_dir = argv[2];
    p.shm_dir = argv[3];
    p.base_id = argv[4];
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    if (api->base_open(&p, &base) != SONDE_OK || api->writer_get(base, &w) != SONDE_OK) return 5;
    const long n = std::atol(argv[6]);
    const uint32_t level = argc > 7 ? uint32_t(std::atoi(argv[7])) : 0;
    for (long i = 0; i < n; ++i)
        if (api->count(w, SONDE_EV_MESSAGE_SENT, level, 1) != SONDE_OK) return 6;
    if (std::strcmp(argv[5], "exit") == 0) return 0;  // exit with the base open, no release
    if (std::strcmp(argv[5], "hold") == 0) {
        std::printf("ready\n");
        std::fflush(stdout);
        for (;;) pause();
    }
    api->writer_release(w);
    api->base_close(base);
    return 0;
}
