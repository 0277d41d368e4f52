// A host that defines zstd's tracing hooks, as a host built with its own zstd and tracing
// (ZSTD_TRACE) does. The plugin's private zstd must never call them: they would run the host's
// code, with the plugin's contexts, from inside the shipper. Run as:
//   sonde_abi_trace_host PLUGIN CONFIG_DIR SHM_DIR BASE START NEW_CONFIG CONFIG_PATH
// Opens the base on a manual clock at START, turns snapshots on by renaming NEW_CONFIG to
// CONFIG_PATH, records, moves the clock one hour on (a snapshot is due) and closes the base
// (one more snapshot). Exit status: 0 if no hook ran, 10 if any did, other values on setup
// errors.
#include <dlfcn.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "sonde.h"

namespace {
std::atomic<int> g_calls{0};

void hook_called(const char *name) {
    g_calls.fetch_add(1);
    std::fprintf(stderr, "trace_host: the plugin called the host's %s\n", name);
}
}  // namespace

// zstd's signatures (lib/common/zstd_trace.h): the contexts are opaque here. Exported from the
// executable (ENABLE_EXPORTS), so a weak undefined symbol of a dlopen'ed library binds to them.
extern "C" {
unsigned long long ZSTD_trace_compress_begin(const void *) {
    hook_called("ZSTD_trace_compress_begin");
    return 1;  // nonzero: zstd would call the matching _end hook too
}
void ZSTD_trace_compress_end(unsigned long long, const void *) {
    hook_called("ZSTD_trace_compress_end");
}
unsigned long long ZSTD_trace_decompress_begin(const void *) {
    hook_called("ZSTD_trace_decompress_begin");
    return 1;
}
void ZSTD_trace_decompress_end(unsigned long long, const void *) {
    hook_called("ZSTD_trace_decompress_end");
}
}

int main(int argc, char **argv) {
    if (argc != 8) return 2;
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
    const int64_t start = std::atoll(argv[5]);
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    if (api->base_open(&p, &base) != SONDE_OK || api->clock_set(base, start) != SONDE_OK) return 5;
    sonde_diagnostics d{};
    d.struct_size = sizeof d;
    if (api->diagnostics(base, &d) != SONDE_OK) return 6;
    const uint64_t reloads = d.config_reloads;
    if (std::rename(argv[6], argv[7]) != 0) return 7;
    for (int waited = 0; d.config_reloads == reloads; waited += 20) {  // applied within ~1 s
        if (waited > 10000) return 8;
        const timespec ts{0, 20 * 1000 * 1000};
        nanosleep(&ts, nullptr);
        if (api->diagnostics(base, &d) != SONDE_OK) return 6;
    }
    if (api->clock_set(base, start) != SONDE_OK || api->writer_get(base, &w) != SONDE_OK) return 9;
    for (int i = 0; i < 7; ++i)
        if (api->count(w, SONDE_EV_MESSAGE_SENT, 1, 1) != SONDE_OK) return 9;
    if (api->clock_set(base, start + 3600) != SONDE_OK) return 9;  // the hour closed: due
    api->writer_release(w);
    api->base_close(base);  // clean shutdown: one more snapshot
    std::fprintf(stderr, "trace_host: %d hook call(s)\n", g_calls.load());
    return g_calls.load() == 0 ? 0 : 10;
}
