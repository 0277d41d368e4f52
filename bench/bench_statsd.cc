// A statsd-style client: one datagram per event on a connected UDP socket to a receiver on
// 127.0.0.1 (never any other address). A drain thread reads and discards the datagrams, as a
// local statsd daemon would; it competes for the same two cores, like the daemon would.

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace sonde_bench {
namespace {

constexpr char kDatagram[] = "sonde.message_sent:1|c";

class LoopbackReceiver {
  public:
    LoopbackReceiver() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) fail("socket");
        int size = 16 << 20;  // SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max
        if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        timeval tick{0, 100000};  // wake up now and then to notice stop_
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
        addr_.sin_family = AF_INET;
        addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr_.sin_port = 0;  // ephemeral
        socklen_t len = sizeof addr_;
        if (::bind(fd_, reinterpret_cast<sockaddr *>(&addr_), sizeof addr_) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr_), &len) != 0)
            fail("bind 127.0.0.1");
        drain_ = std::thread([this] {
            char buf[512];
            while (!stop_.load(std::memory_order_relaxed))
                if (::recv(fd_, buf, sizeof buf, 0) >= 0)
                    received_.fetch_add(1, std::memory_order_relaxed);
        });
    }
    ~LoopbackReceiver() {
        stop_.store(true);
        drain_.join();
        ::close(fd_);
    }
    const sockaddr_in &address() const { return addr_; }

  private:
    [[noreturn]] static void fail(const char *what) {
        std::perror(what);
        std::exit(2);
    }
    int fd_ = -1;
    sockaddr_in addr_{};
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> received_{0};
    std::thread drain_;
};

const LoopbackReceiver &receiver() {
    static LoopbackReceiver r;
    return r;
}

void BM_StatsdUdp(benchmark::State &state) {
    const sockaddr_in &to = receiver().address();
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr *>(&to), sizeof to) != 0) {
        state.SkipWithError("cannot connect a UDP socket to 127.0.0.1");
        return;
    }
    int64_t errors = 0;
    for (auto _ : state) errors += ::send(fd, kDatagram, sizeof kDatagram - 1, 0) < 0;
    ::close(fd);
    state.counters["send_errors"] = double(errors);
}

BENCHMARK(BM_StatsdUdp)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace sonde_bench
