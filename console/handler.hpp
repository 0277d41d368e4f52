#pragma once
// Request handling, apart from the transport: the checks of docs/delivery.md, in their order.
// The server calls before_body() once the headers are in, then upload() with the body.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "inbox.hpp"
#include "keyring.hpp"
#include "metrics.hpp"
#include "rate_limit.hpp"
#include "registry.hpp"

namespace sonde::console {

class Ingestor;

struct Answer {
    unsigned status = 200;
    std::string body;  // JSON, or OpenMetrics text for /metrics
    std::string content_type = "application/json";
    unsigned retry_after = 0;  // seconds; 0: no Retry-After
    bool close = false;        // the body was not read: the connection cannot be reused
    std::vector<std::pair<std::string, std::string>> headers{};  // more (web pages: cookies)
};

// "/v1/bases/{UAI}/snapshots/{sequence}", strictly: a UAI and a decimal 1..2^64-1 without a
// leading zero, nothing else.
bool parse_upload_path(std::string_view target, std::string &base, uint64_t &sequence);

// An HTTP date in the IMF-fixdate form of RFC 9110 ("Sun, 06 Nov 1994 08:49:37 GMT"), as unix
// seconds; nullopt for anything else (the obsolete forms included).
std::optional<int64_t> parse_http_date(std::string_view text);
// The same form of a unix time (the uplink's `Date` header).
std::string format_http_date(int64_t unix);

class Handler {
  public:
    Handler(const Config &config, const Keyring &keyring, const KeyRegistry &registry, Inbox &inbox,
            Metrics &metrics, Ingestor *ingestor);

    struct Head {
        std::string_view method;
        std::string_view target;
        std::string_view content_type;
        std::optional<uint64_t> content_length;
        bool chunked = false;
        std::string_view peer;
        // The sender's clock (its `Date` header, empty when absent) and the console's when the
        // headers were in: the clock skew of an accepted upload (docs/delivery.md#clock).
        std::string_view date = {};
        int64_t headers_unix = 0;
    };
    // nullopt: the body may be read (PUT of a snapshot); otherwise the answer (body unread).
    std::optional<Answer> before_body(const Head &head);
    Answer upload(const Head &head, std::span<const uint8_t> body);

  private:
    Answer rejected(unsigned status, const std::string &name, const std::string &text,
                    const Head &head, bool close);
    Answer retry(unsigned status, const std::string &reason, unsigned retry_after = 0);

    const Config &config_;
    const Keyring &keyring_;
    const KeyRegistry &registry_;
    Inbox &inbox_;
    Metrics &metrics_;
    Ingestor *ingestor_;
    RateLimiter limiter_;
};

}  // namespace sonde::console
