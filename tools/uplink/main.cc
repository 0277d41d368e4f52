// sonde-uplink: one per machine, beside the plugin. Uploads the spools of every base to the
// console (docs/delivery.md#the-uplink).
//   sonde-uplink --config /etc/sonde/uplink.conf [--once] [--log FILE]
// On Windows also (docs/windows.md#the-uplink-as-a-windows-service):
//   sonde-uplink.exe --service --config FILE [--log FILE]   (started by the service manager)
//   sonde-uplink.exe install --config FILE [--log FILE] [--account NAME]
//   sonde-uplink.exe uninstall

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "platform/arguments.hpp"
#include "service.hpp"
#include "uplink.hpp"

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int usage(std::ostream &out, int code) {
    out << "usage: sonde-uplink --config FILE [--once] [--log FILE]\n"
#ifdef _WIN32
           "       sonde-uplink install --config FILE [--log FILE] [--account NAME]\n"
           "       sonde-uplink uninstall\n"
           "       sonde-uplink --service --config FILE [--log FILE]  (the service manager's)\n"
#endif
           "Uploads the .sonde files of the configured spools to the console over HTTPS,\n"
           "deleting each only on a verified receipt. --once: upload what is there, then exit\n"
           "(1 if something is left). --log FILE: append the log lines there (default:\n"
           "stderr; as a Windows service, sonde-uplink.log beside the configuration file).\n"
#ifdef _WIN32
           "Ctrl+C, or the service's stop control: stop after the current upload.\n"
#else
           "SIGTERM or SIGINT: stop after the current upload.\n"
#endif
        ;
    return code;
}

struct Options {
    std::string config_path, log_path, account;
    bool once = false, service = false;
    enum { Run, Install, Uninstall } action = Run;
};

// The log: stderr, or a file appended to (a service has no console).
class Logger {
  public:
    bool open(const std::string &path) {
        // Through a path made from UTF-8, so that Windows opens it by its wide name.
        file_.open(std::filesystem::path(std::u8string(path.begin(), path.end())),
                   std::ios::app | std::ios::binary);
        return file_.is_open();
    }
    void line(const std::string &text) {
        std::lock_guard lock(mutex_);
        std::ostream &out = file_.is_open() ? static_cast<std::ostream &>(file_) : std::cerr;
        out << text << "\n";
        out.flush();
    }

  private:
    std::mutex mutex_;
    std::ofstream file_;
};

// The uplink proper, until `stop` says so (or once: `stop` is not used). Returns the exit status.
int run(const Options &options, Logger &log, sonde::uplink::StopWait *stop) {
    sonde::uplink::Config config;
    std::string error;
    if (!sonde::uplink::load_config(options.config_path, config, &error)) {
        log.line("sonde-uplink: " + error);
        return 2;
    }
    auto transport = sonde::uplink::make_curl_transport(config.transport, &error);
    if (!transport) {
        log.line("sonde-uplink: " + error);
        return 2;
    }
    std::mt19937_64 rng(std::random_device{}());
    sonde::uplink::Engine engine(
        config, *transport, [&] { return rng(); }, [&](const std::string &l) { log.line(l); });
    if (options.once) return engine.run_once(wall_ms()) ? 0 : 1;

    log.line("sonde-uplink: started, console " + config.transport.url + ", interval " +
             std::to_string(config.interval_ms / 60'000) + " min");
    for (;;) {
        const int64_t now = wall_ms();
        const int64_t next = engine.step(now);
        const int64_t wait = std::min<int64_t>(std::max<int64_t>(next - wall_ms(), 0), 3600'000);
        // wait == 0: drain without sleeping, but let a stop request in between two uploads.
        if (stop->wait(wait)) break;
    }
    engine.write_status(wall_ms(), true);
    log.line("sonde-uplink: stopped");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    const std::vector<std::string> args = sonde::platform::utf8_arguments(argc, argv);
    const size_t n = args.size();
    Options options;
    size_t i = 1;
    if (n > 1 && args[1] == "install") {
        options.action = Options::Install;
        i = 2;
    } else if (n > 1 && args[1] == "uninstall") {
        options.action = Options::Uninstall;
        i = 2;
    }
    for (; i < n; ++i) {
        const std::string &a = args[i];
        if (a == "--config" && i + 1 < n)
            options.config_path = args[++i];
        else if (a.rfind("--config=", 0) == 0)
            options.config_path = a.substr(9);
        else if (a == "--log" && i + 1 < n)
            options.log_path = args[++i];
        else if (a == "--account" && i + 1 < n && options.action == Options::Install)
            options.account = args[++i];
        else if (a == "--once" && options.action == Options::Run)
            options.once = true;
        else if (a == "--service" && options.action == Options::Run && sonde::uplink::kHasService)
            options.service = true;
        else if (a == "--help" || a == "-h")
            return usage(std::cout, 0);
        else
            return usage(std::cerr, 2);
    }
    if (options.action != Options::Run && !sonde::uplink::kHasService) return usage(std::cerr, 2);
    if (options.action == Options::Uninstall) return sonde::uplink::service_uninstall(std::cerr);
    if (options.config_path.empty() || (options.service && options.once))
        return usage(std::cerr, 2);
    if (options.action == Options::Install)
        return sonde::uplink::service_install(options.config_path, options.log_path,
                                              options.account, std::cerr);

    Logger log;
    std::string log_path = options.log_path;
    if (log_path.empty() && options.service) {
        const size_t slash = options.config_path.find_last_of("/\\");
        log_path =
            (slash == std::string::npos ? std::string(".") : options.config_path.substr(0, slash)) +
            "/sonde-uplink.log";
    }
    if (!log_path.empty() && !log.open(log_path)) {
        std::cerr << "sonde-uplink: cannot open the log " << log_path << "\n";
        if (!options.service) return 2;  // a service logs to stderr (nowhere) rather than stop
    }
    if (options.service)
        return sonde::uplink::service_run(
            [&](sonde::uplink::StopWait &stop) { return run(options, log, &stop); });
    // --once: the signals keep their default action (SIGTERM, Ctrl+C end it at once).
    if (options.once) return run(options, log, nullptr);
    std::unique_ptr<sonde::uplink::StopWait> stop = sonde::uplink::console_stop_wait();
    if (!stop) {
        log.line("sonde-uplink: cannot set up the stop signals");
        return 2;
    }
    return run(options, log, stop.get());
}
