// service.hpp on POSIX: the stop signals; no services (systemd runs sonde-uplink as it is).
#include <signal.h>
#include <time.h>

#include "service.hpp"

namespace sonde::uplink {
namespace {

class SignalStopWait final : public StopWait {
  public:
    SignalStopWait() {
        sigemptyset(&signals_);
        sigaddset(&signals_, SIGTERM);
        sigaddset(&signals_, SIGINT);
        sigaddset(&signals_, SIGHUP);
    }
    bool block() { return pthread_sigmask(SIG_BLOCK, &signals_, nullptr) == 0; }
    bool wait(int64_t ms) override {
        if (stopped_) return true;
        timespec ts{time_t(ms / 1000), long(ms % 1000) * 1'000'000};
        if (sigtimedwait(&signals_, nullptr, &ts) > 0) stopped_ = true;
        return stopped_;
    }

  private:
    sigset_t signals_;
    bool stopped_ = false;
};

}  // namespace

std::unique_ptr<StopWait> console_stop_wait() {
    auto s = std::make_unique<SignalStopWait>();
    if (!s->block()) return nullptr;
    return s;
}

int service_run(const std::function<int(StopWait &)> &) { return 2; }

int service_install(const std::string &, const std::string &, const std::string &,
                    std::ostream &err) {
    err << "sonde-uplink: no services here: use the systemd unit (sonde-uplink.service)\n";
    return 1;
}

int service_uninstall(std::ostream &err) { return service_install("", "", "", err); }

}  // namespace sonde::uplink
