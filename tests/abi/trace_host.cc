// A host that defines zstd's tracing hooks, as a host built with its own zstd and tracing
// (ZSTD_TRACE) does. The plugin's private zstd must never call them: they would run the host's
// code, with the plugin's contexts, from inside the shipper. It also links its own copies of
// zstd, mbedTLS and protobuf (interpose_stubs.c: the names the plugin uses inside, counting
// their calls), loads the plugin with RTLD_GLOBAL, and checks that the plugin's compression,
// hashing and sealing never reach them while its own calls do. Run as:
//   sonde_abi_trace_host PLUGIN CONFIG_DIR SHM_DIR BASE START NEW_CONFIG CONFIG_PATH
// Opens the base on a manual clock at START, turns snapshots on by renaming NEW_CONFIG to
// CONFIG_PATH, records, moves the clock one hour on (a snapshot is due) and closes the base
// (one more snapshot). Exit status: 0 if no hook ran, 10 if any did, 11 if the plugin called
// one of the host's copies, 12 if the host's own call did not reach its copy or the plugin
// exports one of those names, other values on setup errors.
#include <dlfcn.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "sonde.h"

// The host's copies (interpose_stubs.c), with their real prototypes.
extern "C" {
unsigned long sonde_test_stub_calls(void);
unsigned ZSTD_versionNumber(void);
int mbedtls_sha256(const unsigned char *input, size_t len, unsigned char *out, int is224);
}
namespace google::protobuf::internal {
struct LogMessage {
    void Finish();
};
}  // namespace google::protobuf::internal

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
    // RTLD_GLOBAL: the plugin's symbols join the global scope, the worst case for a clash.
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
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
    if (g_calls.load() != 0) return 10;
    // The plugin compressed, hashed and sealed a snapshot (the test checks the spool): none of
    // it reached the host's copies.
    const unsigned long by_plugin = sonde_test_stub_calls();
    std::fprintf(stderr, "trace_host: %lu call(s) of the host's copies by the plugin\n", by_plugin);
    if (by_plugin != 0) return 11;
    // The host's own calls reach its copies (the markers), not the plugin's, which it does not
    // export even into the global scope.
    unsigned char digest[32] = {0};
    google::protobuf::internal::LogMessage message;
    const bool zstd_own = ZSTD_versionNumber() == 0x5AFE;
    const bool sha_own =
        mbedtls_sha256(reinterpret_cast<const unsigned char *>("abc"), 3, digest, 0) == 0x5AFE &&
        digest[0] == 0x5A;
    message.Finish();
    const bool all_three = sonde_test_stub_calls() == 3;
    const bool hidden = !dlsym(so, "ZSTD_versionNumber") && !dlsym(so, "mbedtls_sha256") &&
                        !dlsym(so, "ZSTD_compress");
    std::fprintf(stderr, "trace_host: host's zstd %d, mbedtls %d, 3 calls %d, plugin hides %d\n",
                 zstd_own, sha_own, all_three, hidden);
    return zstd_own && sha_own && all_three && hidden ? 0 : 12;
}
