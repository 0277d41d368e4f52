// Dispatch of `sonde-ctl COMMAND ...`.

#include <fstream>
#include <string>
#include <string_view>

#include "catalog_layout.hpp"
#include "command.hpp"
#include "shm/layout.hpp"
#include "sonde.h"
#include "sonde_version.h"
#include "text.hpp"
#include "time/timezone.hpp"

namespace sonde::ctl {
namespace {

struct Command {
    std::string_view name;
    int (*run)(const Args &, Io);
    std::string_view summary;
};

constexpr Command kCommands[] = {
    {"enable", cmd_enable, "enable statistics for a base (writes its configuration and secret)"},
    {"disable", cmd_disable, "stop recording for a base (keeps its configuration)"},
    {"status", cmd_status, "list segments, configured bases and leftovers"},
    {"dump", cmd_dump, "print every indicator of a base (table, JSON or OpenMetrics)"},
    {"keygen", cmd_keygen, "create a key pair for the snapshot channel"},
    {"open", cmd_open, "verify, decrypt and print snapshots as JSON (the console's reading side)"},
    {"audit", cmd_audit, "look for small Social counts derivable from a base's snapshots"},
    {"upload", cmd_upload, "upload spools to the console once (what sonde-uplink does)"},
};

void usage(std::ostream &out) {
    out << "usage: sonde-ctl COMMAND [ARGS] (sonde-ctl COMMAND --help for details)\n\ncommands:\n";
    for (const Command &c : kCommands) {
        std::string name(c.name);
        name.resize(10, ' ');
        out << "  " << name << c.summary << "\n";
    }
    out << "\noptions:\n"
           "  --help      this list\n"
           "  --version   the versions of the tool, of the library code it reads segments\n"
           "              with, of the ABI, the catalogue and the tzdata\n"
           "\nexit codes: 0 ok, 1 failure, 2 usage error\n";
}

// The tzdata release of a zoneinfo folder: tzdata.zi's first line, "# version 2025b".
std::string tzdata_version(const std::string &dir) {
    if (dir == time::kEmbeddedZoneinfo)
        return std::string(time::embedded_tzdata_version()) + " (embedded)";
    std::ifstream in(dir + "/tzdata.zi");
    std::string line;
    constexpr std::string_view kPrefix = "# version ";
    if (std::getline(in, line) && line.starts_with(kPrefix))
        return line.substr(kPrefix.size()) + " (" + dir + ")";
    return "unknown (" + dir + " has no tzdata.zi)";
}

// sonde-ctl --version: the tool's release, the library code it reads segments with (built in,
// never loaded), the ABI and catalogue it was built with, the tzdata it reads zones from.
void version(std::ostream &out) {
    out << "sonde-ctl " << SONDE_VERSION_STRING << "\n"
        << "library: libsonde " << SONDE_VERSION_STRING << " (built in), segment layout "
        << shm::kLayoutVersion << "\n"
        << "abi: " << SONDE_ABI_MAJOR << "." << SONDE_ABI_MINOR << "\n"
        << "catalogue: " << catalog::kCatalogVersion << ", schema " << hex64(catalog::kSchemaHash)
        << "\n"
        << "tzdata: " << tzdata_version(time::default_zoneinfo_dir()) << "\n";
}

}  // namespace

int run(const Args &args, Io io) {
    if (args.empty()) {
        usage(io.err);
        return kExitUsage;
    }
    const std::string &name = args[0];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(io.out);
        return kExitOk;
    }
    if (name == "--version") {
        version(io.out);
        return kExitOk;
    }
    for (const Command &c : kCommands)
        if (c.name == name) return c.run(Args(args.begin() + 1, args.end()), io);
    io.err << "sonde-ctl: unknown command '" << name << "'\n";
    usage(io.err);
    return kExitUsage;
}

}  // namespace sonde::ctl
