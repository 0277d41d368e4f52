// sonde-ctl keygen | open: the key files of the snapshot channel, and the reading side of
// snapshots (verify, decrypt, decompress, decode, print as JSON).

#include <algorithm>
#include <sstream>

#include "args.hpp"
#include "command.hpp"
#include "reading_keys.hpp"
#include "snapshot/console.hpp"
#include "snapshot/ingest.hpp"
#include "snapshot/keys.hpp"

namespace sonde::ctl {
namespace {

using enum ValueKind;
constexpr OptionSpec kKeygenOptions[] = {
    {"out", "FILE", "private key file to create (mode 0600; an existing file is never overwritten)",
     Path},
    {"public", "FILE", "also write the public half there, to hand to the other side", Path},
    {"base", "UAI[,UAI...]",
     "the bases this server key seals for, written in the public half (--public): the console "
     "trusts it for those bases only",
     Text},
};

constexpr OptionSpec kOpenOptions[] = {
    {"key", "FILE", "the console's private key file", Path},
    {"trust", "[UAI=]FILE[,...]",
     "public key files of the servers whose snapshots are accepted, each for the base UAI= names "
     "or, without it, for the bases its file names (keygen --base)",
     Path},
    {"max-size", "BYTES", "bound on the decompressed size (default 4 MiB)", Number, 1,
     uint64_t{1} << 30},
    {"after-sequence", "N", "refuse snapshots whose sequence is not above N (replay check)", Number,
     0, UINT64_MAX},
};

}  // namespace

int cmd_keygen(const Args &args, Io io) {
    auto parsed = parse_args(args, kKeygenOptions, io.err);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out
            << "usage: sonde-ctl keygen --out FILE [--public FILE [--base UAI[,UAI...]]]\n"
               "Creates an X25519 key pair for the snapshot channel: one per school server (its\n"
               "sender_key) and one for the console (whose public half servers name as\n"
               "console_public_key). A server's public half names the bases it seals for.\n\n"
            << options_help(kKeygenOptions);
        return kExitOk;
    }
    if (!parsed->has("out") || !parsed->positional.empty()) {
        io.err << "sonde-ctl: keygen needs --out FILE and no other argument\n";
        return kExitUsage;
    }
    std::vector<std::string> bases;
    if (parsed->has("base")) {
        if (!parsed->has("public")) {
            io.err << "sonde-ctl: --base is written in the public half: give --public FILE\n";
            return kExitUsage;
        }
        std::stringstream in(parsed->get("base"));
        for (std::string base; std::getline(in, base, ',');) {
            if (!snapshot::valid_base_id(base) ||
                std::find(bases.begin(), bases.end(), base) != bases.end()) {
                io.err << "sonde-ctl: --base takes distinct UAIs (7 digits and a capital "
                          "letter), separated by commas: "
                       << printable(base) << "\n";
                return kExitUsage;
            }
            bases.push_back(base);
        }
        if (bases.empty()) {
            io.err << "sonde-ctl: --base needs at least one UAI\n";
            return kExitUsage;
        }
    }
    crypto::KeyPair key;
    std::string error;
    if (!snapshot::generate_key_file(parsed->get("out"), key, &error)) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitFailure;
    }
    if (parsed->has("public") &&
        !snapshot::save_public_key(parsed->get("public"), key.public_key, false, &error, bases)) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitFailure;
    }
    io.out << "key " << snapshot::to_hex(snapshot::key_id(key.public_key)) << " written to "
           << parsed->get("out")
           << (parsed->has("public") ? " (public half: " + parsed->get("public") + ")"
                                     : std::string())
           << "\n";
    return kExitOk;
}

int cmd_open(const Args &args, Io io) {
    auto parsed = parse_args(args, kOpenOptions, io.err);
    if (!parsed) return kExitUsage;
    if (parsed->help) {
        io.out
            << "usage: sonde-ctl open FILE... --key CONSOLE_KEY --trust [UAI=]SERVER_PUB[,...]\n"
               "Verifies, decrypts, decompresses and decodes snapshots, ingests them as the\n"
               "console does (idempotent upsert) and prints the figures as JSON. Any file that is\n"
               "tampered, truncated, replayed, oversized or wrongly keyed is refused: exit 1.\n\n"
            << options_help(kOpenOptions);
        return kExitOk;
    }
    if (parsed->positional.empty() || !parsed->has("key") || !parsed->has("trust")) {
        io.err << "sonde-ctl: open needs FILE..., --key and --trust\n";
        return kExitUsage;
    }
    snapshot::OpenParams params;
    std::string error;
    if (!load_reading_keys(parsed->get("key"), parsed->get("trust"), params, &error)) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitFailure;
    }
    params.max_uncompressed = size_t(parsed->number("max-size", params.max_uncompressed));
    std::map<std::string, uint64_t> seen;
    snapshot::IngestStore store;
    int status = kExitOk;
    for (const std::string &path : parsed->positional) {
        // Bounded before reading: never more than a snapshot within --max-size can take.
        std::vector<uint8_t> file;
        if (const snapshot::OpenError e =
                snapshot::read_sealed_file(path, params.max_uncompressed, file, &error);
            e != snapshot::OpenError::None) {
            io.err << "sonde-ctl: " << path << ": refused (" << snapshot::open_error_name(e)
                   << "): " << error << "\n";
            status = kExitFailure;
            continue;
        }
        snapshot::Header header;
        if (parsed->has("after-sequence") &&
            snapshot::parse_header(file, header, nullptr) == snapshot::OpenError::None)
            seen[header.base()] = parsed->number("after-sequence", 0);
        params.last_sequence_seen = parsed->has("after-sequence") ? &seen : nullptr;
        snapshot::v1::Snapshot s;
        const snapshot::OpenError e = snapshot::open_snapshot(file, params, s, header, &error);
        if (e != snapshot::OpenError::None) {
            io.err << "sonde-ctl: " << path << ": refused (" << snapshot::open_error_name(e)
                   << "): " << error << "\n";
            status = kExitFailure;
            continue;
        }
        store.ingest(s);
    }
    io.out << store.render_json() << "\n";
    return status;
}

}  // namespace sonde::ctl
