// Fuzzes the ABI as a careless host would call it: random entry points with random enums,
// levels, deltas, keys and handles. Every call must return a status; nothing may crash.
#include <cstdint>
#include <cstring>
#include <string>

#include "scratch.hpp"
#include "sonde.h"

extern "C" const sonde_api *sonde_get_api(uint32_t, uint32_t);

namespace {
struct Input {
    const uint8_t *p;
    size_t n;
    template <typename T>
    T take() {
        T v{};
        const size_t k = n < sizeof v ? n : sizeof v;
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const sonde_api *api = sonde_get_api(SONDE_ABI_MAJOR, SONDE_ABI_MINOR);
    static sonde_base *base = [] {
        static const std::string dir = sonde::fuzz::scratch_dir("sonde-fuzz-abi-");
        FILE *f = std::fopen((dir + "/0310001A.conf").c_str(), "w");
        std::fputs("[base]\nenabled = true\nsecret = 00112233445566778899aabbccddeeff\n", f);
        std::fclose(f);
        sonde_open_params p{};
        p.struct_size = sizeof p;
        p.product = SONDE_PRODUCT_PRONOTE;
        p.base_id = "0310001A";
        p.config_dir = dir.c_str();
        p.shm_dir = dir.c_str();
        sonde_base *b = nullptr;
        api->base_open(&p, &b);
        return b;
    }();
    static sonde_writer *writer = [] {
        sonde_writer *w = nullptr;
        api->writer_get(base, &w);
        return w;
    }();
    Input in{data, size};
    while (in.n > 0) {
        const uint8_t op = in.take<uint8_t>();
        const uint32_t a = in.take<uint32_t>() % 40, b = in.take<uint32_t>() % 40,
                       c = in.take<uint32_t>() % 5;
        const int64_t delta = in.take<int64_t>();
        const uint8_t key_len = in.take<uint8_t>();
        const size_t len = key_len < in.n ? key_len : in.n;
        const void *key = len ? in.p : nullptr;
        sonde_writer *w = (op & 0x80)
                              ? reinterpret_cast<sonde_writer *>(const_cast<uint8_t *>(in.p))
                              : writer;  // sometimes garbage
        switch (op & 0x7) {
            case 0:
                api->count(w, a, b, delta);
                break;
            case 1:
                api->connection(w, a % 8, b % 5, c, key, len);
                break;
            case 2:
                api->student(w, a % 10, key, len, b, delta);
                break;
            case 3:
                api->gauge_set(base, a, b, delta);
                break;
            case 4: {
                std::string label(static_cast<const char *>(key ? key : ""), len);
                api->level_declare(base, a, label.c_str());
                break;
            }
            case 5: {
                sonde_diagnostics d{};
                d.struct_size = uint32_t(delta & 0xff);
                api->diagnostics((op & 0x40) ? base : nullptr, &d);
                break;
            }
            case 6:
                api->clock_set(base, delta % 4000000000LL);
                break;
            default:
                api->strerror(int(delta));
                break;
        }
        in.p += len;
        in.n -= len;
    }
    return 0;
}
