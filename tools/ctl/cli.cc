// Dispatch of `sonde-ctl COMMAND ...`.

#include <string_view>

#include "catalog_layout.hpp"
#include "command.hpp"
#include "text.hpp"

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
    out << "\nexit codes: 0 ok, 1 failure, 2 usage error\n";
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
        io.out << "sonde-ctl, catalogue " << catalog::kCatalogVersion << ", schema "
               << hex64(catalog::kSchemaHash) << "\n";
        return kExitOk;
    }
    for (const Command &c : kCommands)
        if (c.name == name) return c.run(Args(args.begin() + 1, args.end()), io);
    io.err << "sonde-ctl: unknown command '" << name << "'\n";
    usage(io.err);
    return kExitUsage;
}

}  // namespace sonde::ctl
