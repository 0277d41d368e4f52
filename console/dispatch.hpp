#pragma once
// What the console answers to a request, apart from the transport (server.cc reads and writes
// the bytes; the HTTP fuzzer drives the same two steps from raw requests): web pages go to the
// WebApp, everything else (uploads, /healthz, /metrics) to the Handler.

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "config.hpp"
#include "handler.hpp"

namespace sonde::console {

class WebApp;

// Once the headers are in: the answer when the body must not be read (too large, chunked page
// form, refused upload); nullopt when the body may be read. An early answer to a request that
// has a body closes the connection (the body is left unread). `web` may be null: no pages.
std::optional<Answer> answer_before_body(const Config &config, Handler &handler, WebApp *web,
                                         const Handler::Head &head);
// The most body bytes to read for it, once answer_before_body let it through.
uint64_t body_limit(const Config &config, const WebApp *web, const Handler::Head &head);
// With the whole body: the answer. `cookie` is the Cookie header (web pages only).
Answer answer_with_body(Handler &handler, WebApp *web, const Handler::Head &head,
                        const std::string &cookie, std::span<const uint8_t> body);

}  // namespace sonde::console
