// sonde-bench: Google Benchmark's main, plus closing the plugin's bases (which stops its
// watcher thread and removes the temporary directory) before the process exits.

#include <benchmark/benchmark.h>

#include "sonde_host.hpp"

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    sonde_bench::shutdown_host();
    return 0;
}
