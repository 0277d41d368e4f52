#include "week.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "base_setup.hpp"
#include "cells.hpp"
#include "compare.hpp"
#include "expectation.hpp"
#include "plugin.hpp"
#include "process_runner.hpp"
#include "report.hpp"
#include "scenario.hpp"
#include "shared_arena.hpp"
#include "shm/segment.hpp"
#include "week_host.hpp"
#include "week_report.hpp"
#include "week_run.hpp"
#include "week_snapshots.hpp"

namespace sonde::shim {
namespace {

using nlohmann::json;

struct Host {
    uint32_t base, process;
    std::unique_ptr<HostProcess> process_;  // the shim in --role week-host; killed if left
};

class WeekDriver {
  public:
    explicit WeekDriver(const Options &o) : o_(o) {}
    ~WeekDriver() {
        kill_all_hosts();        // none is left but after a failure
        arena_ = SharedArena();  // unmapped, its file deleted
        std::error_code ec;
        if (!dirs_.scratch.empty()) std::filesystem::remove(dirs_.scratch, ec);  // if empty
    }

    int run() {
        std::string error;
        auto dirs = prepare_dirs(o_, &error);
        if (!dirs) return setup_error(error);
        dirs_ = *dirs;
        if (!prepare_bases(&error)) return setup_error(error);
        print_header();
        const auto started = std::chrono::steady_clock::now();
        if (!spawn_hosts(&error) || !wait_all(kReady, &error)) return abort_hosts(error);
        for (BaseRun &run : runs_) {
            run.cumulative.push_back(merge_cells(run.ledgers));
            run.hour_cumulative.push_back(run.cumulative.back());
        }
        for (BaseRun &run : runs_) {
            run.view =
                reader::SegmentView::open(shm::segment_path(dirs_.shm_dir, run.school.uai), &error);
            if (!run.view)
                return abort_hosts("cannot read the segment of " + run.school.uai + ": " + error);
        }
        // Every base replays the same simulated days, but each in its own time zone: a base
        // whose day has fewer hours (DST, or a shorter day in another zone) is simply released
        // fewer times. The hosts of a base are lined up at each of its local hours.
        for (uint32_t day = 0; day < o_.days; ++day) {
            size_t most_hours = 0;
            for (const BaseRun &run : runs_)
                most_hours = std::max(most_hours, run.calendar->days()[day].hours.size());
            for (size_t h = 0; h < most_hours; ++h) {
                const auto in_hour = [&](const Host &host) {
                    return h < runs_[host.base].calendar->days()[day].hours.size();
                };
                if (o_.reboot && day == o_.reboot_day && h == o_.reboot_hour) {
                    if (!o_.power_cut) {
                        // Every host dies between two hours; all they counted is in the segments.
                        if (!reboot(day, h, &error)) return abort_hosts(error);
                    } else {
                        // The hour is recorded, then the power goes: the segments go back to the
                        // last snapshot (this hour's start) and the hosts resume at the next hour.
                        if (!save_machine(&error) || !release(in_hour, &error) ||
                            !wait(in_hour, kHourDone, &error) || !power_cut(day, h, &error))
                            return abort_hosts(error);
                        for (BaseRun &run : runs_)
                            run.hour_cumulative.push_back(merge_cells(run.ledgers));
                        continue;
                    }
                }
                if (!release(in_hour, &error) || !wait(in_hour, kHourDone, &error) ||
                    !release(in_hour, &error) || !wait(in_hour, kClockMoved, &error))
                    return abort_hosts(error);
                for (BaseRun &run : runs_)
                    if (h < run.calendar->days()[day].hours.size())
                        run.hour_cumulative.push_back(merge_cells(run.ledgers));
            }
            for (BaseRun &run : runs_) {
                run.cumulative.push_back(merge_cells(run.ledgers));
                check_day(run, day);
            }
        }
        if (!release_all(&error) || !reap_all(&error)) return abort_hosts(error);
        elapsed_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return finish();
    }

  private:
    int setup_error(const std::string &error) {
        std::fprintf(stderr, "sonde-shim: %s\n", error.c_str());
        return kExitSetup;
    }

