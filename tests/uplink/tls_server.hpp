#pragma once
// A small HTTPS/1.1 server for the uplink's tests, on 127.0.0.1 and an ephemeral port: its own
// key and self-signed certificate (generated here), keep-alive, Content-Length bodies,
// 100-continue. One connection at a time, in its own thread. The handler plays the console.

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace testing {

struct HttpRequest {
    std::string method, path;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

struct HttpReply {
    int status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

class TlsServer {
  public:
    using Handler = std::function<HttpReply(const HttpRequest &)>;
    explicit TlsServer(Handler handler);
    ~TlsServer();
    TlsServer(const TlsServer &) = delete;
    TlsServer &operator=(const TlsServer &) = delete;

    std::string url() const;  // https://127.0.0.1:PORT
    std::string pin() const;  // sha256//BASE64 of the certificate's SubjectPublicKeyInfo
    const std::string &certificate_pem() const { return cert_pem_; }
    int connections() const { return connections_.load(); }
    int requests() const { return requests_.load(); }

  private:
    void serve();
    void serve_connection(int fd);

    Handler handler_;
    void *ctx_ = nullptr;  // SSL_CTX
    int listen_fd_ = -1, port_ = 0;
    int stop_pipe_[2] = {-1, -1};
    std::string pin_, cert_pem_;
    std::atomic<int> connections_{0}, requests_{0};
    std::thread thread_;
};

// The pin of a fresh key that no server uses.
std::string unrelated_pin();

}  // namespace testing
