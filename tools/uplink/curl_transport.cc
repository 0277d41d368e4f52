#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "pacing.hpp"
#include "platform/read_file.hpp"
#include "time/calendar.hpp"
#include "transport.hpp"

namespace sonde::uplink {
namespace {

#ifdef _WIN32
// A CA bundle (Debian's whole ca-certificates.crt is about 220 KB).
constexpr uint64_t kMaxCaFileBytes = 16 * 1024 * 1024;
#endif

struct Upload {
    std::span<const uint8_t> body;
    size_t sent = 0;
};

struct Received {
    std::string body;
    bool too_long = false;
    std::optional<int64_t> retry_after_s;
};

size_t read_body(char *buffer, size_t size, size_t count, void *user) {
    auto *up = static_cast<Upload *>(user);
    const size_t n = std::min(size * count, up->body.size() - up->sent);
    std::memcpy(buffer, up->body.data() + up->sent, n);
    up->sent += n;
    return n;
}

size_t write_body(char *data, size_t size, size_t count, void *user) {
    auto *r = static_cast<Received *>(user);
    const size_t n = size * count;
    if (r->body.size() + n > kMaxAnswerBytes) {
        r->too_long = true;
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
    }
    r->body.append(data, n);
    return n;
}

size_t read_header(char *data, size_t size, size_t count, void *user) {
    auto *r = static_cast<Received *>(user);
    const std::string_view line(data, size * count);
    constexpr std::string_view kName = "retry-after:";
    auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
    if (line.size() > kName.size() && std::equal(kName.begin(), kName.end(), line.begin(),
                                                 [&](char a, char b) { return a == lower(b); }))
        r->retry_after_s = parse_retry_after(line.substr(kName.size()));
    // A new response (after 100 Continue, or a proxy's CONNECT answer) starts with a status
    // line: forget what an earlier one said.
    if (line.starts_with("HTTP/")) r->retry_after_s.reset();
    return size * count;
}

}  // namespace

std::string http_date(int64_t unix) {
    static constexpr const char *kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static constexpr const char *kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const sonde::time::TimeZone utc = sonde::time::TimeZone::utc();
    const sonde::time::LocalTime t = sonde::time::to_local(utc, unix);  // no gmtime_r in MinGW
    if (t.year < 0 || t.year > 9999) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kWeekdays[t.weekday],
                  t.day, kMonths[t.month - 1], t.year, t.hour, t.minute, t.second);
    return buf;
}

namespace {

class CurlTransport final : public Transport {
  public:
    CurlTransport(CURL *easy, TransportConfig config) : easy_(easy), config_(std::move(config)) {
        headers_ = curl_slist_append(nullptr, "Content-Type: application/vnd.sonde.snapshot");
    }
    ~CurlTransport() override {
        curl_easy_cleanup(easy_);
        curl_slist_free_all(headers_);
    }

