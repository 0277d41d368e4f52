// HTML building blocks (html.hpp).
#include "html.hpp"

#include <algorithm>
#include <cstdio>

namespace sonde::console::web {

std::string escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

namespace {
int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
std::string decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}
}  // namespace

Query parse_query(std::string_view query) {
    Query q;
    size_t a = 0;
    while (a <= query.size()) {
        size_t e = query.find('&', a);
        if (e == std::string_view::npos) e = query.size();
        const std::string_view part = query.substr(a, e - a);
        if (!part.empty()) {
            const size_t eq = part.find('=');
            q.emplace(decode(part.substr(0, eq)),
                      eq == std::string_view::npos ? "" : decode(part.substr(eq + 1)));
        }
        a = e + 1;
    }
    return q;
}

std::string query_get(const Query &q, const std::string &name, const std::string &fallback) {
    auto it = q.find(name);
    return it == q.end() ? fallback : it->second;
}

std::string percent_encode(std::string_view s, std::string_view also_kept) {
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            also_kept.find(char(c)) != std::string_view::npos) {
            out += char(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string build_query(const std::vector<std::pair<std::string, std::string>> &params) {
    std::string out;
    for (const auto &[k, v] : params) {
        if (v.empty()) continue;
        out += (out.empty() ? "?" : "&") + percent_encode(k) + "=" + percent_encode(v);
    }
    return out;
}

std::string bar_chart(const std::string &title, const std::vector<Bar> &bars, int label_every) {
    const int width = 900, height = 240, left = 60, bottom = 40, top = 10;
    double max = 0;
    for (const Bar &b : bars) max = std::max(max, b.value);
    if (max <= 0) max = 1;
    const double slot = bars.empty() ? 0 : double(width - left - 10) / double(bars.size());
    char buf[512];
    std::string svg = "<svg role=\"img\" class=\"chart\" viewBox=\"0 0 " + std::to_string(width) +
                      " " + std::to_string(height) + "\" aria-labelledby=\"t-" +
                      std::to_string(std::hash<std::string>{}(title) % 100000) + "\">";
    svg += "<title id=\"t-" + std::to_string(std::hash<std::string>{}(title) % 100000) + "\">" +
           escape(title) + "</title>";
    // Axis and the maximum's gridline.
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
                  "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%.0f</text>"
                  "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">0</text>",
                  left, height - bottom, width - 10, height - bottom, left - 4, top + 10, max,
                  left - 4, height - bottom);
    svg += buf;
    const double plot = height - bottom - top;
    for (size_t i = 0; i < bars.size(); ++i) {
        const Bar &b = bars[i];
        const double h = b.value / max * plot;
        const double x = left + slot * double(i) + slot * 0.1;
        std::snprintf(buf, sizeof buf,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\" "
                      "fill=\"%s\">",  // the fill also for renderers without the page's CSS (PDF)
                      x, height - bottom - h, slot * 0.8, h, b.held ? "bar held" : "bar",
                      b.held ? "#9bb7d9" : "#2c6db3");
        svg += buf;
        svg += "<title>" + escape(b.title) + "</title></rect>";
        if (label_every > 0 && i % size_t(label_every) == 0) {
            std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\" class=\"tick\">", x,
                          height - bottom + 14);
            svg += buf;
            svg += escape(b.label) + "</text>";
        }
    }
    svg += "</svg>";
    return svg;
}

}  // namespace sonde::console::web
