// A separate host process for the cross-process tests: loads the plugin with dlopen (LoadLibrary
// on Windows), opens the base and records a known pattern. The tests start it through
// tests/abi/host_process.hpp on both systems. Run as (see also run_until, replay and ship below):
//   sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE count N LEVEL   -> N x count(message_sent,
//   LEVEL) sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE hold N          -> records N, prints
//   "ready", sleeps sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE exit N          -> records N,
//   exits with the base open
#if defined(_WIN32)
#include <windows.h>
// After windows.h.
#include <shellapi.h>
#else
#include <dlfcn.h>
#include <unistd.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "sonde.h"

namespace {

// Portable bits (the Windows tests run this child under Wine too: tests/windows).
long process_id() {
#if defined(_WIN32)
    return long(GetCurrentProcessId());
#else
    return long(::getpid());
#endif
}

#if defined(_WIN32)
std::wstring wide_of(const std::string &utf8) {
    const int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), int(utf8.size()), nullptr, 0);
    std::wstring w(size_t(n > 0 ? n : 0), L'\0');
    if (n > 0) MultiByteToWideChar(CP_UTF8, 0, utf8.data(), int(utf8.size()), w.data(), n);
    return w;
}
#endif

// The arguments in UTF-8, the encoding sonde.h asks of every path: on Windows from the wide
// command line (argv is in the ANSI code page), as a real host would do.
std::vector<std::string> utf8_arguments(int argc, char **argv) {
#if defined(_WIN32)
    int n = 0;
    wchar_t **wide = CommandLineToArgvW(GetCommandLineW(), &n);
    if (wide && n == argc) {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) {
            const int len =
                WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, nullptr, 0, nullptr, nullptr);
            std::string a(size_t(len > 1 ? len - 1 : 0), '\0');
            if (len > 1)
                WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, a.data(), len, nullptr, nullptr);
            out.push_back(std::move(a));
        }
        LocalFree(wide);
        return out;
    }
    if (wide) LocalFree(wide);
#endif
    return std::vector<std::string>(argv, argv + argc);
}

const sonde_api *load_api(const char *path) {
#if defined(_WIN32)
    HMODULE so = LoadLibraryW(wide_of(path).c_str());
    auto get = so ? reinterpret_cast<sonde_get_api_fn>(
                        reinterpret_cast<void *>(GetProcAddress(so, "sonde_get_api")))
                  : nullptr;
#else
    void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    auto get = so ? reinterpret_cast<sonde_get_api_fn>(dlsym(so, "sonde_get_api")) : nullptr;
#endif
    return get ? get(SONDE_ABI_MAJOR, SONDE_ABI_MINOR) : nullptr;
}

// sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE run THREADS STOP_FILE
// THREADS threads, each with its own writer, record message_sent and a student tally
// (absence_half_day, 256 students per thread) until STOP_FILE exists; one more thread records
// the same through the first thread's writer (another thread's writer: the shared row). Prints
// "ready" once every thread records, then "SENT TALLIES" (the calls that returned SONDE_OK).
int run_until(const sonde_api *api, sonde_base *base, int threads, const char *stop_file) {
    std::atomic<bool> stop{false};
    std::atomic<long> sent{0}, tallies{0};
    std::atomic<int> started{0};
    std::atomic<sonde_writer *> first{nullptr};
    auto record = [&](sonde_writer *w, const std::string &prefix) {
        long s = 0, t = 0;
        for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
            s += api->count(w, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK;
            const std::string key = prefix + std::to_string(i % 256);
            t += api->student(w, SONDE_TALLY_ABSENCE_HALF_DAY, key.data(), key.size(), 0, 1) ==
                 SONDE_OK;
        }
        sent += s;
        tallies += t;
    };
    std::vector<std::thread> owners;
    for (int k = 0; k < threads; ++k)
        owners.emplace_back([&, k] {
            sonde_writer *w = nullptr;
            if (api->writer_get(base, &w) != SONDE_OK) std::_Exit(7);
            if (k == 0) first = w;
            ++started;
            record(w, "S" + std::to_string(process_id()) + "-" + std::to_string(k) + "-");
            while (k == 0 && started.load() != -1) std::this_thread::yield();  // foreign done
            api->writer_release(w);
        });
    while (!first.load()) std::this_thread::yield();
    std::thread foreign([&] {
        ++started;
        record(first.load(), "F" + std::to_string(process_id()) + "-");
    });
    while (started.load() != threads + 1) std::this_thread::yield();
    std::printf("ready\n");
    std::fflush(stdout);
    const std::string stop_name(stop_file);  // UTF-8: the path is made from its u8string
    const std::filesystem::path stop_path(std::u8string(stop_name.begin(), stop_name.end()));
    while (!std::filesystem::exists(stop_path))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    foreign.join();
    started = -1;
    for (auto &t : owners) t.join();
    api->base_close(base);
    std::printf("%ld %ld\n", sent.load(), tallies.load());
    std::fflush(stdout);
    return 0;
}

// sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE replay START STEPS
// For STEPS steps, moves its own manual clock (from START, 15 minutes a step) and counts one
// message_sent at level 1. Every clock_set is a shipper step, so whoever is elected latches and
// ships as it goes. Exits 0, or 4 (a clock_set refused) or 5 (a count refused).
int replay(const sonde_api *api, sonde_base *base, long long start, int steps) {
    sonde_writer *w = nullptr;
    if (api->writer_get(base, &w) != SONDE_OK) return 3;
    int rc = 0;
    for (int i = 0; i < steps; ++i) {
        if (api->clock_set(base, start + i * 900LL) != SONDE_OK) rc = 4;
        if (api->count(w, SONDE_EV_MESSAGE_SENT, 1, 1) != SONDE_OK) rc = 5;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    api->writer_release(w);
    api->base_close(base);
    return rc;
}

// sonde_abi_child PLUGIN CONFIG_DIR SHM_DIR BASE ship FIRST THEN
// Sets its clock to FIRST (its first shipper step: elected if nobody ships), prints "ready",
// waits for a line on stdin, sets its clock to THEN (unless 0) and closes the base (the final
// snapshot of a shipper).
int ship(const sonde_api *api, sonde_base *base, long long first, long long then) {
    if (api->clock_set(base, first) != SONDE_OK) return 4;
    std::printf("ready\n");
    std::fflush(stdout);
    char line[64];
    if (!std::fgets(line, sizeof line, stdin)) return 5;
    if (then != 0 && api->clock_set(base, then) != SONDE_OK) return 6;
    api->base_close(base);
    return 0;
}

}  // namespace

int main(int argc, char **raw_argv) {
    if (argc < 7) return 2;
    std::vector<std::string> args = utf8_arguments(argc, raw_argv);
    std::vector<char *> pointers;
    for (std::string &a : args) pointers.push_back(a.data());
    char **argv = pointers.data();
    const sonde_api *api = load_api(argv[1]);
    if (!api) return 4;
    sonde_open_params p{};
    p.struct_size = sizeof p;
    p.product = SONDE_PRODUCT_PRONOTE;
    p.config_dir = argv[2];
    p.shm_dir = argv[3];
    p.base_id = argv[4];
    sonde_base *base = nullptr;
    sonde_writer *w = nullptr;
    if (api->base_open(&p, &base) != SONDE_OK) return 5;
    if (std::strcmp(argv[5], "run") == 0 && argc > 7)
        return run_until(api, base, std::atoi(argv[6]), argv[7]);
    if (std::strcmp(argv[5], "replay") == 0 && argc > 7)
        return replay(api, base, std::atoll(argv[6]), std::atoi(argv[7]));
    if (std::strcmp(argv[5], "ship") == 0 && argc > 7)
        return ship(api, base, std::atoll(argv[6]), std::atoll(argv[7]));
    if (api->writer_get(base, &w) != SONDE_OK) return 5;
    const long n = std::atol(argv[6]);
    const uint32_t level = argc > 7 ? uint32_t(std::atoi(argv[7])) : 0;
    for (long i = 0; i < n; ++i)
        if (api->count(w, SONDE_EV_MESSAGE_SENT, level, 1) != SONDE_OK) return 6;
    if (std::strcmp(argv[5], "exit") == 0) return 0;  // exit with the base open, no release
    if (std::strcmp(argv[5], "hold") == 0) {
        std::printf("ready\n");
        std::fflush(stdout);
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    api->writer_release(w);
    api->base_close(base);
    return 0;
}
