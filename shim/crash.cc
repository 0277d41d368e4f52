#include "crash.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "base_setup.hpp"
#include "compare.hpp"
#include "crash_check.hpp"
#include "crash_writer.hpp"
#include "plugin.hpp"
#include "process_runner.hpp"
#include "report.hpp"
#include "rng.hpp"
#include "shared_arena.hpp"
#include "shm/segment.hpp"
#include "sim_calendar.hpp"

namespace sonde::shim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class CrashDriver {
  public:
    explicit CrashDriver(const Options &o) : o_(o) {}
    ~CrashDriver() {
        incarnations_.clear();   // kills any writer left after a failure
        arena_ = SharedArena();  // unmapped, its file deleted
        std::error_code ec;
        if (!dirs_.scratch.empty()) std::filesystem::remove(dirs_.scratch, ec);  // if empty
    }

    int run() {
        std::string error;
        auto dirs = prepare_dirs(o_, &error);
        if (!dirs) return fail(error);
        dirs_ = *dirs;
        if (!prepare(&error)) return fail(error);
        std::printf(
            "sonde-shim crash: %u bases x %u writer processes, %u kills per base, seed %llu\n",
            o_.bases, o_.processes, o_.kills, static_cast<unsigned long long>(o_.seed));
        std::printf("library %s\nconfig %s\nshm    %s\n", o_.lib.c_str(), dirs_.config_dir.c_str(),
                    dirs_.shm_dir.c_str());
        const auto started = std::chrono::steady_clock::now();
        for (uint32_t b = 0; b < o_.bases; ++b)
            for (uint32_t p = 0; p < o_.processes; ++p)
                if (!start_writer(b, &error)) return abort_all(error);
        if (!kill_and_replace(&error)) return abort_all(error);
        std::this_thread::sleep_for(50ms);  // replacements and survivors keep counting a while
        control_->stop.store(1, std::memory_order_release);
        if (!reap_survivors(&error)) return abort_all(error);
        elapsed_ =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return check_and_report();
    }

  private:
    int fail(const std::string &error) {
        std::fprintf(stderr, "sonde-shim: %s\n", error.c_str());
        return kExitSetup;
    }

    bool prepare(std::string *error) {
        for (uint32_t b = 0; b < o_.bases; ++b) {
            CrashBase s;
            s.uai = uai_of(b);
            std::string note;
            auto config = prepare_config(dirs_.config_dir, s.uai, o_.seed, {}, &note, error);
            if (!config) return false;
            remove_stale_segment(dirs_.shm_dir, s.uai);
            auto cal =
                SimCalendar::make(config->timezone, config->school_year_start, o_.start, 1, error);
            if (!cal) return false;
            clock_ = cal->days()[0].start + 10 * 3600;  // Monday 10:00: everyone at work
            s.stamps = cal->stamps(clock_);
            bases_.push_back(s);
        }
        const size_t journals = size_t(o_.bases) * (o_.processes + o_.kills);
        arena_ = SharedArena::create(dirs_.scratch + "/oracle.arena",
                                     sizeof(CrashControl) + 64 + journals * sizeof(Journal));
        control_ = new (arena_.data()) CrashControl{};
        char *at = arena_.data() + 64;
        for (size_t i = 0; i < journals; ++i)
            free_journals_.push_back(new (at + i * sizeof(Journal)) Journal{});
        std::reverse(free_journals_.begin(), free_journals_.end());
        return true;
    }

    bool start_writer(uint32_t base, std::string *error) {
        if (free_journals_.empty()) {
            *error = "out of journals";
            return false;
        }
        Journal *j = free_journals_.back();
        free_journals_.pop_back();
        j->state.store(kStarting, std::memory_order_relaxed);
        // The writer is the shim again (--role crash-writer); its call sequence is seeded by
        // its base and incarnation.
        const std::vector<std::string> role = {
            "--role",         "crash-writer",
            "--arena",        dirs_.scratch + "/oracle.arena",
            "--arena-offset", std::to_string(reinterpret_cast<char *>(j) - arena_.data()),
            "--host",         std::to_string(base) + ":" + std::to_string(incarnations_.size()),
            "--clock",        std::to_string(clock_)};
        auto process = start_host(o_, dirs_, role, {}, error);
        if (!process) return false;
        incarnations_.push_back({base, j, std::move(process)});
        ++bases_[base].started;
        return true;
    }

