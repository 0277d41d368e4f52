// A host for test_hang.cc whose file system can stop answering (hang_interpose.c). It loads the
// plugin with dlopen and obeys one command a line on stdin, answering one line on stdout:
//   open NAME CONFIG_DIR SHM_DIR BASE  -> "ok RC"            (base_open and writer_get)
//   count NAME N                       -> "ok RECORDED"      (N x count(message_sent))
//   probe NAME                         -> "ok enabled|disabled" (one count; recorded if enabled)
//   recorded NAME                      -> "ok RECORDED"      (counts that returned SONDE_OK)
//   close NAME                         -> "ok MILLISECONDS"  (writer_release and base_close)
//   exit                               -> exits with whatever is still open, without answering
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "sonde.h"

namespace {

struct Host {
    sonde_base *base = nullptr;
    sonde_writer *writer = nullptr;
    long recorded = 0;
};

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!so) return 3;
    auto get = reinterpret_cast<sonde_get_api_fn>(dlsym(so, "sonde_get_api"));
    const sonde_api *api = get ? get(SONDE_ABI_MAJOR, SONDE_ABI_MINOR) : nullptr;
    if (!api) return 4;
    std::map<std::string, Host> hosts;
    char line[4096];
    while (std::fgets(line, sizeof line, stdin)) {
        char cmd[16] = {}, name[16] = {}, a[1024] = {}, b[1024] = {}, c[64] = {};
        const int n = std::sscanf(line, "%15s %15s %1023s %1023s %63s", cmd, name, a, b, c);
        if (n < 1) continue;
        Host &h = hosts[name];
        std::string answer = "ok";
        if (!std::strcmp(cmd, "open") && n == 5) {
            sonde_open_params p{};
            p.struct_size = sizeof p;
            p.product = SONDE_PRODUCT_PRONOTE;
            p.config_dir = a;
            p.shm_dir = b;
            p.base_id = c;
            int rc = api->base_open(&p, &h.base);
            if (rc == SONDE_OK) rc = api->writer_get(h.base, &h.writer);
            answer += " " + std::to_string(rc);
        } else if (!std::strcmp(cmd, "count") && n == 3) {
            const long times = std::atol(a);
            for (long i = 0; i < times; ++i)
                h.recorded += api->count(h.writer, SONDE_EV_MESSAGE_SENT, 0, 1) == SONDE_OK;
            answer += " " + std::to_string(h.recorded);
        } else if (!std::strcmp(cmd, "probe")) {
            const int rc = api->count(h.writer, SONDE_EV_MESSAGE_SENT, 0, 1);
            h.recorded += rc == SONDE_OK;
            answer += rc == SONDE_OK ? " enabled" : " disabled";
        } else if (!std::strcmp(cmd, "recorded")) {
            answer += " " + std::to_string(h.recorded);
        } else if (!std::strcmp(cmd, "close")) {
            const auto start = std::chrono::steady_clock::now();
            api->writer_release(h.writer);
            api->base_close(h.base);
            const auto took = std::chrono::steady_clock::now() - start;
            answer +=
                " " +
                std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
        } else if (!std::strcmp(cmd, "exit")) {
            std::exit(0);
        } else {
            answer = "error " + std::string(line);
        }
        std::printf("%s\n", answer.c_str());
        std::fflush(stdout);
    }
    return 0;
}
