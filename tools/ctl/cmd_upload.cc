// `sonde-ctl upload SPOOL_DIR... --url URL (--pin PIN | --ca FILE) [--proxy URL]`: runs the
// uplink's engine once (docs/delivery.md#the-uplink), for an operator who flushes a spool by
// hand. Exit 0 when every file left with a verified receipt, 1 when something is left or set
// aside, 2 on a usage error.

#include <chrono>
#include <random>

#include "args.hpp"
#include "command.hpp"
#include "uplink.hpp"

namespace sonde::ctl {
namespace {

using enum ValueKind;
constexpr OptionSpec kUploadOptions[] = {
    {"url", "URL", "the console, https://host[:port]", Text},
    {"pin", "sha256//BASE64", "pinned public key of the console (SHA-256 of its SPKI)", Text},
    {"ca", "FILE", "CA file (PEM) that signs the console's certificate", Path},
    {"proxy", "URL", "HTTP proxy (CONNECT), http://[user:password@]host:port", Text},
    {"connect-timeout", "SECONDS", "connect timeout (default 10)", Number, 1, 300},
    {"transfer-timeout", "SECONDS", "timeout of one upload (default 120)", Number, 1, 3600},
    {"quiet", "", "print only the summary", Text},
};

}  // namespace

int cmd_upload(const Args &args, Io io) {
    auto parsed = parse_args(args, kUploadOptions, io.err);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out << "usage: sonde-ctl upload SPOOL_DIR... --url URL (--pin PIN | --ca FILE) "
                  "[--proxy URL]\n"
                  "Uploads every complete .sonde file of the spools once, newest first then "
                  "oldest first,\ndeleting a file only on a verified receipt; rejected files go "
                  "to SPOOL_DIR/rejected/.\nExit 0: everything delivered; 1: something is left "
                  "or was set aside.\n\n"
               << options_help(kUploadOptions);
        return kExitOk;
    }
    if (parsed->positional.empty() || !parsed->has("url") ||
        (!parsed->has("pin") && !parsed->has("ca"))) {
        io.err << "sonde-ctl: upload takes SPOOL_DIR..., --url and --pin or --ca (see --help)\n";
        return kExitUsage;
    }
    uplink::Config config;
    config.transport.url = parsed->get("url");
    config.transport.pin = parsed->get("pin");
    config.transport.ca_file = parsed->get("ca");
    config.transport.proxy = parsed->get("proxy");
    config.transport.connect_timeout_ms = int64_t(parsed->number("connect-timeout", 10)) * 1000;
    config.transport.transfer_timeout_ms = int64_t(parsed->number("transfer-timeout", 120)) * 1000;
    config.spool_dirs = parsed->positional;
    std::string error;
    auto transport = uplink::make_curl_transport(config.transport, &error);
    if (!transport) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitUsage;
    }
    const bool quiet = parsed->has("quiet");
    std::mt19937_64 rng(std::random_device{}());
    uplink::Engine engine(
        config, *transport, [&] { return rng(); },
        [&](const std::string &line) {
            if (!quiet) io.err << line << "\n";
        });
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const bool clean = engine.run_once(now);
    for (const auto &[key, b] : engine.bases()) {
        io.out << b.uai << " " << b.spool_dir << ":";
        for (size_t o = 0; o < size_t(uplink::Outcome::Count_); ++o)
            if (b.counts[o])
                io.out << " " << uplink::outcome_name(uplink::Outcome(o)) << "=" << b.counts[o];
        io.out << ", left " << b.backlog.files << " files\n";
    }
    return clean ? kExitOk : kExitFailure;
}

}  // namespace sonde::ctl
