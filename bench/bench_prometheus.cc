// prometheus-cpp, the usual in-process alternative: one registry, one counter family with the
// same labels as the sonde cell (event, level), shared by all threads as a server would.

#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

namespace sonde_bench {
namespace {

struct Prometheus {
    prometheus::Registry registry;
    prometheus::Family<prometheus::Counter> &family = prometheus::BuildCounter()
                                                          .Name("sonde_events_total")
                                                          .Help("Recorded events")
                                                          .Register(registry);
    prometheus::Counter &message_sent = family.Add({{"event", "message_sent"}, {"level", "3"}});
};

Prometheus &prom() {
    static Prometheus p;
    return p;
}

// The best case: the counter is resolved once, outside the loop.
void BM_PrometheusCounterPreresolved(benchmark::State &state) {
    prometheus::Counter &c = prom().message_sent;
    for (auto _ : state) c.Increment();
}

// The common case in code that does not cache handles: look the labels up on every event.
void BM_PrometheusFamilyAddPerEvent(benchmark::State &state) {
    prometheus::Family<prometheus::Counter> &family = prom().family;
    for (auto _ : state) family.Add({{"event", "message_sent"}, {"level", "3"}}).Increment();
}

BENCHMARK(BM_PrometheusCounterPreresolved)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_PrometheusFamilyAddPerEvent)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sonde_bench
