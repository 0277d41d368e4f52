#pragma once
// How the uplink talks to the console: one PUT at a time. The engine sees only this
// interface, so its logic is tested with a scripted transport; CurlTransport is the real one.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace sonde::uplink {

inline constexpr size_t kMaxAnswerBytes = 64 * 1024;  // a longer answer is aborted

struct Answer {
    bool transport_ok = false;  // false: no HTTP answer (DNS, connect, TLS, pin, timeout, size)
    std::string transport_error;
    long http_status = 0;
    std::string body;  // at most kMaxAnswerBytes
    std::optional<int64_t> retry_after_s;
};

class Transport {
  public:
    virtual ~Transport() = default;
    // PUT `path` (absolute, "/v1/...") with `body` as application/vnd.sonde.snapshot.
    virtual Answer put(const std::string &path, std::span<const uint8_t> body) = 0;
};

struct TransportConfig {
    std::string url;      // https://host[:port], no path
    std::string pin;      // "sha256//BASE64[;sha256//...]" for CURLOPT_PINNEDPUBLICKEY, or empty
    std::string ca_file;  // PEM CA bundle for CURLOPT_CAINFO, or empty
    std::string proxy;    // http://[user:password@]host:port (CONNECT), or empty: no proxy at all
    int64_t connect_timeout_ms = 10'000;
    int64_t transfer_timeout_ms = 120'000;
};

// An HTTP date (RFC 9110's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") of a unix time: the
// `Date` header each PUT carries, the uplink's clock as the request leaves.
std::string http_date(int64_t unix);

// libcurl, one easy handle for the life of the object (its connection is reused). TLS >= 1.2,
// https only, no redirects, no proxy from the environment. Requires a pin or a CA file.
// Returns nullptr and *error when the configuration is unusable.
std::unique_ptr<Transport> make_curl_transport(const TransportConfig &config, std::string *error);

}  // namespace sonde::uplink
