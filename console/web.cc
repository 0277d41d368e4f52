#include "web.hpp"

#include <cctype>

#include "web/html.hpp"

namespace sonde::console {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += char(hi * 16 + lo);
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// A parameter of a header value: `name=value` or `name="value"` after a ';'.
std::optional<std::string> header_param(std::string_view header, std::string_view name) {
    size_t pos = 0;
    while ((pos = header.find(';', pos)) != std::string_view::npos) {
        std::string_view rest = trim(header.substr(pos + 1));
        pos += 1;
        const size_t eq = rest.find('=');
        if (eq == std::string_view::npos) continue;
        std::string key(trim(rest.substr(0, eq)));
        for (char &c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (key != name) continue;
        std::string_view v = trim(rest.substr(eq + 1));
        if (!v.empty() && v.front() == '"') {
            const size_t end = v.find('"', 1);
            if (end == std::string_view::npos) return std::nullopt;
            return std::string(v.substr(1, end - 1));
        }
        return std::string(v.substr(0, v.find(';')));
    }
    return std::nullopt;
}

}  // namespace

bool is_web_target(std::string_view target) {
    if (target.starts_with("/v1/") || target == "/v1") return false;
    if (target == "/healthz" || target == "/metrics") return false;
    return target.starts_with("/");
}

bool split_target(std::string_view target, std::string &path, std::string &query) {
    const size_t q = target.find('?');
    const auto raw = target.substr(0, q);
    query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
    const std::optional<std::string> p = decode(raw, false);
    if (!p || p->empty() || p->front() != '/') return false;
    for (unsigned char c : *p)
        if (c < 0x20 || c == 0x7F) return false;
    if (p->find("/../") != std::string::npos || p->ends_with("/..")) return false;
    path = *p;
    return true;
}

std::optional<Fields> parse_urlencoded(std::string_view text) {
    Fields out;
    while (!text.empty()) {
        const size_t amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        const auto name = decode(pair.substr(0, eq), true);
        const auto value =
            decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
        if (!name || !value) return std::nullopt;
        out.emplace_back(*name, *value);
    }
    return out;
}

std::string url_encode(std::string_view text) { return web::percent_encode(text); }

std::string field(const Fields &f, std::string_view name) {
    for (const auto &[k, v] : f)
        if (k == name) return v;
    return {};
}

std::vector<std::string> fields(const Fields &f, std::string_view name) {
    std::vector<std::string> out;
    for (const auto &[k, v] : f)
        if (k == name) out.push_back(v);
    return out;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const size_t semi = header.find(';');
        const std::string_view item = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
        const size_t eq = item.find('=');
        if (eq != std::string_view::npos && trim(item.substr(0, eq)) == name)
            return std::string(trim(item.substr(eq + 1)));
    }
    return std::nullopt;
}

bool parse_multipart(std::string_view content_type, std::string_view body, Fields &out_fields,
                     std::vector<FormFile> &files) {
    std::string type(trim(content_type.substr(0, content_type.find(';'))));
    for (char &c : type) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (type != "multipart/form-data") return false;
    const std::optional<std::string> boundary = header_param(content_type, "boundary");
    if (!boundary || boundary->empty() || boundary->size() > 200) return false;
    const std::string delimiter = "--" + *boundary;
    size_t pos = body.find(delimiter);
    if (pos == std::string_view::npos) return false;
    pos += delimiter.size();
    for (;;) {
        if (body.substr(pos, 2) == "--") return true;  // closing delimiter
        if (body.substr(pos, 2) != "\r\n") return false;
        pos += 2;
        const size_t headers_end = body.find("\r\n\r\n", pos);
        if (headers_end == std::string_view::npos) return false;
        const std::string_view headers = body.substr(pos, headers_end - pos);
        const size_t data_start = headers_end + 4;
        const size_t next = body.find("\r\n" + delimiter, data_start);
        if (next == std::string_view::npos) return false;
        FormFile part;
        bool is_file = false;
        size_t line_start = 0;
        while (line_start <= headers.size()) {
            const size_t eol = headers.find("\r\n", line_start);
            const std::string_view line =
                headers.substr(line_start, eol == std::string_view::npos ? std::string_view::npos
                                                                         : eol - line_start);
            const size_t colon = line.find(':');
            if (colon != std::string_view::npos) {
                std::string key(trim(line.substr(0, colon)));
                for (char &c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
                const std::string_view value = trim(line.substr(colon + 1));
                if (key == "content-disposition") {
                    part.name = header_param(value, "name").value_or("");
                    if (auto f = header_param(value, "filename")) {
                        part.filename = *f;
                        is_file = true;
                    }
                } else if (key == "content-type") {
                    part.content_type = std::string(value);
                }
            }
            if (eol == std::string_view::npos) break;
            line_start = eol + 2;
        }
        part.data = std::string(body.substr(data_start, next - data_start));
        if (is_file)
            files.push_back(std::move(part));
        else
            out_fields.emplace_back(part.name, part.data);
        pos = next + 2 + delimiter.size();
    }
}

std::string html(std::string_view text) { return web::escape(text); }

}  // namespace sonde::console
