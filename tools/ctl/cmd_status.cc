// `sonde-ctl status`: the segments in the shm directory (usable or not), the configured
// bases, and the leftovers an operator should look at.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "args.hpp"
#include "catalog_lookup.hpp"
#include "command.hpp"
#include "core/config.hpp"
#include "platform/files.hpp"
#include "platform/read_file.hpp"
#include "reader/view.hpp"
#include "segment_probe.hpp"
#include "shm/layout.hpp"
#include "text.hpp"
#include "uplink.hpp"

namespace sonde::ctl {
namespace {

using Json = nlohmann::ordered_json;

using enum ValueKind;
constexpr OptionSpec kStatusOptions[] = {
    {"shm-dir", "DIR", "where the segments live (default /var/lib/sonde/segments)", Path},
    {"config-dir", "DIR", "also list the configured bases of this directory", Path},
    {"format", "table|json", "output format (default table)", Choice},
};

// The diagnostics worth a glance in a one-line summary (the others are in `dump`).
constexpr shm::Diag kKeyDiagnostics[] = {
    shm::Diag::UsersTableFull, shm::Diag::StudentsTableFull, shm::Diag::SharedRowWriters,
    shm::Diag::RowsReclaimed,  shm::Diag::ConfigErrors,      shm::Diag::SegmentsReplaced,
    shm::Diag::OutOfRange,     shm::Diag::BadArgument,       shm::Diag::BadHandle,
    shm::Diag::NullArgument,   shm::Diag::SnapshotErrors,    shm::Diag::TimezoneDisagreements,
};

// A status file, opened without blocking or following a link: nullopt, with j["problem"] set,
// if it is absent (`absent`) or cannot be opened; otherwise the read's result (`text` empty
// unless it is a regular file within `limit` bytes).
std::optional<platform::ReadResult> read_status_file(const std::string &path, uint64_t limit,
                                                     const char *absent, std::string &text,
                                                     Json &j) {
    const platform::ReadResult r = platform::read_file(path, limit, text);
    if (r.error != platform::ReadError::Missing && r.error != platform::ReadError::Open) return r;
    j["problem"] = r.error == platform::ReadError::Missing
                       ? std::string(absent)
                       : std::string("cannot open: ") + std::strerror(r.err);
    return std::nullopt;
}

// The shipper's status file, <spool_dir>/<UAI>.status (written by the elected shipper, see
// docs/operator.md): "name value" lines. Opened without blocking or following a link, and
// only if it is a small regular file.
Json shipper_json(const std::string &spool_dir, const std::string &base) {
    const std::string path = spool_dir + "/" + base + ".status";
    Json j = {{"status_file", path}};
    std::string text;
    const auto r = read_status_file(path, 8191, "no status yet (no shipper has run)", text, j);
    if (!r) return j;
    if (!*r) {
        j["problem"] = "not a readable regular file";
        return j;
    }
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);
    if (line != "sonde-shipper-status 1") {
        j["problem"] = "not a shipper status file";
        return j;
    }
    while (std::getline(in, line)) {
        const size_t space = line.find(' ');
        const std::string name = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        if (name == "last_error" || name == "failing") {
            j[name] = name == "failing" ? Json(value == "yes") : Json(value);
        } else if (name == "pid" || name == "updated" || name == "snapshots_written" ||
                   name == "last_snapshot_at" || name == "last_sequence" || name == "errors" ||
                   name == "last_error_at") {
            j[name] = std::strtoll(value.c_str(), nullptr, 10);
        }
    }
    // Whether the shipper process still runs: a stopped one (SIGSTOP, a debugger) keeps the
    // election, and nothing is latched or shipped until it continues.
    if (j.contains("pid") && j["pid"].get<int64_t>() > 0) {
        if (const char *state = process_state(j["pid"].get<int64_t>())) j["process"] = state;
    }
    for (const char *t : {"updated", "last_snapshot_at", "last_error_at"})
        if (j.contains(t) && j[t].get<int64_t>() > 0)
            j[std::string(t) + "_utc"] = iso8601_utc(j[t].get<int64_t>());
    return j;
}

// One line about the shipper of a base, for the table.
std::string shipper_line(const Json &sh) {
    if (sh.contains("problem"))
        return "shipper: " + sh["problem"].get<std::string>() + " (" +
               sh["status_file"].get<std::string>() + ")";
    std::string line = "shipper: ";
    const bool failing = sh.value("failing", false);
    if (failing)
        line += "FAILING";
    else
        line += "ok";
    if (sh.contains("last_snapshot_at_utc"))
        line += ", last snapshot " + sh["last_snapshot_at_utc"].get<std::string>() + " (sequence " +
                std::to_string(sh.value("last_sequence", int64_t(0))) + ")";
    else
        line += ", no snapshot written by the current shipper yet";
    if (sh.contains("last_error_at_utc"))
        line += std::string(failing ? "; " : "; earlier ") + "error at " +
                sh["last_error_at_utc"].get<std::string>() + ": " +
                sh.value("last_error", std::string()) + " (" +
                std::to_string(sh.value("errors", int64_t(0))) + " errors, pid " +
                std::to_string(sh.value("pid", int64_t(0))) + ")";
    if (sh.value("process", std::string()) == "stopped")
        line += "; process " + std::to_string(sh.value("pid", int64_t(0))) +
                " is STOPPED: it keeps the election, nothing is latched or shipped until it "
                "continues (SIGCONT), figures wait";
    return line;
}

// The uplink's view of a base: its backlog, counted in the spool now, and what sonde-uplink
// last wrote to <spool_dir>/<UAI>.uplink (docs/delivery.md#watching-the-uplink).
Json uplink_json(const std::string &spool_dir, const std::string &base) {
    std::string error;
    const std::vector<uplink::SpoolFile> files = uplink::scan_spool(spool_dir, &error);
    const uplink::Backlog backlog = uplink::backlog_of(files, base);
    const std::string path = uplink::status_path(spool_dir, base);
    Json j = {{"status_file", path},
              {"backlog_files", backlog.files},
              {"backlog_bytes", backlog.bytes},
              {"oldest_created", backlog.oldest_created}};
    if (!error.empty()) j["spool_problem"] = error;
    if (backlog.oldest_created > 0) j["oldest_created_utc"] = iso8601_utc(backlog.oldest_created);
    std::string text;  // empty if not a regular file under 64 KiB: "not an uplink status file"
    if (!read_status_file(path, 64 * 1024 - 1, "no status yet (sonde-uplink has not run)", text, j))
        return j;
    const Json st_json = Json::parse(text, nullptr, false);
    if (!st_json.is_object() || st_json.value("format", std::string()) != "sonde-uplink-status 1") {
        j["problem"] = "not an uplink status file";
        return j;
    }
    for (const char *name : {"pid", "updated", "last_success", "last_error_at", "next_attempt"})
        if (st_json.contains(name) && st_json[name].is_number_integer()) {
            j[name] = st_json[name];
            if (std::string(name) != "pid" && st_json[name].get<int64_t>() > 0)
                j[std::string(name) + "_utc"] = iso8601_utc(st_json[name].get<int64_t>());
        }
    if (st_json.contains("last_error") && st_json["last_error"].is_string())
        j["last_error"] = st_json["last_error"];
    if (st_json.contains("counts") && st_json["counts"].is_object())
        j["counts"] = st_json["counts"];
    return j;
}

std::string uplink_line(const Json &up) {
    std::string line = "uplink: backlog " + std::to_string(up["backlog_files"].get<uint64_t>()) +
                       " files, " + std::to_string(up["backlog_bytes"].get<uint64_t>()) + " bytes";
    if (up.contains("oldest_created_utc"))
        line += ", oldest " + up["oldest_created_utc"].get<std::string>();
    if (up.contains("problem")) return line + "; " + up["problem"].get<std::string>();
    line += "; last success " + (up.contains("last_success_utc")
                                     ? up["last_success_utc"].get<std::string>()
                                     : std::string("never"));
    if (up.contains("last_error_at_utc"))
        line += "; last error " + up["last_error_at_utc"].get<std::string>() + ": " +
                up.value("last_error", std::string());
    if (up.contains("next_attempt_utc"))
        line += "; next attempt " + up["next_attempt_utc"].get<std::string>();
    return line;
}

Json segment_json(const SegmentFile &f) {
    Json j = {{"base", f.base}, {"path", f.path}, {"size", f.size}};
    const std::optional<HeaderProbe> probe = probe_header(f.path);
    std::string error;
    // A private copy: whatever another process does to the file meanwhile cannot reach us.
    const std::optional<reader::SegmentView> view =
        reader::SegmentView::open(f.path, &error, shm::Access::Copy);
    // The plugin refuses a segment owned by another user (squatted at the path): say so.
    platform::FileInfo st;
    if (view && platform::path_info(f.path, st) && !st.owned_by_me) {
        error = f.path + ": owned by uid " + std::to_string(st.owner) +
                ", not by the server's account: the plugin refuses it (set it aside, counted "
                "in segments_refused, and tries again every 5 s)";
        j["compatible"] = false;
        j["problem"] = error;
        return j;
    }
    j["compatible"] = view.has_value();
    j["problem"] = view ? Json(nullptr) : Json(error);
    j["boots"] = view ? Json(view->header().boots.load()) : Json(nullptr);
    if (!probe || !probe->magic_ok) return j;
    j["product"] = probe->base_id.empty() ? Json(nullptr) : Json(product_name(probe->product));
    j["layout_version"] = probe->layout_version;
    j["schema_hash"] = hex64(probe->schema_hash);
    j["schema_matches"] = probe->schema_hash == catalog::kSchemaHash;
    j["creator_pid"] = probe->creator_pid;
    j["creator_alive"] = pid_alive(probe->creator_pid);
    j["created_at"] = iso8601_utc(probe->creator_start_unix_ns / 1000000000);
    j["generation"] = hex64(probe->generation);
    if (!view) return j;
    const shm::Header &h = view->header();
    j["rows_leased"] = view->rows_leased();
    j["rows_total"] = h.row_count;
    j["users_used"] = view->users_used();
    j["users_capacity"] = h.user_stated_capacity;  // guaranteed to fit
    j["users_slots"] = h.user_capacity;
    j["students_used"] = view->students_used();
    j["students_capacity"] = h.student_stated_capacity;
    j["students_slots"] = h.student_capacity;
    Json diag = Json::object();
    for (uint32_t d = 0; d < uint32_t(shm::Diag::Count_); ++d)
        diag[diag_name(shm::Diag(d))] = view->diag(shm::Diag(d));
    j["diagnostics"] = diag;
    return j;
}

std::optional<Json> configured_json(const std::string &dir, std::string *error) {
    std::vector<std::string> names;
    if (!platform::list_directory(dir, names)) {
        *error = "cannot read " + dir + ": " + platform::error_text(errno);
        return std::nullopt;
    }
    std::vector<std::string> bases;
    for (const std::string &name : names) {
        if (name.size() == 13 && name.ends_with(".conf") &&
            valid_base_id(name.substr(0, 8).c_str()))
            bases.push_back(name.substr(0, 8));
    }
    std::sort(bases.begin(), bases.end());
    Json list = Json::array();
    for (const std::string &base : bases) {
        BaseConfig c;
        std::string why;
        const ConfigLoad load = load_config(config_path(dir, base), c, &why);
        Json j = {{"base", base}};
        if (load != ConfigLoad::Ok) {
            j["enabled"] = nullptr;
            j["problem"] = why;
        } else {
            char start[8];
            std::snprintf(start, sizeof start, "%02u-%02u", unsigned(c.school_year_start.month),
                          unsigned(c.school_year_start.day));
            j["enabled"] = c.enabled;
            j["timezone"] = c.timezone;
            j["school_year_start"] = start;
            // What a segment created now would get (the file's value, or the default).
            j["users_capacity"] = capacities_of(c).users;
            j["students_capacity"] = capacities_of(c).students;
            if (!c.snapshots.spool_dir.empty()) {
                j["shipper"] = shipper_json(c.snapshots.spool_dir, base);
                j["uplink"] = uplink_json(c.snapshots.spool_dir, base);
            }
        }
        list.push_back(j);
    }
    return list;
}

std::string yes_no(const Json &v) { return v.is_boolean() ? (v.get<bool>() ? "yes" : "no") : "?"; }

std::string used_of(const Json &seg, const char *used, const char *capacity) {
    if (!seg.contains(used)) return "-";
    return std::to_string(seg[used].get<uint64_t>()) + "/" +
           std::to_string(seg[capacity].get<uint64_t>());
}

std::string cell(std::string text, size_t width) {
    if (text.size() < width) text.resize(width, ' ');
    return text + " ";
}

void write_status_table(const Json &status, std::ostream &out) {
    out << "segments in " << status["shm_dir"].get<std::string>() << ":\n";
    if (status["segments"].empty())
        out << "  (none)\n";
    else
        out << "  " << cell("base", 9) << cell("product", 8) << cell("size", 9) << cell("layout", 6)
            << cell("schema", 8) << cell("creator", 14) << cell("created at", 20) << cell("rows", 6)
            << cell("users", 12) << "students\n";
    for (const Json &seg : status["segments"]) {
        out << "  " << cell(seg["base"].get<std::string>(), 9);
        if (!seg.contains("layout_version")) {
            out << "unusable: " << seg["problem"].get<std::string>() << "\n";
            continue;
        }
        const std::string creator = std::to_string(seg["creator_pid"].get<int>()) +
                                    (seg["creator_alive"].get<bool>() ? " (alive)" : " (gone)");
        out << cell(seg["product"].is_string() ? seg["product"].get<std::string>() : "?", 8)
            << cell(std::to_string(seg["size"].get<uint64_t>() / 1024) + " KiB", 9)
            << cell(std::to_string(seg["layout_version"].get<uint32_t>()), 6)
            << cell(seg["schema_matches"].get<bool>() ? "match" : "DIFFERS", 8) << cell(creator, 14)
            << cell(seg["created_at"].get<std::string>(), 20)
            << cell(used_of(seg, "rows_leased", "rows_total"), 6)
            << cell(used_of(seg, "users_used", "users_capacity"), 12)
            << used_of(seg, "students_used", "students_capacity") << "\n";
        if (!seg["compatible"].get<bool>()) {
            out << "    incompatible: " << seg["problem"].get<std::string>() << "\n";
            continue;
        }
        std::string diags;
        for (shm::Diag d : kKeyDiagnostics) {
            const uint64_t n = seg["diagnostics"][diag_name(d)].get<uint64_t>();
            if (n) diags += std::string(" ") + diag_name(d) + "=" + std::to_string(n);
        }
        out << "    diagnostics:" << (diags.empty() ? " all clear" : diags) << "\n";
        // The reason behind snapshot_errors is in the shipper's status file, found through the
        // base's configuration.
        const Json *shipper = nullptr;
        if (status.contains("configured"))
            for (const Json &c : status["configured"])
                if (c["base"] == seg["base"] && c.contains("shipper")) shipper = &c["shipper"];
        if (shipper)
            out << "    " << shipper_line(*shipper) << "\n";
        else if (seg["diagnostics"].value("snapshot_errors", uint64_t(0)) != 0)
            out << "    (the shipper's last error: run with --config-dir)\n";
    }
    if (status.contains("configured")) {
        out << "\nconfigured bases in " << status["config_dir"].get<std::string>() << ":\n";
        if (status["configured"].empty()) out << "  (none)\n";
        for (const Json &c : status["configured"]) {
            out << "  " << cell(c["base"].get<std::string>(), 9);
            if (c.contains("problem"))
                out << "malformed: " << c["problem"].get<std::string>() << "\n";
            else
                out << "enabled " << cell(yes_no(c["enabled"]), 4)
                    << cell(c["timezone"].get<std::string>(), 16) << "school year starts "
                    << c["school_year_start"].get<std::string>() << ", capacity "
                    << c["users_capacity"].get<uint32_t>() << " users, "
                    << c["students_capacity"].get<uint32_t>() << " students\n";
            if (c.contains("shipper")) out << "    " << shipper_line(c["shipper"]) << "\n";
            if (c.contains("uplink")) out << "    " << uplink_line(c["uplink"]) << "\n";
        }
    }
    if (!status["warnings"].empty()) {
        out << "\nwarnings:\n";
        for (const Json &w : status["warnings"]) out << "  " << w.get<std::string>() << "\n";
    }
}

}  // namespace

