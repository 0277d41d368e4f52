// The physical limit of a counter event: what the plugin's hot path does to a cell it owns (a
// relaxed load and a relaxed store, no lock prefix), on a counter private to the thread.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>

namespace sonde_bench {
namespace {

// 128 bytes apart: each thread's counter on its own cache line, and its own pair of lines for
// the adjacent-line prefetcher.
struct alignas(128) PrivateCounter {
    std::atomic<int64_t> value{0};
};
PrivateCounter g_counters[64];

void BM_PlainIncrement(benchmark::State &state) {
    std::atomic<int64_t> &c = g_counters[state.thread_index() % 64].value;
    for (auto _ : state) {
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(c);
}

BENCHMARK(BM_PlainIncrement)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sonde_bench
