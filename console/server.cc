#include "server.hpp"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include "accounts_web.hpp"
#include "dispatch.hpp"
#include "log.hpp"
#include "web.hpp"

namespace sonde::console {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

std::string str(beast::string_view v) { return std::string(v.data(), v.size()); }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool write_port_file(const std::string &path, uint16_t port, std::string *error) {
    const std::string tmp = path + ".tmp";
    FILE *f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%u\n", unsigned(port)) < 0 || std::fclose(f) != 0) {
        if (error) *error = "cannot write " + tmp;
        return false;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        if (error) *error = "cannot rename " + tmp;
        return false;
    }
    return true;
}

}  // namespace

struct Server::Impl {
    const Config &config;
    Handler &handler;
    Metrics &metrics;
    WebApp *web;
    net::io_context ioc;
    ssl::context tls{ssl::context::tls_server};
    tcp::acceptor acceptor{ioc};

    Impl(const Config &c, Handler &h, Metrics &m, WebApp *w)
        : config(c), handler(h), metrics(m), web(w) {}

    static std::chrono::seconds secs(unsigned s) { return std::chrono::seconds(s); }

    net::awaitable<void> accept_loop() {
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(
                net::make_strand(ioc), net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                if (ec == net::error::operation_aborted) co_return;
                log(Level::Warn, "accept: " + ec.message());
                continue;
            }
            if (metrics.connections.load() >= int64_t(config.max_connections)) {
                socket.close(ec);  // cheaper than any answer: the client retries later
                continue;
            }
            ++metrics.connections;
            auto executor = socket.get_executor();
            net::co_spawn(executor, session(std::move(socket)), net::detached);
        }
    }

    // One connection: handshake, then requests until close, error or a deadline.
    net::awaitable<void> session(tcp::socket socket) {
        struct Guard {
            Metrics &m;
            ~Guard() { --m.connections; }
        } guard{metrics};
        boost::system::error_code ec;
        const tcp::endpoint remote = socket.remote_endpoint(ec);
        const std::string peer = ec ? "?" : remote.address().to_string();
        Stream stream(std::move(socket), tls);
        auto &lowest = beast::get_lowest_layer(stream);
        auto token = net::redirect_error(net::use_awaitable, ec);

        lowest.expires_after(secs(config.handshake_timeout));
        co_await stream.async_handshake(ssl::stream_base::server, token);
        if (ec) co_return;
        beast::flat_buffer buffer;
        bool first = true;
        for (;;) {
            if (buffer.size() == 0) {  // waiting for the next request: idle deadline
                lowest.expires_after(secs(first ? config.header_timeout : config.idle_timeout));
                const size_t n = co_await stream.async_read_some(buffer.prepare(4096), token);
                if (ec) break;
                buffer.commit(n);
            }
            first = false;
            lowest.expires_after(secs(config.header_timeout));
            http::request_parser<http::vector_body<uint8_t>> parser;
            parser.header_limit(16 * 1024);
            // Checked against the declared length once the headers are in (413, unread body).
            parser.body_limit(UINT64_MAX);
            co_await http::async_read_header(stream, buffer, parser, token);
            if (ec) {
                if (ec != beast::error::timeout && ec != http::error::end_of_stream &&
                    ec != net::error::eof && ec != net::ssl::error::stream_truncated) {
                    Answer bad{400, R"({"status":"rejected","reason":"bad request: )" +
                                        ec.message() + "\"}"};
                    bad.close = true;
                    co_await respond(stream, bad, 11, token);
                }
                break;
            }
            http::request<http::vector_body<uint8_t>> &req = parser.get();
            const std::string method = str(req.method_string());
            const std::string target = str(req.target());
            const std::string content_type = str(req[http::field::content_type]);
            const std::string date = str(req[http::field::date]);
            Handler::Head head{method, target, content_type, std::nullopt, parser.chunked(), peer};
            head.date = date;
            head.headers_unix = std::time(nullptr);
            if (const auto length = parser.content_length()) head.content_length = *length;

            std::optional<Answer> early = answer_before_body(config, handler, web, head);
            Answer answer;
            if (early) {
                answer = std::move(*early);
            } else {
                if (iequals(str(req[http::field::expect]), "100-continue")) {
                    http::response<http::empty_body> go{http::status::continue_, req.version()};
                    lowest.expires_after(secs(config.header_timeout));
                    co_await http::async_write(stream, go, token);
                    if (ec) break;
                }
                parser.body_limit(body_limit(config, web, head));
                lowest.expires_after(secs(config.body_timeout));
                co_await http::async_read(stream, buffer, parser, token);
                if (ec) {
                    if (ec == beast::error::timeout)
                        log(Level::Warn, "slow client " + peer + ": body not received within " +
                                             std::to_string(config.body_timeout) + " s, closed");
                    break;
                }
                answer =
                    answer_with_body(handler, web, head, str(req[http::field::cookie]), req.body());
            }
            const bool keep = !answer.close && req.keep_alive();
            answer.close = !keep;
            co_await respond(stream, answer, req.version(), token, method == "HEAD");
            if (ec || !keep) break;
        }
        lowest.expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(token);
    }

    template <class Token>
    // A HEAD request gets the GET's headers, Content-Length included, and no body.
    net::awaitable<void> respond(Stream &stream, const Answer &a, unsigned version, Token token,
                                 bool head = false) {
        http::response<http::string_body> res{http::int_to_status(a.status), version};
        res.set(http::field::server, "sonde-console");
        res.set(http::field::content_type, a.content_type);
        if (a.retry_after) res.set(http::field::retry_after, std::to_string(a.retry_after));
        for (const auto &[name, value] : a.headers) res.insert(name, value);
        res.keep_alive(!a.close);
        if (head) {
            res.content_length(a.body.size());
        } else {
            res.body() = a.body;
            res.prepare_payload();
        }
        beast::get_lowest_layer(stream).expires_after(secs(config.body_timeout));
        co_await http::async_write(stream, res, token);
    }
};

