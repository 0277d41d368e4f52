// `sonde-ctl dump BASE`: every indicator of the catalogue as the base's segment holds it.

#include <ctime>

#include "args.hpp"
#include "command.hpp"
#include "core/config.hpp"
#include "formats.hpp"
#include "platform/files.hpp"
#include "text.hpp"
#include "time/timezone.hpp"

namespace sonde::ctl {
namespace {

using enum ValueKind;
constexpr OptionSpec kDumpOptions[] = {
    {"shm-dir", "DIR", "where the segments live (default /var/lib/sonde/segments)", Path},
    {"format", "table|json|openmetrics", "output format (default table)", Choice},
    {"at", "UNIX_SECONDS", "instant whose day, month and school year are 'current' (default now)",
     Number, 0, uint64_t{1} << 32},
    {"timezone", "TZ", "time zone of the calendar windows (default: the base's, else Europe/Paris)",
     Text},
    {"school-year-start", "MM-DD", "first day of the school year (default: the base's, else 09-01)",
     Text},
    {"config-dir", "DIR", "read the base's timezone and school year start from DIR/BASE.conf",
     Path},
};

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
    if (name == "table") return Format::Table;
    if (name == "json") return Format::Json;
    if (name == "openmetrics") return Format::OpenMetrics;
    return std::nullopt;
}

int cmd_dump(const Args &args, Io io) {
    std::string error;
    auto parsed = parse_args(args, kDumpOptions, &error);
    if (!parsed) {
        io.err << "sonde-ctl: " << error << " (see --help)\n";
        return kExitUsage;
    }
    if (parsed->help) {
        io.out << "usage: sonde-ctl dump BASE [options]\n"
                  "Prints the 80 indicators of the catalogue as the base's segment holds them:\n"
                  "counters, gauges, distinct users of the current and previous day / month /\n"
                  "school year, distributions, derived values, then the diagnostics. Read-only.\n\n"
               << options_help(kDumpOptions);
        return kExitOk;
    }
    if (parsed->positional.size() != 1) {
        io.err << "sonde-ctl: expected exactly one BASE (see --help)\n";
        return kExitUsage;
    }
    const std::string base = parsed->positional[0];
    if (!valid_base_id(base.c_str())) {
        io.err << "sonde-ctl: '" << base << "' is not a UAI (7 digits and 1 uppercase letter)\n";
        return kExitUsage;
    }
    const std::optional<Format> format = parse_format(parsed->get("format", "table"));
    if (!format) {
        io.err << "sonde-ctl: --format must be table, json or openmetrics\n";
        return kExitUsage;
    }

    SnapshotOptions options;
    options.at = int64_t(::time(nullptr));
    options.at = int64_t(parsed->number("at", uint64_t(options.at)));  // validated: 0..2^32
    // The base's own calendar settings, unless the command line overrides them.
    if (parsed->has("config-dir")) {
        BaseConfig config;
        const std::string path = config_path(parsed->get("config-dir"), base);
        switch (load_config(path, config, &error)) {
            case ConfigLoad::Missing:
                io.err << "sonde-ctl: unknown base " << base << ": no " << path << "\n";
                return kExitFailure;
            case ConfigLoad::Malformed:
                io.err << "sonde-ctl: " << error << "\n";
                return kExitFailure;
            case ConfigLoad::Ok:
                options.timezone = config.timezone;
                options.school_year_start = config.school_year_start;
                break;
        }
    }
    if (parsed->has("timezone")) options.timezone = parsed->get("timezone");
    if (parsed->has("school-year-start") &&
        !time::parse_school_year_start(parsed->get("school-year-start"),
                                       options.school_year_start)) {
        io.err << "sonde-ctl: --school-year-start must be MM-DD, e.g. 09-01\n";
        return kExitUsage;
    }
    const std::optional<time::TimeZone> tz = time::TimeZone::load(options.timezone, &error);
    if (!tz) {
        io.err << "sonde-ctl: time zone " << options.timezone << ": " << error << "\n";
        return parsed->has("timezone") ? kExitUsage : kExitFailure;
    }

    const std::string shm_dir = parsed->get("shm-dir", shm::default_segment_dir());
    const std::string path = shm::segment_path(shm_dir, base);
    platform::FileInfo st;
    if (!platform::path_info(path, st)) {
        io.err << "sonde-ctl: no segment for base " << base << " (" << path
               << " does not exist): unknown base, not enabled, or no server has opened it yet\n";
        return kExitFailure;
    }
    // Read into private memory once: a header rewritten or a file truncated after the check
    // cannot change what the dump uses (issue 7: dump crashed when the header changed).
    const std::optional<reader::SegmentView> view =
        reader::SegmentView::open(path, &error, shm::Access::Copy);
    if (!view) {
        io.err << "sonde-ctl: cannot read the segment of base " << base << ": " << error << "\n";
        return kExitFailure;
    }
    if (std::string_view(view->mapping().layout().base_id) != base) {
        io.err << "sonde-ctl: " << path << " belongs to base "
               << std::string_view(view->mapping().layout().base_id) << ", not " << base << "\n";
        return kExitFailure;
    }

    const Snapshot snapshot = take_snapshot(*view, *tz, options);
    switch (*format) {
        case Format::Table:
            write_table(snapshot, io.out);
            break;
        case Format::Json:
            write_json(snapshot, io.out);
            break;
        case Format::OpenMetrics:
            write_openmetrics(snapshot, io.out);
            break;
    }
    return kExitOk;
}

}  // namespace sonde::ctl
