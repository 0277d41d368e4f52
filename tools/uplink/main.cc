// sonde-uplink: one per machine, beside the plugin. Uploads the spools of every base to the
// console (docs/delivery.md#the-uplink).
//   sonde-uplink --config /etc/sonde/uplink.conf [--once]

#include <signal.h>
#include <time.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>

#include "uplink.hpp"

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int usage(std::ostream &out, int code) {
    out << "usage: sonde-uplink --config FILE [--once]\n"
           "Uploads the .sonde files of the configured spools to the console over HTTPS,\n"
           "deleting each only on a verified receipt. --once: upload what is there, then exit\n"
           "(1 if something is left). SIGTERM or SIGINT: stop after the current upload.\n";
    return code;
}

}  // namespace

int main(int argc, char **argv) {
    std::string config_path;
    bool once = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--config" && i + 1 < argc)
            config_path = argv[++i];
        else if (a.rfind("--config=", 0) == 0)
            config_path = a.substr(9);
        else if (a == "--once")
            once = true;
        else if (a == "--help" || a == "-h")
            return usage(std::cout, 0);
        else
            return usage(std::cerr, 2);
    }
    if (config_path.empty()) return usage(std::cerr, 2);
    sonde::uplink::Config config;
    std::string error;
    if (!sonde::uplink::load_config(config_path, config, &error)) {
        std::cerr << "sonde-uplink: " << error << "\n";
        return 2;
    }
    auto transport = sonde::uplink::make_curl_transport(config.transport, &error);
    if (!transport) {
        std::cerr << "sonde-uplink: " << error << "\n";
        return 2;
    }
    std::mt19937_64 rng(std::random_device{}());
    sonde::uplink::Engine engine(
        config, *transport, [&] { return rng(); },
        [](const std::string &line) { std::cerr << line << std::endl; });
    if (once) return engine.run_once(wall_ms()) ? 0 : 1;

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::cerr << "sonde-uplink: started, console " << config.transport.url << ", interval "
              << config.interval_ms / 60'000 << " min" << std::endl;
    for (;;) {
        const int64_t now = wall_ms();
        const int64_t next = engine.step(now);
        const int64_t wait = std::min<int64_t>(std::max<int64_t>(next - wall_ms(), 0), 3600'000);
        if (wait == 0) {
            // Drain without sleeping, but let a stop request in between two uploads.
            timespec zero{0, 0};
            if (sigtimedwait(&stop_signals, nullptr, &zero) > 0) break;
            continue;
        }
        timespec ts{time_t(wait / 1000), long(wait % 1000) * 1'000'000};
        const int sig = sigtimedwait(&stop_signals, nullptr, &ts);
        if (sig > 0) break;
    }
    engine.write_status(wall_ms(), true);
    std::cerr << "sonde-uplink: stopped" << std::endl;
    return 0;
}