    // A live writer of the base that is recording (killing one still inside dlopen/base_open
    // would test process start-up, not counting). Waits for one if needed.
    Incarnation *pick_victim(uint32_t base, Rng &rng) {
        // A generous guard: a process starts in milliseconds on Linux, in up to seconds
        // under Wine.
        for (int waited_ms = 0; waited_ms < 60000; ++waited_ms) {
            std::vector<Incarnation *> live;
            for (Incarnation &inc : incarnations_)
                if (inc.base == base && inc.process &&
                    inc.journal->state.load(std::memory_order_acquire) == kRecording &&
                    inc.journal->calls.load(std::memory_order_relaxed) > 0)
                    live.push_back(&inc);
            if (!live.empty()) return live[rng.below(uint32_t(live.size()))];
            std::this_thread::sleep_for(1ms);
        }
        return nullptr;
    }

    bool kill_and_replace(std::string *error) {
        Rng schedule(mix(o_.seed, 0x4b494c4cULL));
        for (uint32_t k = 0; k < o_.kills * o_.bases; ++k) {
            const uint32_t base = k % o_.bases;
            Incarnation *victim = pick_victim(base, schedule);
            if (!victim) {
                *error = "no writer of " + bases_[base].uai + " started recording within 60 s";
                return false;
            }
            // A random moment in the victim's life: most land inside a plugin call or the
            // journal around it.
            std::this_thread::sleep_for(std::chrono::microseconds(schedule.between(200, 6000)));
            int status = 0;
            if (victim->process->try_wait(status)) {
                *error = "writer of " + bases_[base].uai +
                         " ended before its kill: " + exit_text(status);
                return false;
            }
            victim->process->kill();  // SIGKILL or TerminateProcess: no clean-up
            victim->process->wait();
            victim->process.reset();
            victim->killed = true;
            victim->journal->state.store(kKilled, std::memory_order_relaxed);
            ++bases_[base].killed;
            if (!start_writer(base, error)) return false;
        }
        return true;
    }

    bool reap_survivors(std::string *error) {
        for (Incarnation &inc : incarnations_) {
            if (!inc.process) continue;
            const int status = inc.process->wait();
            inc.process.reset();
            if (status != 0) {
                *error = "surviving writer of " + bases_[inc.base].uai + ": " + exit_text(status);
                return false;
            }
        }
        return true;
    }

    int abort_all(const std::string &error) {
        control_->stop.store(1, std::memory_order_release);
        for (Incarnation &inc : incarnations_)
            if (inc.process) {
                inc.process->kill();
                inc.process->wait();
                inc.process.reset();
            }
        return fail(error);
    }

    int check_and_report() {
        std::string error;
        auto plugin = Plugin::load(o_.lib, &error);
        if (!plugin) return fail(error);
        std::printf("%s; %.2f s of crashes\n", plugin->version(), elapsed_);
        json doc = {{"scenario", "crash"},
                    {"seed", o_.seed},
                    {"library", o_.lib},
                    {"version", plugin->version()},
                    {"writers_per_base", o_.processes},
                    {"kills_per_base", o_.kills},
                    {"elapsed_seconds", elapsed_}};
        for (uint32_t b = 0; b < bases_.size(); ++b) {
            auto view =
                reader::SegmentView::open(shm::segment_path(dirs_.shm_dir, bases_[b].uai), &error);
            if (!view) return fail(error);
            auto diag =
                base_diagnostics(*plugin, bases_[b].uai, dirs_.config_dir, dirs_.shm_dir, &error);
            if (!diag) return fail(error);
            doc["bases"].push_back(
                check_crash_base(log_, bases_[b], b, incarnations_, *view, *diag, o_));
        }
        print_check(log_, o_.check, o_.verbose);
        doc["check"] = check_json(log_);
        if (!o_.json.empty() && !write_json(o_.json, doc, &error)) return fail(error);
        return o_.check && !log_.mismatches().empty() ? kExitMismatch : kExitOk;
    }

    const Options &o_;
    Dirs dirs_;
    int64_t clock_ = 0;
    std::vector<CrashBase> bases_;
    SharedArena arena_;
    CrashControl *control_ = nullptr;
    std::vector<Journal *> free_journals_;
    std::vector<Incarnation> incarnations_;
    CheckLog log_;
    double elapsed_ = 0;
};

}  // namespace

int run_crash(const Options &options) { return CrashDriver(options).run(); }

}  // namespace sonde::shim
