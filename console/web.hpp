#pragma once
// The small request/response layer of the console's web pages (docs/console.md): a request as
// the server read it, form and query parsing, cookies, multipart uploads, HTML escaping. The
// answer is handler.hpp's Answer (status, body, content type, extra headers).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sonde::console {

struct WebRequest {
    std::string method;
    std::string target;  // as received: path and query
    std::string path;    // decoded path without the query
    std::string query;   // raw, after '?'
    std::string cookie;  // the Cookie header
    std::string content_type;
    std::string peer;  // client address
    std::string body;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

// True for the targets of the web pages: everything but the upload API (/v1/...), /healthz and
// /metrics.
bool is_web_target(std::string_view target);
// Splits target into path and query; false if the path is not a clean absolute path.
bool split_target(std::string_view target, std::string &path, std::string &query);

// application/x-www-form-urlencoded (also a query string): '+' is a space, %XX a byte. Pairs in
// their order; repeated names kept (check boxes). nullopt on a malformed escape.
std::optional<Fields> parse_urlencoded(std::string_view text);
std::string url_encode(std::string_view text);
// The first value of `name`, or "".
std::string field(const Fields &f, std::string_view name);
std::vector<std::string> fields(const Fields &f, std::string_view name);

// One cookie's value from a Cookie header.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// multipart/form-data: the text fields, and the files (name, filename, content type, bytes).
struct FormFile {
    std::string name, filename, content_type, data;
};
bool parse_multipart(std::string_view content_type, std::string_view body, Fields &fields,
                     std::vector<FormFile> &files);

// Text for HTML (element content and quoted attributes).
// HTML escaping: web::escape (web/html.hpp), one definition for every page.
std::string html(std::string_view text);

}  // namespace sonde::console
