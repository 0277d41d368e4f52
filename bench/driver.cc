// sonde-bench-driver MODE N: records N events in a loop, for instruction counts under
// callgrind (bench/callgrind.sh). MODE is
//   count       api->count(writer, SONDE_EV_MESSAGE_SENT, 3, 1) on an enabled base
//   connection  api->connection(...) over UserPool's simulated days, clock_set to the next
//               day after each day's visits (that call is inside the loop, amortised)
//   plain       a relaxed load+store on a private std::atomic<int64_t> (the physical limit)
// Only sonde_bench_driver_loop is meant to be measured (callgrind --toggle-collect), and two
// values of N are subtracted so the setup cancels out.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "sonde_host.hpp"

namespace {

using sonde_bench::Visit;

enum class Mode { Count, Counter, Disabled, Connection, Plain };

struct Context {
    const sonde_api *api = nullptr;
    sonde_base *base = nullptr;
    sonde_writer *writer = nullptr;
    const sonde_bench::UserPool *pool = nullptr;
    sonde_counter counter{};
    alignas(64) std::atomic<int64_t> plain{0};
};

}  // namespace

extern "C" __attribute__((noinline)) int sonde_bench_driver_loop(Mode mode, uint64_t n,
                                                                 Context &c) {
    int failed = 0;
    switch (mode) {
        case Mode::Count:
            for (uint64_t i = 0; i < n; ++i)
                failed |= c.api->count(c.writer, SONDE_EV_MESSAGE_SENT, 3, 1);
            break;
        case Mode::Counter:
            for (uint64_t i = 0; i < n; ++i) {
                failed |= sonde_counter_add(&c.counter, 1);
                asm volatile("" ::: "memory");
            }
            break;
        case Mode::Disabled:
            for (uint64_t i = 0; i < n; ++i)
                failed |= c.api->count(c.writer, SONDE_EV_MESSAGE_SENT, 3, 1) ^ SONDE_DISABLED;
            break;
        case Mode::Connection: {
            const std::vector<Visit> &day = c.pool->day();
            uint64_t today = 0;
            for (uint64_t i = 0, next = 0; i < n; ++i) {
                const Visit &v = day[next];
                const std::string_view key = c.pool->key(v.user);
                failed |= c.api->connection(c.writer, v.profile, v.medium, v.access, key.data(),
                                            key.size());
                if (++next == day.size()) {
                    next = 0;
                    c.api->clock_set(c.base, sonde_bench::simulated_time(++today));
                }
            }
            break;
        }
        case Mode::Plain:
            for (uint64_t i = 0; i < n; ++i) {
                c.plain.store(c.plain.load(std::memory_order_relaxed) + 1,
                              std::memory_order_relaxed);
                asm volatile("" ::: "memory");
            }
            break;
    }
    return failed;
}

int main(int argc, char **argv) {
    const std::string_view m = argc == 3 ? argv[1] : "";
    const Mode mode = m == "count"        ? Mode::Count
                      : m == "counter"    ? Mode::Counter
                      : m == "disabled"   ? Mode::Disabled
                      : m == "connection" ? Mode::Connection
                                          : Mode::Plain;
    if (argc != 3 || (mode == Mode::Plain && m != "plain")) {
        std::fprintf(stderr, "usage: %s count|counter|disabled|connection|plain N\n", argv[0]);
        return 2;
    }
    const uint64_t n = std::strtoull(argv[2], nullptr, 10);
    Context c;
    int failed = 0;
    if (mode == Mode::Plain) {
        failed = sonde_bench_driver_loop(mode, n, c);
    } else {
        sonde_bench::SondeHost host;
        c.api = &host.api();
        c.base = mode == Mode::Disabled ? host.disabled() : host.enabled();
        c.writer = host.writer_for(c.base);
        c.pool = &sonde_bench::user_pool();
        c.counter.struct_size = sizeof c.counter;
        c.api->counter_get(c.writer, SONDE_EV_MESSAGE_SENT, 3, &c.counter);
        failed = sonde_bench_driver_loop(mode, n, c);
        c.api->writer_release(c.writer);
    }
    std::printf("%s: %llu events, %s\n", argv[1], static_cast<unsigned long long>(n),
                failed ? "SOME CALLS FAILED" : "all ok");
    return failed ? 1 : 0;
}
