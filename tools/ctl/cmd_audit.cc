// sonde-ctl audit: open every snapshot of a spool (or of the files given) as the console does,
// and look for small counts a console user could compute from them (docs/privacy.md).

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "args.hpp"
#include "audit.hpp"
#include "command.hpp"
#include "reading_keys.hpp"
#include "snapshot/console.hpp"
#include "snapshot/keys.hpp"

namespace sonde::ctl {
namespace {

using enum ValueKind;
constexpr OptionSpec kAuditOptions[] = {
    {"key", "FILE", "the console's private key file", Path},
    {"trust", "[UAI=]FILE[,...]",
     "public key files of the servers whose snapshots are accepted, each for the base UAI= names "
     "or, without it, for the bases its file names (keygen --base)",
     Path},
    {"k", "K", "threshold: counts from 1 to K-1 are small (default: the snapshots' policy)", Number,
     2, 1000},
    {"max-reported", "N", "disclosures printed in full per base (default 20)", Number, 0, 100000},
};

}  // namespace

int cmd_audit(const Args &args, Io io) {
    auto parsed = parse_args(args, kAuditOptions, io.err);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out << "usage: sonde-ctl audit SPOOL_DIR|FILE... --key CONSOLE_KEY --trust "
                  "[UAI=]SERVER_PUB[,...]\n"
                  "Opens every snapshot, writes what a console user could combine (levels to the\n"
                  "total, hours to the day, days to the month, months to the school year,\n"
                  "successive readings of a window) as a linear system, and reports every Social\n"
                  "count from 1 to k-1 it determines, with the figures that give it away.\n"
                  "Exit 0: nothing found; 1: disclosures (or a file refused).\n\n"
               << options_help(kAuditOptions);
        return kExitOk;
    }
    if (parsed->positional.empty() || !parsed->has("key") || !parsed->has("trust")) {
        io.err << "sonde-ctl: audit needs SPOOL_DIR or FILE..., --key and --trust\n";
        return kExitUsage;
    }
    snapshot::OpenParams params;
    std::string error;
    if (!load_reading_keys(parsed->get("key"), parsed->get("trust"), params, &error)) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitFailure;
    }
    std::vector<std::string> files;
    for (const std::string &p : parsed->positional) {
        std::error_code ec;
        // Paths are UTF-8 (on Windows, std::string paths would be read in the ANSI code page).
        const std::filesystem::path dir(std::u8string(p.begin(), p.end()));
        if (std::filesystem::is_directory(dir, ec)) {
            for (const auto &e : std::filesystem::directory_iterator(dir, ec))
                if (e.path().extension() == ".sonde") {
                    const std::u8string name = e.path().u8string();
                    files.emplace_back(name.begin(), name.end());
                }
        } else {
            files.push_back(p);
        }
    }
    std::sort(files.begin(), files.end());
    int status = kExitOk;
    std::map<std::string, std::vector<audit::Input>> bases;
    uint32_t k = 0;
    for (const std::string &path : files) {
        std::vector<uint8_t> file;
        snapshot::Header header;
        audit::Input input{path, {}};
        snapshot::OpenError e =
            snapshot::read_sealed_file(path, params.max_uncompressed, file, &error);
        if (e == snapshot::OpenError::None)
            e = snapshot::open_snapshot(file, params, input.snapshot, header, &error);
        if (e != snapshot::OpenError::None) {
            io.err << "sonde-ctl: " << path << ": refused (" << snapshot::open_error_name(e)
                   << "): " << error << "\n";
            status = kExitFailure;
            continue;
        }
        k = std::max(k, input.snapshot.policy().k_anonymity());
        bases[input.snapshot.base_id()].push_back(std::move(input));
    }
    k = uint32_t(parsed->number("k", k > 1 ? k : 5));
    const size_t max_reported = size_t(parsed->number("max-reported", 20));
    size_t total = 0;
    for (const auto &[base, snapshots] : bases) {
        const audit::Report r = audit::audit_base(snapshots, k, max_reported);
        io.out << base << ": " << r.snapshots << " snapshots, " << r.equations << " exact figures, "
               << r.variables << " unknowns, " << r.spans_checked
               << " determined spans checked, k=" << k << ": " << r.disclosures << " disclosure(s)";
        if (r.inconsistent) io.out << ", " << r.inconsistent << " inconsistent figure(s)";
        io.out << "\n";
        if (r.disclosures) {
            io.out << "  from 1 figure: " << r.by_figures[0] << ", from 2: " << r.by_figures[1]
                   << ", from 3 or more: " << r.by_figures[2] << "\n";
            for (const auto &[measure, n] : r.per_measure)
                io.out << "  " << measure << ": " << n << "\n";
        }
        for (const audit::Disclosure &d : r.found) io.out << "  DISCLOSURE " << describe(d) << "\n";
        if (r.disclosures > r.found.size())
            io.out << "  ... and " << (r.disclosures - r.found.size()) << " more\n";
        total += r.disclosures;
    }
    io.out << "audit: " << files.size() << " file(s), " << bases.size() << " base(s), " << total
           << " disclosure(s): " << (total ? "FAILED" : "ok") << "\n";
    return total ? kExitFailure : status;
}

}  // namespace sonde::ctl
