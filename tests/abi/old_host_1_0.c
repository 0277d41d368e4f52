/* A host built against the 1.0 header (v1_0/sonde.h, vendored with its origin) and only it:
 * today's library must serve it unchanged (sonde.h's versioning rules). Run as
 *   sonde_abi_old_host PLUGIN CONFIG_DIR SHM_DIR BASE
 * on an enabled base; test_old_host.cc reads back what it recorded. Exit status 0 when every
 * call behaved as 1.0 documents, else the number of the failed step. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "sonde.h"

#if SONDE_ABI_MAJOR != 1 || SONDE_ABI_MINOR != 0
#error "this host must be built against the 1.0 header"
#endif

/* The 1.0 diagnostics followed by a canary: the library must write none of it (struct_size). */
struct diag_and_canary {
    sonde_diagnostics d;
    unsigned char canary[64];
};

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) return fprintf(stderr, "old host: %s\n", dlerror()), 3;
    sonde_abi_magic_fn magic_fn = (sonde_abi_magic_fn)dlsym(so, "sonde_abi_magic");
    sonde_get_api_fn get_api = (sonde_get_api_fn)dlsym(so, "sonde_get_api");
    if (!magic_fn || !get_api) return 4;
    const sonde_magic *magic = magic_fn();
    if (magic->magic != SONDE_ABI_MAGIC || magic->abi_major != SONDE_ABI_MAJOR) return 5;
    const sonde_api *api = get_api(SONDE_ABI_MAJOR, SONDE_ABI_MINOR);
    if (!api || api->struct_size < sizeof(sonde_api) || api->abi_major != 1) return 6;
    if (get_api(SONDE_ABI_MAJOR + 1, 0) != NULL) return 7; /* another major is refused */

    sonde_open_params params;
    memset(&params, 0, sizeof params);
    params.struct_size = sizeof params;
    params.product = SONDE_PRODUCT_PRONOTE;
    params.base_id = argv[4];
    params.config_dir = argv[2];
    params.shm_dir = argv[3];
    sonde_base *base = NULL;
    sonde_writer *writer = NULL;
    if (api->base_open(&params, &base) != SONDE_OK) return 8;
    if (api->writer_get(base, &writer) != SONDE_OK) return 9;
    if (api->level_declare(base, 1, "6EME") != SONDE_OK) return 10;
    for (int i = 0; i < 5; ++i)
        if (api->count(writer, SONDE_EV_MESSAGE_SENT, 1, 1) != SONDE_OK) return 11;
    if (api->count(writer, SONDE_EV_MESSAGE_SENT, 0, 2) != SONDE_OK) return 11;
    if (api->connection(writer, SONDE_PROFILE_STUDENT, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT,
                        "pupil-1", 7) != SONDE_OK)
        return 12;
    if (api->student(writer, SONDE_TALLY_ABSENCE_HALF_DAY, "pupil-1", 7, 1, 3) != SONDE_OK)
        return 13;
    if (api->gauge_set(base, SONDE_GAUGE_CLASSES, 0, 12) != SONDE_OK) return 14;
    /* Misuse is still an error code, never fatal: 0 is never a valid enum value. */
    if (api->count(writer, 0, 0, 1) != SONDE_E_RANGE) return 15; /* 0 is never valid */

    struct diag_and_canary dc;
    memset(&dc, 0xAB, sizeof dc);
    dc.d.struct_size = sizeof dc.d;
    if (api->diagnostics(base, &dc.d) != SONDE_OK) return 16;
    if (dc.d.enabled != 1 || dc.d.out_of_range != 1 || dc.d.null_argument != 0) return 17;
    for (size_t i = 0; i < sizeof dc.canary; ++i)
        if (dc.canary[i] != 0xAB) return 18; /* written past the 1.0 struct */

    printf("old host 1.0: %s, ok\n", api->version());
    if (api->writer_release(writer) != SONDE_OK) return 19;
    if (api->base_close(base) != SONDE_OK) return 20;
    return 0;
}
