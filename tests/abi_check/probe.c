/* A stand-in for libsonde.so with the same two exported entry points, built by abidiff.sh
 * against variants of sonde.h: abidiff must pass the variants that only append and fail the
 * ones that break the ABI, with the suppressions CI applies to libsonde.so. */
#include <stddef.h>

#include "sonde.h"

static const sonde_magic magic = {sizeof(sonde_magic), SONDE_ABI_MAGIC, SONDE_ABI_MAJOR,
                                  SONDE_ABI_MINOR, 0};
static sonde_api api = {sizeof(sonde_api), SONDE_ABI_MAJOR, SONDE_ABI_MINOR};

__attribute__((visibility("default"))) const sonde_magic *sonde_abi_magic(void) { return &magic; }

__attribute__((visibility("default"))) const sonde_api *sonde_get_api(uint32_t abi_major,
                                                                      uint32_t min_minor) {
    return abi_major == SONDE_ABI_MAJOR && min_minor <= SONDE_ABI_MINOR ? &api : NULL;
}
