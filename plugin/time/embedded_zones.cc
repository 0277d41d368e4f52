#include "time/embedded_zones.hpp"

#include <zstd.h>

#include <new>

namespace sonde::time::embedded {

bool find(std::string_view name, std::vector<unsigned char> &out) {
    for (const Zone &z : zones()) {
        if (name != z.name) continue;
        try {
            out.resize(z.raw_size);
        } catch (const std::bad_alloc &) {
            return false;
        }
        const size_t n = ZSTD_decompress(out.data(), out.size(), z.data, z.size);
        if (ZSTD_isError(n) || n != z.raw_size) {
            out.clear();
            return false;
        }
        return true;
    }
    return false;
}

}  // namespace sonde::time::embedded
