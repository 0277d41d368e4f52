#include "week_host.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "cells.hpp"
#include "plugin.hpp"
#include "process_runner.hpp"
#include "shared_arena.hpp"
#include "week_run.hpp"

namespace sonde::shim {
namespace {

bool send(char letter) { return write_driver_line(std::string(1, letter)); }
bool receive() {
    std::string line;
    return read_driver_line(line) && line == std::string(1, kGo);
}

class Replayer {
  public:
    Replayer(const WeekHost &host, const Plugin &plugin, HostBase base)
        : host_(host), api_(plugin.api()), base_(base) {}

    void set_clock(int64_t unix_seconds) {
        if (unix_seconds == clock_) return;
        api_.clock_set(base_.base, unix_seconds);
        clock_ = unix_seconds;
        ++host_.ledger.head().clock_sets;
    }

    // Process 0 at start-up: the class levels of the school and its inventory.
    void declare_school() {
        set_clock(host_.plan->setup_at);
        for (const ClassLevel &level : host_.school->levels) {
            const int rc = api_.level_declare(base_.base, level.slot, level.label.c_str());
            if (rc == SONDE_OK)
                host_.ledger.head().labels_declared |= 1u << level.slot;
            else
                host_.ledger.on_failure(uint32_t(ActionKind::Gauge), rc);
        }
        for (const GaugeSetting &g : host_.plan->inventory) gauge(g.gauge, g.level, g.value);
    }

    // The calls of this process in [from, to) of day `day` (the plan is in time order).
    void replay(uint32_t day, int64_t from, int64_t to) {
        const uint32_t year_slot = host_.calendar->year_slot(day);
        const std::vector<Action> &actions = host_.plan->days[day];
        if (day != cursor_day_) cursor_day_ = day, cursor_ = 0;
        for (; cursor_ < actions.size() && actions[cursor_].at < to; ++cursor_) {
            const Action &a = actions[cursor_];
            if (a.process != host_.process || a.at < from) continue;
            // The plugin's clock moves minute by minute, never back before the hour's start.
            set_clock(std::max(from, a.at - a.at % 60));
            perform(a, day, year_slot);
        }
    }

  private:
    void perform(const Action &a, uint32_t day, uint32_t year_slot) {
        const Ledger &ledger = host_.ledger;
        int rc = SONDE_OK;
        switch (a.kind) {
            case ActionKind::Connect: {
                const std::string &key = (*host_.user_keys)[a.subject];
                rc = api_.connection(base_.writer, a.what, a.medium, a.access, key.data(),
                                     key.size());
                if (rc == SONDE_OK)
                    ledger.on_connection(day, a.subject,
                                         connection_cell(a.what, a.medium, a.access));
                break;
            }
            case ActionKind::Count:
                rc = api_.count(base_.writer, a.what, a.level, a.delta);
                if (rc == SONDE_OK) ledger.on_count(event_cell(a.what, a.level), a.delta);
                break;
            case ActionKind::Student: {
                const std::string &key = (*host_.user_keys)[a.subject];  // students come first
                rc = api_.student(base_.writer, a.what, key.data(), key.size(), a.level, a.delta);
                if (rc == SONDE_OK)
                    ledger.on_student(year_slot, a.subject, a.what, tally_cell(a.what, a.level),
                                      a.delta);
                break;
            }
            case ActionKind::Gauge:
                gauge(a.what, a.level, a.delta);
                return;
        }
        if (rc != SONDE_OK) ledger.on_failure(uint32_t(a.kind), rc);
    }

    void gauge(uint32_t gauge_id, uint32_t level, int64_t value) {
        const int rc = api_.gauge_set(base_.base, gauge_id, level, value);
        if (rc == SONDE_OK)
            host_.ledger.on_gauge(gauge_cell(gauge_id, level), value, clock_);
        else
            host_.ledger.on_failure(uint32_t(ActionKind::Gauge), rc);
    }

    const WeekHost &host_;
    const sonde_api &api_;
    HostBase base_;
    int64_t clock_ = -1;
    uint32_t cursor_day_ = UINT32_MAX;
    size_t cursor_ = 0;
};

}  // namespace

int run_week_host(const WeekHost &host) {
    const std::string who = "[" + host.school->uai + "/p" + std::to_string(host.process) + "] ";
    std::string error;
    auto plugin = Plugin::load(host.lib, &error);
    if (!plugin) {
        std::fprintf(stderr, "%s%s\n", who.c_str(), error.c_str());
        return 3;
    }
    auto base = open_host_base(*plugin, host.school->uai, host.config_dir, host.shm_dir, &error);
    if (!base) {
        std::fprintf(stderr, "%s%s\n", who.c_str(), error.c_str());
        return 3;
    }
    Replayer replayer(host, *plugin, *base);
    const std::vector<SimDay> &days = host.calendar->days();
    // Every host starts on the simulated clock at once (its shipper must never see real time).
    const bool resumed = host.start_day != 0 || host.start_hour != 0;
    replayer.set_clock(days[host.start_day].hours[host.start_hour]);
    if (host.process == 0 && !resumed) replayer.declare_school();
    host.ledger.head().ready = 1;
    if (!send(kReady)) return 4;

    for (uint32_t day = host.start_day; day < days.size(); ++day) {
        const SimDay &d = days[day];
        for (size_t h = day == host.start_day ? host.start_hour : 0; h < d.hours.size(); ++h) {
            if (!receive()) return 4;  // the driver is gone
            replayer.replay(day, d.hours[h], d.hour_end(h));
            if (!send(kHourDone)) return 4;
            // Exact hour windows: once every host is done with the hour, each moves to the
            // next local hour and records nothing of it until the driver releases them all.
            if (!receive()) return 4;
            replayer.set_clock(d.hour_end(h));
            if (!send(kClockMoved)) return 4;
        }
    }
    if (!receive()) return 4;
    close_host_base(*plugin, *base);
    return 0;
}

int run_week_host_role(const Options &o) {
    std::string error;
    BaseRun run;
    run.school = make_school(o.host_base, o.students, o.school_year);
    const std::string who = "[" + run.school.uai + "/p" + std::to_string(o.host_index) + "] ";
    // The configuration the driver wrote or kept (its time zone and school year).
    if (load_config(config_path(o.config_dir, run.school.uai), run.config, &error) !=
            ConfigLoad::Ok ||
        !plan_base_run(o, run, &error)) {
        std::fprintf(stderr, "%s%s\n", who.c_str(),
                     error.empty() ? "no configuration" : error.c_str());
        return 3;
    }
    SharedArena arena = SharedArena::open(o.arena);
    const LedgerShape shape = ledger_shape(o, run);
    if (o.arena_offset + shape.bytes() > arena.size()) {
        std::fprintf(stderr, "%sledger past the end of the arena\n", who.c_str());
        return 3;
    }
    const std::vector<SimDay> &days = run.calendar->days();
    if (o.resume_day >= days.size() || o.resume_hour >= days[o.resume_day].hours.size()) {
        std::fprintf(stderr, "%s--resume past the last hour\n", who.c_str());
        return 3;
    }
    WeekHost host{o.lib,        o.config_dir,   o.shm_dir,
                  &run.school,  &*run.calendar, &run.plan,
                  &run.keys,    o.host_index,   Ledger(arena.data() + o.arena_offset, shape),
                  o.resume_day, o.resume_hour};
    return run_week_host(host);
}

}  // namespace sonde::shim
