// SipHash-2-4 alone, as connection() and student() compute it for a raw key before touching the
// tables (issue 6, section 2: connection with a raw key ≤ 30 ns). Keys of 8, 16 and 36 bytes:
// the 17-byte keys of the connection workload sit between the first two.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

#include "core/siphash.hpp"

namespace sonde_bench {
namespace {

void BM_SipHash(benchmark::State &state) {
    unsigned char key[64];
    for (size_t i = 0; i < sizeof key; ++i) key[i] = static_cast<unsigned char>('A' + i % 26);
    const sonde::SipKey secret{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    size_t len = static_cast<size_t>(state.range(0));
    unsigned char *p = key;
    for (auto _ : state) {
        // The key bytes and the length are opaque each time, as they are at the call site:
        // nothing is hoisted out of the loop, and independent hashes may overlap (throughput).
        benchmark::DoNotOptimize(p);
        benchmark::DoNotOptimize(len);
        uint64_t h = sonde::siphash24(secret, p, len);
        benchmark::DoNotOptimize(h);
    }
    state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

BENCHMARK(BM_SipHash)->Arg(8)->Arg(16)->Arg(36);

}  // namespace
}  // namespace sonde_bench
