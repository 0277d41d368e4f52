#include "dispatch.hpp"

#include "accounts_web.hpp"
#include "web.hpp"

namespace sonde::console {

std::optional<Answer> answer_before_body(const Config &config, Handler &handler, WebApp *web,
                                         const Handler::Head &head) {
    std::optional<Answer> early;
    if (web && is_web_target(head.target)) {
        // A web page: a bounded form body, read whole, then the pages' answer.
        const uint64_t length = head.content_length.value_or(0);
        if (head.chunked)
            early = Answer{411, "length required\n", "text/plain; charset=utf-8", 0, true};
        else if (length > config.max_form_bytes)
            early = Answer{413, "request too large\n", "text/plain; charset=utf-8", 0, true};
    } else {
        early = handler.before_body(head);
    }
    if (early && (head.chunked || head.content_length.value_or(0) > 0)) early->close = true;
    return early;
}

uint64_t body_limit(const Config &config, const WebApp *web, const Handler::Head &head) {
    return web && is_web_target(head.target) ? config.max_form_bytes : config.max_body_bytes;
}

Answer answer_with_body(Handler &handler, WebApp *web, const Handler::Head &head,
                        const std::string &cookie, std::span<const uint8_t> body) {
    if (!web || !is_web_target(head.target)) return handler.upload(head, body);
    WebRequest w;
    w.method = std::string(head.method);
    w.target = std::string(head.target);
    w.cookie = cookie;
    w.content_type = std::string(head.content_type);
    w.peer = std::string(head.peer);
    w.body.assign(body.begin(), body.end());
    return web->handle(w);
}

}  // namespace sonde::console
