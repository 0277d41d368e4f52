#include "tls_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <stdexcept>

namespace testing {
namespace {

std::string pin_of(EVP_PKEY *key) {
    unsigned char *der = nullptr;
    const int len = i2d_PUBKEY(key, &der);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der, size_t(len), digest);
    OPENSSL_free(der);
    unsigned char b64[64] = {};
    EVP_EncodeBlock(b64, digest, sizeof digest);
    return "sha256//" + std::string(reinterpret_cast<char *>(b64));
}

void add_extension(X509 *cert, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("X509V3_EXT_conf_nid");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

std::string lower(std::string s) {
    for (char &c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::string unrelated_pin() {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    const std::string pin = pin_of(key);
    EVP_PKEY_free(key);
    return pin;
}

TlsServer::TlsServer(Handler handler) : handler_(std::move(handler)) {
    ::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the test
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char *>("sonde test console"), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    add_extension(cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    X509_sign(cert, key, EVP_sha256());
    pin_ = pin_of(key);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char *data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    cert_pem_.assign(data, size_t(n));
    BIO_free(bio);

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
        throw std::runtime_error("SSL_CTX_use_certificate");
    X509_free(cert);
    EVP_PKEY_free(key);
    ctx_ = ctx;

    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0)
        throw std::runtime_error("bind/listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this] { serve(); });
}

TlsServer::~TlsServer() {
    (void)!::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    SSL_CTX_free(static_cast<SSL_CTX *>(ctx_));
}

std::string TlsServer::url() const { return "https://127.0.0.1:" + std::to_string(port_); }
std::string TlsServer::pin() const { return pin_; }

void TlsServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents) return;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++connections_;
        serve_connection(fd);
        ::close(fd);
    }
}

void TlsServer::serve_connection(int fd) {
    timeval tv{5, 0};  // hang guard: a silent client is dropped
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = SSL_new(static_cast<SSL_CTX *>(ctx_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return;
    }
    std::string buffer;
    auto fill = [&]() {
        char chunk[16384];
        const int n = SSL_read(ssl, chunk, sizeof chunk);
        if (n <= 0) return false;
        buffer.append(chunk, size_t(n));
        return true;
    };
    auto send_all = [&](const std::string &data) {
        return SSL_write(ssl, data.data(), int(data.size())) == int(data.size());
    };
    for (;;) {
        size_t end;
        while ((end = buffer.find("\r\n\r\n")) == std::string::npos)
            if (!fill()) goto done;
        {
            HttpRequest req;
            const std::string head = buffer.substr(0, end);
            buffer.erase(0, end + 4);
            size_t line_end = head.find("\r\n");
            const std::string request_line = head.substr(0, line_end);
            const size_t sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
            req.method = request_line.substr(0, sp1);
            req.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
            while (line_end != std::string::npos) {
                const size_t next = head.find("\r\n", line_end + 2);
                const std::string line = head.substr(line_end + 2, next - line_end - 2);
                const size_t colon = line.find(':');
                if (colon != std::string::npos) {
                    size_t v = colon + 1;
                    while (v < line.size() && line[v] == ' ') ++v;
                    req.headers[lower(line.substr(0, colon))] = line.substr(v);
                }
                line_end = next;
            }
            const size_t length =
                req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
            if (lower(req.headers["expect"]) == "100-continue" &&
                !send_all("HTTP/1.1 100 Continue\r\n\r\n"))
                goto done;
            while (buffer.size() < length)
                if (!fill()) goto done;
            req.body = buffer.substr(0, length);
            buffer.erase(0, length);
            ++requests_;
            const HttpReply reply = handler_(req);
            std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
            out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
            for (const auto &[n, v] : reply.headers) out += n + ": " + v + "\r\n";
            out += "\r\n" + reply.body;
            if (!send_all(out)) goto done;
        }
    }
done:
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
}

}  // namespace testing
