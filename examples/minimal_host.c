/* A minimal host: load the plugin, open a base, record a few events. Build: see CMakeLists. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "sonde.h"

int main(int argc, char **argv) {
    const char *lib = argc > 1 ? argv[1] : "libsonde.so", *conf = argc > 2 ? argv[2] : "/etc/sonde";
    void *so = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    sonde_get_api_fn get_api = so ? (sonde_get_api_fn)dlsym(so, "sonde_get_api") : NULL;
    const sonde_api *api = get_api ? get_api(SONDE_ABI_MAJOR, SONDE_ABI_MINOR) : NULL;
    if (!api)
        return fprintf(stderr, "cannot load %s: %s\n", lib, so ? "ABI mismatch" : dlerror()), 1;

    sonde_open_params params;
    memset(&params, 0, sizeof params);
    params.struct_size = sizeof params;
    params.product = SONDE_PRODUCT_PRONOTE;
    params.base_id = "0310001A";
    params.config_dir = conf;
    sonde_base *base = NULL;
    sonde_writer *writer = NULL;
    int rc = api->base_open(&params, &base);
    if (rc >= 0) rc = api->writer_get(base, &writer);
    if (rc < 0) return fprintf(stderr, "sonde: %s\n", api->strerror(rc)), 1;

    rc = api->count(writer, SONDE_EV_MESSAGE_SENT, 0, 1); /* hot path: a few nanoseconds */

    /* ABI 1.2: resolve a counter once, then add inline (the cost of a plain increment). */
    sonde_counter polls;
    memset(&polls, 0, sizeof polls);
    polls.struct_size = sizeof polls;
    if (api->counter_get(writer, SONDE_EV_POLL_PUBLISHED, 0, &polls) >= 0)
        sonde_counter_add(&polls, 1);
    api->connection(writer, SONDE_PROFILE_GUARDIAN, SONDE_MEDIUM_MOBILE, SONDE_ACCESS_ENT,
                    "user-42", 7);
    printf("%s: message recorded: %s\n", api->version(), api->strerror(rc));
    api->writer_release(writer);
    api->base_close(base);
    return 0;
}