Server::Server(const Config &config, Handler &handler, Metrics &metrics, WebApp *web)
    : impl_(std::make_unique<Impl>(config, handler, metrics, web)) {}

Server::~Server() = default;

bool Server::start(std::string *error) {
    Impl &s = *impl_;
    boost::system::error_code ec;
    s.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(s.tls.native_handle(), TLS1_2_VERSION);
    s.tls.use_certificate_chain_file(s.config.tls_certificate, ec);
    if (!ec) s.tls.use_private_key_file(s.config.tls_private_key, ssl::context::pem, ec);
    if (ec) {
        if (error) *error = "TLS certificate or key: " + ec.message();
        return false;
    }
    const net::ip::address address = net::ip::make_address(s.config.listen_address, ec);
    if (ec) {
        if (error) *error = "listen address " + s.config.listen_address + ": " + ec.message();
        return false;
    }
    const tcp::endpoint endpoint{address, s.config.listen_port};
    s.acceptor.open(endpoint.protocol(), ec);
    if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) s.acceptor.bind(endpoint, ec);
    if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        if (error)
            *error = "listen on " + s.config.listen_address + ":" +
                     std::to_string(s.config.listen_port) + ": " + ec.message();
        return false;
    }
    const uint16_t port = s.acceptor.local_endpoint().port();
    if (!s.config.port_file.empty() && !write_port_file(s.config.port_file, port, error))
        return false;
    log(Level::Info, "listening on " + s.config.listen_address + ":" + std::to_string(port));
    return true;
}

void Server::run() {
    Impl &s = *impl_;
    net::signal_set signals(s.ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code &, int sig) {
        log(Level::Info, "signal " + std::to_string(sig) + ": stopping");
        s.ioc.stop();
    });
    net::co_spawn(s.acceptor.get_executor(), s.accept_loop(), net::detached);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < s.config.threads; ++i) threads.emplace_back([&] { s.ioc.run(); });
    s.ioc.run();
    for (std::thread &t : threads) t.join();
}

}  // namespace sonde::console
