#pragma once
// The HTTPS server: Boost.Beast over Asio's OpenSSL streams, C++20 coroutines, TLS terminated
// here. Deadlines for the handshake, the request's headers, its body and an idle keep-alive
// connection; a cap on open connections (docs/delivery.md#configuration).

#include <memory>
#include <string>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include "config.hpp"
#include "handler.hpp"
#include "metrics.hpp"

namespace sonde::console {

class WebApp;

class Server {
  public:
    // `web`: the web pages (accounts_web.hpp), served for every target but the upload API,
    // /healthz and /metrics; nullptr: those targets get the API's 404.
    Server(const Config &config, Handler &handler, Metrics &metrics, WebApp *web = nullptr);
    ~Server();
    // TLS context, bind, listen, port file. False with `error` on failure.
    bool start(std::string *error);
    // Serves on config.threads threads until SIGINT or SIGTERM.
    void run();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sonde::console