    bool prepare_bases(std::string *error) {
        if (!o_.snapshots.empty() && !prepare_console_key(o_, error)) return false;
        runs_.resize(o_.bases);
        size_t arena_bytes = 0;
        ledger_offsets_.clear();
        std::vector<LedgerShape> shapes;
        for (uint32_t b = 0; b < o_.bases; ++b) {
            BaseRun &run = runs_[b];
            run.school = make_school(b, o_.students, o_.school_year);
            auto config = prepare_config(dirs_.config_dir, run.school.uai, o_.seed, timezone_of(b),
                                         &run.config_note, error);
            if (!config) return false;
            run.config = *config;
            if (!o_.snapshots.empty()) {
                run.snapshots = prepare_snapshots(o_, dirs_.config_dir, run.school.uai, run.config,
                                                  &run.config_note, error);
                if (!run.snapshots) return false;
            }
            run.stale_segment_removed = remove_stale_segment(dirs_.shm_dir, run.school.uai);
            if (!plan_base_run(o_, run, error)) return false;
            shapes.push_back(ledger_shape(o_, run));
            arena_bytes += shapes.back().bytes() * o_.processes;
        }
        arena_ = SharedArena::create(dirs_.scratch + "/oracle.arena", arena_bytes);
        size_t at = 0;
        for (uint32_t b = 0; b < o_.bases; ++b)
            for (uint32_t p = 0; p < o_.processes; ++p, at += shapes[b].bytes()) {
                runs_[b].ledgers.emplace_back(arena_.data() + at, shapes[b]);
                ledger_offsets_.push_back(at);
            }
        return true;
    }

    std::string timezone_of(uint32_t base) const {
        if (o_.timezones.empty()) return {};
        return o_.timezones[std::min<size_t>(base, o_.timezones.size() - 1)];
    }

    void print_header() const {
        const SimCalendar &cal = *runs_[0].calendar;
        std::printf(
            "sonde-shim week: %u bases x %u processes, %s students per base, %u days from %s (%s), "
            "seed %llu\n",
            o_.bases, o_.processes, thousands(o_.students).c_str(), o_.days,
            cal.days()[0].label.c_str(), cal.tz().name().c_str(),
            static_cast<unsigned long long>(o_.seed));
        std::printf("simulated time: %s .. %s (unix %lld .. %lld)\n",
                    format_local(cal.tz(), cal.days()[0].start).c_str(),
                    format_local(cal.tz(), cal.end() - 1).c_str(),
                    static_cast<long long>(cal.days()[0].start),
                    static_cast<long long>(cal.end() - 1));
        std::printf("library %s\nconfig %s\nshm    %s\n", o_.lib.c_str(), dirs_.config_dir.c_str(),
                    dirs_.shm_dir.c_str());
        for (const BaseRun &run : runs_)
            std::printf("  %s: %s, %s%s, %s calls planned\n", run.school.uai.c_str(),
                        run.calendar->tz().name().c_str(), run.config_note.c_str(),
                        run.stale_segment_removed ? ", removed a stale segment" : "",
                        thousands(int64_t(run.plan.total_actions())).c_str());
    }

    // ---- reboot and power cut (issue 7) ---------------------------------------------------

    void kill_all_hosts() {
        for (Host &h : hosts_) {
            h.process_->kill();
            h.process_->wait();
        }
        hosts_.clear();
    }

    // Kills every host while they wait between two hours and starts them again at (day, hour)
    // with a new boot id: the plugin must fold every lease and continue the same generation.
    bool reboot(uint32_t day, size_t hour, std::string *error) {
        kill_all_hosts();
        ++boot_;
        reboot_note_ =
            "reboot before " + runs_[0].calendar->days()[day].date + " hour " +
            std::to_string(hour) + ": " + std::to_string(o_.bases * o_.processes) +
            " processes killed (SIGKILL or TerminateProcess), started again with a new boot id";
        std::printf("%s\n", reboot_note_.c_str());
        return spawn_hosts(error, day, hour) && wait_all(kReady, error);
    }