    Answer put(const std::string &path, std::span<const uint8_t> body) override {
        Answer a;
        Upload up{body, 0};
        Received rx;
        char curl_error[CURL_ERROR_SIZE] = {};
        const std::string url = config_.url + path;
        // The uplink's clock as the request leaves, for the console's clock-skew measure
        // (docs/delivery.md#clock): the standard Date header, taken now.
        const std::string date = "Date: " + http_date(std::time(nullptr));
        curl_slist *headers = curl_slist_append(nullptr, date.c_str());
        for (const curl_slist *h = headers_; headers && h; h = h->next) {
            curl_slist *longer = curl_slist_append(headers, h->data);
            if (!longer) curl_slist_free_all(headers);  // out of memory: no Date this time
            headers = longer;
        }
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers ? headers : headers_);
        curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.size()));
        curl_easy_setopt(easy_, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(easy_, CURLOPT_READDATA, &up);
        curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, write_body);
        curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &rx);
        curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, read_header);
        curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &rx);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, curl_error);
        const CURLcode rc = curl_easy_perform(easy_);
        curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);
        curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
        curl_slist_free_all(headers);
        if (rx.too_long) {
            a.transport_error = "answer longer than 64 KiB: aborted";
            return a;
        }
        if (rc != CURLE_OK) {
            a.transport_error = std::string(curl_easy_strerror(rc));
            if (curl_error[0]) a.transport_error += std::string(": ") + curl_error;
            return a;
        }
        a.transport_ok = true;
        curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &a.http_status);
        a.body = std::move(rx.body);
        a.retry_after_s = rx.retry_after_s;
        return a;
    }

  private:
    CURL *easy_;
    curl_slist *headers_ = nullptr;
    TransportConfig config_;

  public:
    bool configure(std::string *error) {
        auto set = [&](CURLcode rc, const char *what) {
            if (rc != CURLE_OK && error && error->empty())
                *error = std::string(what) + ": " + curl_easy_strerror(rc);
            return rc == CURLE_OK;
        };
        bool ok = true;
        ok &= set(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L), "nosignal");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "https"), "protocols");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L), "redirects");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2)),
                  "TLS version");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_), "headers");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_USERAGENT, "sonde-uplink/1"), "user agent");
        ok &= set(
            curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, long(config_.connect_timeout_ms)),
            "connect timeout");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, long(config_.transfer_timeout_ms)),
                  "transfer timeout");
        // A stalled transfer (under 1 KiB/s for 30 s) ends before the total timeout.
        ok &= set(curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_LIMIT, 1024L), "low speed");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_LOW_SPEED_TIME, 30L), "low speed time");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(kMaxAnswerBytes)),
                  "max answer");
        ok &= set(curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L), "keepalive");
        // No proxy from the environment: only the configured one.
        ok &= set(curl_easy_setopt(easy_, CURLOPT_PROXY, config_.proxy.c_str()), "proxy");
        if (!config_.proxy.empty())
            ok &= set(curl_easy_setopt(easy_, CURLOPT_HTTPPROXYTUNNEL, 1L), "proxy tunnel");
        if (!config_.ca_file.empty()) {
#ifdef _WIN32
            // libcurl's Schannel opens a CA file by its ANSI name, which cannot hold every
            // UTF-8 path (a folder "Collège" on a system whose code page lacks "è"): the
            // uplink reads the file itself, by its wide name, and hands libcurl the bytes.
            std::string pem;
            platform::ReadOptions follow;
            follow.follow_links = true;
            if (!platform::read_file(config_.ca_file, kMaxCaFileBytes, pem, follow)) {
                if (error && error->empty()) *error = "CA file: cannot read " + config_.ca_file;
                ok = false;
            } else {
                curl_blob blob{pem.data(), pem.size(), CURL_BLOB_COPY};
                ok &= set(curl_easy_setopt(easy_, CURLOPT_CAINFO_BLOB, &blob), "CA file");
            }
#else
            ok &= set(curl_easy_setopt(easy_, CURLOPT_CAINFO, config_.ca_file.c_str()), "CA file");
#endif
            // No CA folder beside the file. A TLS backend without CA folders (Schannel, on
            // Windows) says CURLE_NOT_BUILT_IN: there is none to turn off.
            const CURLcode capath = curl_easy_setopt(easy_, CURLOPT_CAPATH, nullptr);
            if (capath != CURLE_NOT_BUILT_IN) ok &= set(capath, "CA path");
            ok &= set(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L), "verify peer");
            ok &= set(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L), "verify host");
        } else {
            // Pin only: the console's key is the trust anchor (a self-signed certificate is
            // fine); the pin is checked during the handshake, before any byte is sent.
            ok &= set(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 0L), "verify peer");
            ok &= set(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 0L), "verify host");
        }
        if (!config_.pin.empty())
            ok &= set(curl_easy_setopt(easy_, CURLOPT_PINNEDPUBLICKEY, config_.pin.c_str()), "pin");
        return ok;
    }
};

bool valid_pin(const std::string &pin) {
    size_t start = 0;
    while (start <= pin.size()) {
        const size_t end = std::min(pin.find(';', start), pin.size());
        const std::string_view part(pin.data() + start, end - start);
        if (!part.starts_with("sha256//") || part.size() != 8 + 44) return false;
        for (char c : part.substr(8))
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '='))
                return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

std::unique_ptr<Transport> make_curl_transport(const TransportConfig &config, std::string *error) {
    static std::once_flag once;
    std::call_once(once, [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
#ifdef SIGPIPE
        // With CURLOPT_NOSIGNAL, a write to a connection the console closed raises SIGPIPE in
        // OpenSSL: the uplink's processes (sonde-uplink, sonde-ctl) ignore it, the write fails.
        // (Windows has no SIGPIPE: the write fails.)
        std::signal(SIGPIPE, SIG_IGN);
#endif
    });
    if (!config.url.starts_with("https://") || config.url.size() <= 8 ||
        config.url.find_first_of("/?#@", 8) != std::string::npos) {
        if (error) *error = "url must be https://host[:port] without a path: " + config.url;
        return nullptr;
    }
    if (config.pin.empty() && config.ca_file.empty()) {
        if (error)
            *error = "a pin (sha256//...) or a CA file is required to authenticate the console";
        return nullptr;
    }
    if (!config.pin.empty() && !valid_pin(config.pin)) {
        if (error) *error = "pin must be sha256// and 44 base64 characters (';' between several)";
        return nullptr;
    }
    CURL *easy = curl_easy_init();
    if (!easy) {
        if (error) *error = "curl_easy_init failed";
        return nullptr;
    }
    auto t = std::make_unique<CurlTransport>(easy, config);
    std::string why;
    if (!t->configure(&why)) {
        if (error) *error = "libcurl refused an option: " + why;
        return nullptr;
    }
    return t;
}

}  // namespace sonde::uplink
