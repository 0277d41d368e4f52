#pragma once
// HTML building blocks of the pages: escaping, query strings, inline SVG bar charts.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sonde::console::web {

// &, <, >, " and ' as entities: safe in text and in quoted attributes.
std::string escape(std::string_view s);

// A parsed query string: repeated names keep every value, in order.
using Query = std::multimap<std::string, std::string>;
Query parse_query(std::string_view query);
std::string query_get(const Query &q, const std::string &name, const std::string &fallback = "");
// Every byte but ASCII letters, digits and `also_kept` as %XX: by default RFC 3986's unreserved
// characters (a URL's query).
std::string percent_encode(std::string_view s, std::string_view also_kept = "-_.~");
std::string build_query(const std::vector<std::pair<std::string, std::string>> &params);

// A bar chart as inline SVG, with a <title> per bar and the figures in a text alternative.
struct Bar {
    std::string label;  // under the bar (every `label_every` bars)
    double value = 0;
    bool held = false;  // a held-back part: drawn hatched, said in the title
    std::string title;  // full description of the bar
};
std::string bar_chart(const std::string &title, const std::vector<Bar> &bars, int label_every);

}  // namespace sonde::console::web