    // The machine as a power cut finds it: segment files as of the last snapshot (the hosts
    // are lined up at an hour boundary, where the shipper just wrote and flushed one) and the
    // oracle's ledgers of that instant.
    bool save_machine(std::string *error) {
        saved_segments_.clear();
        for (const BaseRun &run : runs_) {
            const std::string path = shm::segment_path(dirs_.shm_dir, run.school.uai);
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                *error = "cannot read " + path;
                return false;
            }
            saved_segments_.emplace_back((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
        }
        saved_arena_.assign(arena_.data(), arena_.data() + arena_.size());
        return true;
    }

    bool power_cut(uint32_t day, size_t hour, std::string *error) {
        std::vector<std::vector<int64_t>> before;
        for (const BaseRun &run : runs_) before.push_back(merge_cells(run.ledgers));
        kill_all_hosts();
        for (size_t b = 0; b < runs_.size(); ++b) {  // the disk rolls back; same inode
            const std::string path = shm::segment_path(dirs_.shm_dir, runs_[b].school.uai);
            std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
            f.write(saved_segments_[b].data(), std::streamsize(saved_segments_[b].size()));
            if (!f) {
                *error = "cannot roll back " + path;
                return false;
            }
        }
        std::memcpy(arena_.data(), saved_arena_.data(), saved_arena_.size());
        uint64_t lost = 0;
        for (size_t b = 0; b < runs_.size(); ++b) {
            const std::vector<int64_t> after = merge_cells(runs_[b].ledgers);
            for (size_t c = 0; c < after.size(); ++c)
                lost += uint64_t(std::llabs(before[b][c] - after[c]));
        }
        ++boot_;
        const SimDay &d = runs_[0].calendar->days()[day];
        reboot_note_ = "power cut at the end of " + d.date + " hour " + std::to_string(hour) +
                       ": segments rolled back to the last snapshot (the hour's start); " +
                       thousands(int64_t(lost)) +
                       " counted units lost, all of them recorded since that snapshot (bound: "
                       "one snapshot interval); hosts started again at the next hour";
        std::printf("%s\n", reboot_note_.c_str());
        if (hour + 1 >= d.hours.size()) {
            *error = "--power-cut-at: the hour must not be the last of its day";
            return false;
        }
        return spawn_hosts(error, day, hour + 1) && wait_all(kReady, error);
    }

    // Each host is the shim again (--role week-host): it rebuilds its base's plan from the
    // driver's arguments and finds its ledger in the arena file.
    bool spawn_hosts(std::string *error, uint32_t start_day = 0, size_t start_hour = 0) {
        for (uint32_t b = 0; b < o_.bases; ++b)
            for (uint32_t p = 0; p < o_.processes; ++p) {
                const std::vector<std::string> role = {
                    "--role",         "week-host",
                    "--arena",        dirs_.scratch + "/oracle.arena",
                    "--arena-offset", std::to_string(ledger_offsets_[size_t(b) * o_.processes + p]),
                    "--host",         std::to_string(b) + ":" + std::to_string(p),
                    "--resume",       std::to_string(start_day) + ":" + std::to_string(start_hour)};
                auto process =
                    start_host(o_, dirs_, role, "shim-boot-" + std::to_string(boot_), error);
                if (!process) return false;
                hosts_.push_back({b, p, std::move(process)});
            }
        return true;
    }

    bool release_all(std::string *error) {
        return release([](const Host &) { return true; }, error);
    }

    bool wait_all(char expected, std::string *error) {
        return wait([](const Host &) { return true; }, expected, error);
    }

    template <typename Which>
    bool release(const Which &which, std::string *error) {
        for (Host &h : hosts_)
            if (which(h) && !h.process_->send_line(std::string(1, kGo))) {
                *error = describe_death(h);
                return false;
            }
        return true;
    }

    template <typename Which>
    bool wait(const Which &which, char expected, std::string *error) {
        for (Host &h : hosts_) {
            if (!which(h)) continue;
            std::string line;
            if (!h.process_->read_line(line) || line != std::string(1, expected)) {
                *error = describe_death(h);
                return false;
            }
        }
        return true;
    }

    std::string describe_death(Host &h) {
        return "host " + runs_[h.base].school.uai + "/p" + std::to_string(h.process) +
               " stopped early (" + exit_text(h.process_->wait()) + ")";
    }

    bool reap_all(std::string *error) {
        bool ok = true;
        for (Host &h : hosts_) {
            const int status = h.process_->wait();
            if (status != 0) {
                *error = "host " + runs_[h.base].school.uai + "/p" + std::to_string(h.process) +
                         ": " + exit_text(status);
                ok = false;
            }
        }
        return ok;
    }

    int abort_hosts(const std::string &error) {
        kill_all_hosts();
        return setup_error(error);
    }

    // At the end of day d, every host is waiting: day d is complete and still readable (the
    // plugin keeps the current and the previous day).
    void check_day(BaseRun &run, uint32_t day) {
        const SimDay &d = run.calendar->days()[day];
        const std::vector<uint64_t> oracle = merge_day_masks(run.ledgers, day);
        DayRow row;
        row.users = check_users(log_, run.school.uai, "day " + d.date, *run.view, shm::kDay,
                                d.stamps.day, oracle);
        const Totals now = totals_of(run);
        row.recorded = minus(now, run.at_last_barrier);
        run.at_last_barrier = now;
        run.days.push_back(row);
        check_closing_periods(run, day);
    }

    // Everything that cannot be read before the end: counters, gauges, month and year users.
    void check_final(BaseRun &run, const Expectation &expected) {
        const std::string &uai = run.school.uai;
        check_counters(log_, uai, expected.cells, *run.view);
        check_gauges(log_, uai, expected, *run.view);
        check_labels(log_, uai, expected, *run.view);
        for (const std::string &f : expected.failures) log_.expect(uai, "failed calls, " + f, 0, 1);
        check_distributions(log_, uai, run.school, expected, run.calendar->school_years(),
                            *run.view);
    }

    // A month or school year is checked at the end of its last simulated day: later on, the
    // plugin keeps only the current and the previous one.
    void check_closing_periods(BaseRun &run, uint32_t day) {
        const std::vector<SimDay> &days = run.calendar->days();
        for (const shm::Window window : {shm::kMonth, shm::kSchoolYear}) {
            const auto number_of = [window](const SimDay &d) {
                return uint32_t(window == shm::kMonth ? d.stamps.month : d.stamps.school_year);
            };
            const uint32_t number = number_of(days[day]);
            if (day + 1 < days.size() && number_of(days[day + 1]) == number) continue;
            std::vector<uint64_t> oracle(run.school.user_count(), 0);
            for (uint32_t d = 0; d <= day; ++d) {
                if (number_of(days[d]) != number) continue;
                const std::vector<uint64_t> masks = merge_day_masks(run.ledgers, d);
                for (uint32_t u = 0; u < oracle.size(); ++u) oracle[u] |= masks[u];
            }
            PeriodRow row{window,
                          number,
                          window == shm::kMonth ? "month " + month_name(number)
                                                : "school year " + std::to_string(number),
                          {}};
            row.users =
                check_users(log_, run.school.uai, row.name, *run.view, window, number, oracle);
            run.periods.push_back(std::move(row));
        }
    }

    int finish() {
        std::string error;
        // The driver reads the diagnostics as one more process of the simulated machine's
        // current boot (a real boot id would look like a reboot to the segments).
        set_environment("SONDE_BOOT_ID", "shim-boot-" + std::to_string(boot_));
        auto plugin =
            Plugin::load(o_.lib, &error);  // only now, as one more process once the hosts are done
        if (!plugin) return setup_error(error);
        json doc = {{"scenario", "week"},
                    {"seed", o_.seed},
                    {"library", o_.lib},
                    {"version", plugin->version()},
                    {"config_dir", dirs_.config_dir},
                    {"shm_dir", dirs_.shm_dir},
                    {"processes_per_base", o_.processes},
                    {"elapsed_seconds", elapsed_}};
        const SimCalendar &cal = *runs_[0].calendar;
        doc["simulated"] = {{"timezone", cal.tz().name()},
                            {"first_day", cal.days().front().date},
                            {"last_day", cal.days().back().date},
                            {"start_unix", cal.days().front().start},
                            {"end_unix", cal.end() - 1}};  // the last simulated second
        std::printf("%s; replay took %.2f s\n", plugin->version(), elapsed_);
        for (uint32_t b = 0; b < runs_.size(); ++b) {
            BaseRun &run = runs_[b];
            Expectation expected = merge_ledgers(run.school, run.ledgers);
            if (o_.inject_mismatch && b == 0)
                expected.cells[event_cell(SONDE_EV_MESSAGE_SENT, 1)] += 1;
            check_final(run, expected);
            auto diag = base_diagnostics(*plugin, run.school.uai, dirs_.config_dir, dirs_.shm_dir,
                                         &error, run.calendar->end());
            if (!diag) return setup_error(error);
            check_diagnostics(log_, run.school.uai, *diag);
            print_week_base(run, expected, *diag);
            json base = week_base_json(run, expected, *diag);
            doc["bases"].push_back(base);
        }
        if (!o_.snapshots.empty()) {
            json section;
            if (!check_week_snapshots(log_, o_, runs_, &section, &error)) return setup_error(error);
            doc["snapshots"] = section;
        }
        print_check(log_, o_.check, o_.verbose);
        if (!reboot_note_.empty()) doc["reboot"] = reboot_note_;
        doc["check"] = check_json(log_);
        if (!o_.json.empty() && !write_json(o_.json, doc, &error)) return setup_error(error);
        return o_.check && !log_.mismatches().empty() ? kExitMismatch : kExitOk;
    }

    const Options &o_;
    Dirs dirs_;
    std::vector<BaseRun> runs_;
    SharedArena arena_;
    std::vector<size_t> ledger_offsets_;  // of each host's ledger in the arena, base by base
    std::vector<Host> hosts_;
    uint32_t boot_ = 1;  // the simulated machine's boots
    std::string reboot_note_;
    std::vector<std::string> saved_segments_;
    std::vector<char> saved_arena_;
    CheckLog log_;
    double elapsed_ = 0;
};

}  // namespace

int run_week(const Options &options) { return WeekDriver(options).run(); }

}  // namespace sonde::shim