int cmd_status(const Args &args, Io io) {
    std::string error;
    auto parsed = parse_args(args, kStatusOptions, &error);
    if (!parsed) {
        io.err << "sonde-ctl: " << error << " (see --help)\n";
        return kExitUsage;
    }
    if (parsed->help) {
        io.out
            << "usage: sonde-ctl status [--shm-dir DIR] [--config-dir DIR] [--format table|json]\n"
               "Lists the statistics segments (one per base) with their occupancy and key\n"
               "diagnostics, the configured bases, and leftover files worth a look.\n\n"
            << options_help(kStatusOptions);
        return kExitOk;
    }
    const std::string format = parsed->get("format", "table");
    if (!parsed->positional.empty() || (format != "table" && format != "json")) {
        io.err << "sonde-ctl: status takes no BASE and --format table|json (see --help)\n";
        return kExitUsage;
    }
    const std::string shm_dir = parsed->get("shm-dir", shm::default_segment_dir());
    const auto files = list_segment_files(shm_dir, &error);
    if (!files) {
        io.err << "sonde-ctl: " << error << "\n";
        return kExitFailure;
    }
    Json status = {{"shm_dir", shm_dir}, {"segments", Json::array()}};
    Json warnings = Json::array();
    for (const SegmentFile &f : *files) {
        switch (f.kind) {
            case SegmentFile::Kind::Segment:
                status["segments"].push_back(segment_json(f));
                break;
            case SegmentFile::Kind::SetAside:
                warnings.push_back(
                    "set-aside segment " + f.name + " (" + std::to_string(f.size) +
                    " bytes, from " + iso8601_utc(f.mtime) +
                    "): the plugin found it incompatible or corrupt and started a fresh one");
                break;
            case SegmentFile::Kind::InitTemp:
                warnings.push_back(
                    "leftover temp file " + f.name + " (from " + iso8601_utc(f.mtime) +
                    "): a server died while creating the segment; safe to delete if old");
                break;
        }
    }
    if (parsed->has("config-dir")) {
        const std::string dir = parsed->get("config-dir");
        auto configured = configured_json(dir, &error);
        if (!configured) {
            io.err << "sonde-ctl: " << error << "\n";
            return kExitFailure;
        }
        status["config_dir"] = dir;
        status["configured"] = *configured;
        for (const Json &c : *configured) {
            const bool has_segment =
                std::any_of(files->begin(), files->end(), [&](const SegmentFile &f) {
                    return f.kind == SegmentFile::Kind::Segment &&
                           f.base == c["base"].get<std::string>();
                });
            if (c["enabled"] == true && !has_segment)
                warnings.push_back(
                    "base " + c["base"].get<std::string>() +
                    " is enabled but has no segment yet (no server has opened it since)");
            // Capacities take effect when a segment is created: say so when they differ.
            for (const Json &seg : status["segments"]) {
                if (seg["base"] != c["base"] || !seg.contains("users_capacity") ||
                    !c.contains("users_capacity"))
                    continue;
                const std::string base = c["base"].get<std::string>();
                for (const char *key : {"users_capacity", "students_capacity"})
                    if (seg[key] != c[key])
                        warnings.push_back(
                            "base " + base + ": " + key + " is " +
                            std::to_string(c[key].get<uint32_t>()) + " in the configuration but " +
                            std::to_string(seg[key].get<uint32_t>()) +
                            " in the live segment; it takes effect when the segment is next "
                            "created (after a reboot, or once every server process of the base "
                            "has stopped and sonde." +
                            base + " is deleted, which loses its figures not yet shipped)");
            }
        }
    }
    status["warnings"] = warnings;
    if (format == "json")
        io.out << status.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    else
        write_status_table(status, io.out);
    return kExitOk;
}

}  // namespace sonde::ctl
