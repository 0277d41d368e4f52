// The plugin's recording calls, through the function table of the dlopen'ed libsonde.so, the
// way a school server calls them: one writer per thread, got in the thread, released at the end.

#include <benchmark/benchmark.h>

#include <atomic>

#include "sonde_host.hpp"

namespace sonde_bench {
namespace {

constexpr uint32_t kLevel = 3;  // a declared class level; message_sent is counted per level

// Number of the simulated day the enabled base believes it is (see SondeHost's constructor).
std::atomic<uint64_t> g_day{0};

void BM_SondeCount(benchmark::State &state) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    sonde_writer *w = h.writer_for(h.enabled());
    int failed = 0;
    for (auto _ : state) failed |= api.count(w, SONDE_EV_MESSAGE_SENT, kLevel, 1);
    api.writer_release(w);
    if (failed != SONDE_OK) state.SkipWithError("count did not return SONDE_OK");
}

// ABI 1.2: the counter resolved once with counter_get, then the header's inline
// sonde_counter_add() per event. The counter lives in the thread's memory, as a host keeps it
// in its per-thread context; ClobberMemory makes every iteration reload it, like
// BM_PlainIncrement reloads its counter.
void BM_SondeCounterInline(benchmark::State &state) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    sonde_writer *w = h.writer_for(h.enabled());
    sonde_counter c{};
    c.struct_size = sizeof c;
    int failed = api.counter_get(w, SONDE_EV_MESSAGE_SENT, kLevel, &c);
    benchmark::DoNotOptimize(&c);
    for (auto _ : state) {
        failed |= sonde_counter_add(&c, 1);
        benchmark::ClobberMemory();
    }
    api.writer_release(w);
    if (failed != SONDE_OK) state.SkipWithError("sonde_counter_add did not return SONDE_OK");
}

// The same inline counter on a disabled base: adds go to the writer's sink.
void BM_SondeCounterInlineDisabled(benchmark::State &state) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    sonde_writer *w = h.writer_for(h.disabled());
    sonde_counter c{};
    c.struct_size = sizeof c;
    int failed = api.counter_get(w, SONDE_EV_MESSAGE_SENT, kLevel, &c) ^ SONDE_DISABLED;
    benchmark::DoNotOptimize(&c);
    for (auto _ : state) {
        failed |= sonde_counter_add(&c, 1) ^ SONDE_DISABLED;
        benchmark::ClobberMemory();
    }
    api.writer_release(w);
    if (failed) state.SkipWithError("inline add on a disabled base did not return SONDE_DISABLED");
}

// A disabled base: writer_get succeeds, every call returns SONDE_DISABLED.
void BM_SondeDisabled(benchmark::State &state) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    sonde_writer *w = h.writer_for(h.disabled());
    int failed = 0;
    for (auto _ : state) failed |= api.count(w, SONDE_EV_MESSAGE_SENT, kLevel, 1) ^ SONDE_DISABLED;
    api.writer_release(w);
    if (failed) state.SkipWithError("count on a disabled base did not return SONDE_DISABLED");
}

// One simulated school day of connections (UserPool: 4,000 users, each a few times, shuffled),
// shared out among the threads (thread t takes visits t, t+T, t+2T...). When thread 0 has done
// its share of the day it moves the base's clock to the next day with clock_set, outside the
// timing, so every day starts with empty distinct-user marks: the first visit of a user in a
// day (and the first with each new medium) sets a bit with a CAS; the next ones find it set.
// Replays the simulated days of visits, `record(writer, visit)` per iteration; thread 0 moves
// the base to the next day (outside the timing) when its share of a day is done.
template <typename Record>
void replay_visits(benchmark::State &state, const char *what, Record record) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    const std::vector<Visit> &day = user_pool().day();
    const size_t threads = size_t(state.threads()), per_day = day.size() / threads;
    sonde_writer *w = h.writer_for(h.enabled());
    size_t next = size_t(state.thread_index()), done_today = 0;
    int failed = 0;
    for (auto _ : state) {
        failed |= record(w, day[next]);
        if ((next += threads) >= day.size()) next -= day.size();
        if (++done_today == per_day) {
            done_today = 0;
            if (state.thread_index() == 0) {
                state.PauseTiming();
                api.clock_set(h.enabled(), simulated_time(g_day.fetch_add(1) + 1));
                state.ResumeTiming();
            }
        }
    }
    api.writer_release(w);
    if (failed != SONDE_OK) state.SkipWithError(what);
}

void BM_SondeConnection(benchmark::State &state) {
    const sonde_api &api = host().api();
    const UserPool &pool = user_pool();
    replay_visits(
        state, "connection did not return SONDE_OK", [&](sonde_writer *w, const Visit &v) {
            const std::string_view key = pool.key(v.user);
            return api.connection(w, v.profile, v.medium, v.access, key.data(), key.size());
        });
}

// The same workload through the 1.1 token path: each user's key is hashed once with
// user_token (before the timing, as a host does when it loads the user), then every visit is
// connection_token: distinct-user counting included, the keyed hash excluded.
void BM_SondeConnectionToken(benchmark::State &state) {
    const SondeHost &h = host();
    const sonde_api &api = h.api();
    const UserPool &pool = user_pool();
    static const std::vector<uint64_t> tokens = [&] {
        std::vector<uint64_t> t;
        for (uint32_t u = 0; u < UserPool::kUsers; ++u) {
            const std::string_view key = pool.key(u);
            uint64_t token = 0;
            api.user_token(h.enabled(), key.data(), key.size(), &token);
            t.push_back(token);
        }
        return t;
    }();
    replay_visits(state, "connection_token did not return SONDE_OK",
                  [&](sonde_writer *w, const Visit &v) {
                      return api.connection_token(w, v.profile, v.medium, v.access, tokens[v.user]);
                  });
}

BENCHMARK(BM_SondeCount)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SondeConnection)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SondeConnectionToken)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SondeDisabled)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SondeCounterInline)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SondeCounterInlineDisabled)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sonde_bench
