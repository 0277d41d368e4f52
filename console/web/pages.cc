// The console's pages, JSON and CSV (pages.hpp, docs/console.md).
#include "pages.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "data.hpp"
#include "html.hpp"
#include "menus.hpp"
#include "table.hpp"

namespace sonde::console::web {
namespace {

using nlohmann::json;

enum class Format : uint8_t { Html, Json, Csv };

struct Request {
    Format format = Format::Html;
    std::string prefix;  // "", "/api" or "/csv"
    std::string path;    // without the prefix
    Query query;
    const Menu *menu = nullptr;
    std::string page;  // accueil, synthese, etablissements, niveaux, journalier, horaire
    Period period = Period::CurrentMonth;
    int64_t reference_day = 0;
    std::vector<std::string> wanted;
    Mode mode = Mode::Values;
    std::string table, sort, order, date;
};

Answer answer(unsigned status, std::string body, std::string type) {
    Answer a;
    a.status = status;
    a.body = std::move(body);
    a.content_type = std::move(type);
    return a;
}

Answer error_answer(const Request &r, unsigned status, const std::string &message) {
    if (r.format == Format::Html)
        return answer(status,
                      "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>" +
                          std::to_string(status) + "</title></head><body><p>" + escape(message) +
                          "</p></body></html>",
                      "text/html; charset=utf-8");
    return answer(status, json{{"error", message}}.dump(), "application/json");
}

bool parse_date(const std::string &s, int64_t &day) {
    unsigned y, m, d;
    char tail;
    if (s.size() != 10 || std::sscanf(s.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
        return false;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return false;
    day = days_from_civil(y, m, d);
    int64_t yy;
    unsigned mm, dd;
    civil_from_days(day, yy, mm, dd);
    return mm == m && dd == d;  // 2026-02-30 is not a date
}

std::string iso_date(int64_t day) {
    int64_t y;
    unsigned m, d;
    civil_from_days(day, y, m, d);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    return buf;
}

std::string time_text(int64_t unix) {
    if (unix <= 0) return "aucune donnée";
    const int64_t day = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400;
    const int64_t sec = unix - day * 86400;
    char buf[32];
    std::snprintf(buf, sizeof buf, " %02lld:%02lld UTC", static_cast<long long>(sec / 3600),
                  static_cast<long long>(sec % 3600 / 60));
    return date_text(day) + buf;
}

std::vector<const Widget *> visible_widgets(const Principal &who, const Menu &m) {
    std::vector<const Widget *> out;
    for (const Widget &w : m.widgets)
        if (who.may_see_category(w.id)) out.push_back(&w);
    return out;
}

// The link to this page with some filters changed (an empty value removes one).
std::string link(const Request &r, const std::string &path,
                 const std::vector<std::pair<std::string, std::string>> &changes) {
    std::vector<std::pair<std::string, std::string>> params;
    auto changed = [&](const std::string &k) {
        for (const auto &c : changes)
            if (c.first == k) return true;
        return false;
    };
    for (const auto &[k, v] : r.query)
        if (!changed(k)) params.emplace_back(k, v);
    for (const auto &c : changes) params.push_back(c);
    return path + build_query(params);
}

// ---- the data of a page, as tables ----

struct PageData {
    Scope all;    // every establishment of the Principal (the filter's list)
    Scope scope;  // the ones asked for
    std::vector<Table> tables;
    std::vector<const Widget *> widgets;                    // visible widgets of the menu
    std::vector<std::pair<std::string, std::string>> tabs;  // id, label of selectable tables
    std::string selected;
    Series series;
    int64_t first_day = 0, last_day = 0, first_hour_day = 0;
};

const char *state_name(State s) {
    constexpr const char *k[] = {"known", "rounded", "suppressed", "missing"};
    return k[size_t(s)];
}

// ---- HTML ----

constexpr const char *kStyle =
    "body{font-family:sans-serif;margin:0;color:#1e1e1e}header{background:#003a70;color:#fff;"
    "padding:.5em 1em}nav ul{list-style:none;margin:0;padding:.5em 1em;display:flex;flex-wrap:"
    "wrap;gap:1em;background:#eef2f7}nav a{color:#003a70}main{padding:1em}table.data{border-"
    "collapse:collapse;margin:1em 0}table.data th,table.data td{border:1px solid #c8ccd2;"
    "padding:.25em .5em}td.num{text-align:right;white-space:nowrap}td.max{color:#b00020;"
    "font-weight:bold}td.min{color:#00703c;font-weight:bold}td.held{font-style:italic}.sr{"
    "position:absolute;left:-10000px}.chart{width:100%;max-width:900px;height:auto}.bar{fill:"
    "#2c6db3}.bar.held{fill:#9bb7d9}.axis{stroke:#555}.tick{font-size:10px;fill:#333}"
    ".tabs a[aria-current]{font-weight:bold}@media print{nav,form{display:none}}";

std::string layout(const Principal &who, const Request &r, const std::string &title,
                   const std::string &body, const std::string &header_html) {
    std::string h =
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\"><title>" +
        escape(title) + " — Console territoriale</title><style>" + kStyle +
        "</style></head><body><header><strong>Console territoriale</strong> · " +
        escape(who.collectivite) + " · " + escape(who.user) + header_html +
        "</header><nav aria-label=\"Menus\"><ul><li><a href=\"/\">Accueil</a></li>";
    for (const Menu &m : menus()) {
        if (!who.may_see_category(m.id)) continue;
        h += "<li><a href=\"/menus/" + escape(m.id) + "/synthese\"" +
             (r.menu == &m ? " aria-current=\"page\"" : "") + ">" + escape(m.label) + "</a></li>";
    }
    h += "</ul></nav><main><h1>" + escape(title) + "</h1>" + body + "</main></body></html>";
    return h;
}

std::string filters(const Request &r, const PageData &d, bool with_period, bool with_mode) {
    std::string f = "<form method=\"get\" action=\"" + escape(r.path) + "\">";
    if (with_period) {
        f += "<label>Période <select name=\"periode\">";
        for (Period p : kPeriods)
            f += std::string("<option value=\"") + period_id(p) + "\"" +
                 (p == r.period ? " selected" : "") + ">" + period_label(p) + "</option>";
        f += "</select></label> ";
    }
    f += "<label>Établissements <select name=\"etab\" multiple size=\"4\">";
    for (const Establishment &e : d.all.establishments) {
        const bool sel = std::find(r.wanted.begin(), r.wanted.end(), e.uai) != r.wanted.end();
        f += "<option value=\"" + escape(e.uai) + "\"" + (sel ? " selected" : "") + ">" +
             escape(e.name) + " (" + escape(e.uai) + ")</option>";
    }
    f += "</select></label> ";
    if (with_mode)
        f += std::string("<label>Affichage <select name=\"mode\"><option value=\"valeurs\"") +
             (r.mode == Mode::Values ? " selected" : "") +
             ">Valeurs</option><option value=\"taux\"" +
             (r.mode == Mode::Rates ? " selected" : "") + ">T%</option></select></label> ";
    if (!d.selected.empty())
        f += "<input type=\"hidden\" name=\"tableau\" value=\"" + escape(d.selected) + "\">";
    if (!r.date.empty())
        f += "<input type=\"hidden\" name=\"date\" value=\"" + escape(r.date) + "\">";
    f += "<button type=\"submit\">Afficher</button></form>";
    return f;
}

std::string cell_html(const Cell &c, bool rate) {
    std::string cls = "num";
    std::string cue, sr;
    if (c.is_max) {
        cls += " max";
        cue = "<span aria-hidden=\"true\">▲ </span>";
        sr = "<span class=\"sr\"> (maximum)</span>";
    } else if (c.is_min) {
        cls += " min";
        cue = "<span aria-hidden=\"true\">▼ </span>";
        sr = "<span class=\"sr\"> (minimum)</span>";
    }
    std::string title;
    if (c.state == State::Suppressed) {
        cls += " held";
        title = " title=\"valeur masquée (secret statistique)\"";
    } else if (c.state == State::Rounded) {
        cls += " held";
        title = " title=\"valeur arrondie ou partielle\"";
    } else if (c.state == State::Missing) {
        title = " title=\"pas de donnée\"";
    }
    return "<td class=\"" + cls + "\" data-state=\"" + state_name(c.state) + "\"" + title + ">" +
           cue + "<span class=\"v\">" + escape(cell_text(c, rate)) + "</span>" + sr + "</td>";
}

std::string table_html(const Request &r, const Table &t, const std::string &caption) {
    const std::string dir = r.order == "desc" ? "desc" : "asc";
    auto head = [&](const std::string &id, const std::string &label) {
        const bool sorted = r.sort == id;
        const std::string next = sorted && dir == "asc" ? "desc" : "asc";
        std::string aria =
            sorted ? (dir == "asc" ? " aria-sort=\"ascending\"" : " aria-sort=\"descending\"") : "";
        return "<th scope=\"col\"" + aria + "><a href=\"" +
               escape(link(r, r.path, {{"tri", id}, {"ordre", next}})) + "\">" + escape(label) +
               (sorted ? (dir == "asc" ? " ▲" : " ▼") : "") + "</a></th>";
    };
    std::string h = "<table class=\"data\" id=\"" + escape(t.id) + "\"><caption>" +
                    escape(caption) + "</caption><thead><tr>" + head("uai", "UAI") +
                    head("nom", "Établissement") + head("commune", "Commune");
    for (const TableColumn &c : t.columns) h += head(c.id, c.label + (c.rate ? " (%)" : ""));
    h += "<th scope=\"col\">Données au</th></tr></thead><tbody>";
    for (const TableRow &row : t.rows) {
        h += "<tr><td>" + escape(row.establishment.uai) + "</td><th scope=\"row\">" +
             escape(row.establishment.name) + "</th><td>" + escape(row.establishment.commune) +
             "</td>";
        for (size_t i = 0; i < row.cells.size(); ++i)
            h += cell_html(row.cells[i], t.columns[i].rate);
        h += "<td>" + escape(time_text(row.fresh)) + "</td></tr>";
    }
    h += "</tbody><tfoot><tr class=\"total\"><th scope=\"row\" colspan=\"3\">Total</th>";
    std::string notes;
    for (size_t i = 0; i < t.total.size(); ++i) {
        Cell c = t.total[i];
        c.is_max = c.is_min = false;
        h += cell_html(c, t.columns[i].rate);
        notes += "<td class=\"num excluded\">" +
                 (t.excluded[i] ? std::to_string(t.excluded[i]) : std::string()) + "</td>";
    }
    h += "<td></td></tr><tr class=\"excluded\"><th scope=\"row\" colspan=\"3\">Établissements "
         "exclus du total (valeur masquée ou absente)</th>" +
         notes + "<td></td></tr></tfoot></table>";
    h += "<p class=\"legend\">▲ en rouge : maximum de la colonne ; ▼ en vert : minimum. « s » : "
         "valeur masquée (secret statistique) ; « ≈ » : valeur arrondie ou partielle ; « — » : "
         "pas de donnée. Ces valeurs ne comptent ni dans les minima et maxima ni dans les "
         "totaux.</p>";
    return h;
}

std::string tabs_html(const Request &r, const PageData &d, const std::string &param) {
    if (d.tabs.size() < 2) return "";
    std::string h = "<p class=\"tabs\">";
    for (const auto &[id, label] : d.tabs)
        h += "<a href=\"" + escape(link(r, r.path, {{param, id}, {"tri", ""}, {"ordre", ""}})) +
             "\"" + (id == d.selected ? " aria-current=\"true\"" : "") + ">" + escape(label) +
             "</a> ";
    return h + "</p>";
}

std::string caption_of(const Request &r, const Table &t) {
    std::string c = t.label + " — " + period_label(r.period);
    if (r.mode == Mode::Rates) c += " — T%";
    return c;
}

std::string page_links(const Request &r) {
    if (!r.menu) return "";
    std::string base = "/menus/" + r.menu->id + "/";
    std::vector<std::pair<std::string, std::string>> pages = {
        {"synthese", "Synthèse"}, {"etablissements", "Par établissement"}};
    bool levels = false;
    for (const Widget &w : r.menu->widgets) levels |= !w.levels.empty();
    if (levels) pages.emplace_back("niveaux", "Détails par niveaux");
    if (r.menu->id == "connexions") {
        pages.emplace_back("journalier", "Suivi journalier");
        pages.emplace_back("horaire", "Suivi heure par heure");
    }
    std::string h = "<p class=\"pages\">";
    for (const auto &[id, label] : pages)
        h += "<a href=\"" +
             escape(link(r, base + id, {{"tableau", ""}, {"tri", ""}, {"ordre", ""}})) + "\"" +
             (id == r.page ? " aria-current=\"page\"" : "") + ">" + escape(label) + "</a> ";
    const std::string here = r.path + build_query([&] {
                                 std::vector<std::pair<std::string, std::string>> p;
                                 for (const auto &[k, v] : r.query) p.emplace_back(k, v);
                                 return p;
                             }());
    h += "· <a href=\"/csv" + escape(here) + "\">Export CSV</a> · <a href=\"/api" + escape(here) +
         "\">JSON</a></p>";
    return h;
}

std::string series_html(const Request &r, const PageData &d) {
    std::string h;
    if (r.page == "journalier") {
        std::vector<Bar> conn, people;
        std::string rows;
        for (int64_t day = d.first_day; day <= d.last_day; ++day) {
            const auto c = d.series.day_connections.find(day);
            const auto p = d.series.day_people.find(day);
            const bool held = d.series.day_held.count(day) != 0;
            const int64_t cv = c == d.series.day_connections.end() ? 0 : c->second;
            const int64_t pv = p == d.series.day_people.end() ? 0 : p->second;
            const std::string date = date_text(day);
            conn.push_back({date.substr(0, 5), double(cv), held,
                            date + " : " + number_text(double(cv), true, false) + " connexions"});
            people.push_back(
                {date.substr(0, 5), double(pv), held,
                 date + " : " + number_text(double(pv), true, false) + " personnes différentes"});
            rows += "<tr><th scope=\"row\">" + date + "</th><td class=\"num\"><span class=\"v\">" +
                    escape(number_text(double(cv), true, false)) +
                    "</span></td><td class=\"num\"><span class=\"v\">" +
                    escape(held ? "s" : number_text(double(pv), true, false)) + "</span></td></tr>";
        }
        h += "<h2>Connexions authentifiées par jour</h2>" +
             bar_chart("Connexions authentifiées par jour, du " + date_text(d.first_day) + " au " +
                           date_text(d.last_day),
                       conn, 7) +
             "<h2>Personnes différentes connectées par jour (via PRONOTE.net)</h2>" +
             bar_chart("Personnes différentes connectées par jour", people, 7) +
             "<table class=\"data\" id=\"journalier\"><caption>Suivi journalier (jours locaux des "
             "établissements)</caption><thead><tr><th scope=\"col\">Jour</th><th scope=\"col\">"
             "Connexions</th><th scope=\"col\">Personnes différentes</th></tr></thead><tbody>" +
             rows + "</tbody></table>";
    } else {
        std::vector<Bar> bars;
        std::string rows;
        for (int64_t day = d.first_hour_day; day <= d.last_day; ++day)
            for (int hour = 0; hour < 24; ++hour) {
                const auto c = d.series.hour_connections.find({day, hour});
                const int64_t v = c == d.series.hour_connections.end() ? 0 : c->second;
                const std::string when = date_text(day) + " " + std::to_string(hour) + " h";
                bars.push_back(
                    {date_text(day).substr(0, 5), double(v), false,
                     when + " : " + number_text(double(v), true, false) + " connexions"});
                if (v)
                    rows += "<tr><th scope=\"row\">" + escape(when) +
                            "</th><td class=\"num\"><span class=\"v\">" +
                            escape(number_text(double(v), true, false)) + "</span></td></tr>";
            }
        h += "<h2>Connexions par heure, sur les 3 dernières semaines</h2>" +
             bar_chart("Connexions authentifiées par heure (heures locales des établissements)",
                       bars, 24) +
             "<table class=\"data\" id=\"horaire\"><caption>Heures avec des connexions (heures "
             "locales des établissements)</caption><thead><tr><th scope=\"col\">Heure</th><th "
             "scope=\"col\">Connexions</th></tr></thead><tbody>" +
             rows + "</tbody></table>";
    }
    return h;
}

// ---- JSON and CSV ----

json cell_json(const Cell &c) {
    json j = {{"state", state_name(c.state)}, {"max", c.is_max}, {"min", c.is_min}};
    if (c.state == State::Known || c.state == State::Rounded)
        j["value"] = c.integer ? json(std::llround(c.value)) : json(c.value);
    else
        j["value"] = nullptr;
    return j;
}

json table_json(const Table &t) {
    json cols = json::array(), rows = json::array(), total = json::array();
    for (const TableColumn &c : t.columns)
        cols.push_back(
            {{"id", c.id}, {"label", c.label}, {"indicator", c.indicator}, {"rate", c.rate}});
    for (const TableRow &r : t.rows) {
        json cells = json::array();
        for (const Cell &c : r.cells) cells.push_back(cell_json(c));
        rows.push_back({{"uai", r.establishment.uai},
                        {"name", r.establishment.name},
                        {"commune", r.establishment.commune},
                        {"fresh_unix", r.fresh},
                        {"cells", cells}});
    }
    for (size_t i = 0; i < t.total.size(); ++i) {
        json c = cell_json(t.total[i]);
        c.erase("max");
        c.erase("min");
        c["excluded"] = t.excluded[i];
        total.push_back(c);
    }
    return {{"id", t.id}, {"label", t.label}, {"columns", cols}, {"rows", rows}, {"total", total}};
}

std::string csv_field(const std::string &s) {
    if (s.find_first_of(";\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csv_cell(const Cell &c) {
    // Plain numbers with a decimal comma and no thousands separator; markers kept.
    if (c.state == State::Suppressed) return "s";
    if (c.state == State::Missing) return "nd";
    std::string v;
    char buf[64];
    if (c.integer)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(c.value)));
    else
        std::snprintf(buf, sizeof buf, "%.1f", c.value);
    v = buf;
    std::replace(v.begin(), v.end(), '.', ',');
    return c.state == State::Rounded ? "≈" + v : v;
}

std::string tables_csv(const std::vector<Table> &tables) {
    std::string out = "\xEF\xBB\xBF";
    for (const Table &t : tables) {
        if (tables.size() > 1) out += csv_field(t.label) + "\r\n";
        out += "UAI;Nom;Commune";
        for (const TableColumn &c : t.columns)
            out += ";" + csv_field(c.label + (c.rate ? " (%)" : ""));
        out += ";Données au\r\n";
        for (const TableRow &r : t.rows) {
            out += csv_field(r.establishment.uai) + ";" + csv_field(r.establishment.name) + ";" +
                   csv_field(r.establishment.commune);
            for (const Cell &c : r.cells) out += ";" + csv_cell(c);
            out += ";" + csv_field(time_text(r.fresh)) + "\r\n";
        }
        out += ";Total;";
        for (const Cell &c : t.total) out += ";" + csv_cell(c);
        out += ";\r\n;Établissements exclus du total;";
        for (size_t e : t.excluded) out += ";" + std::to_string(e);
        out += ";\r\n";
    }
    return out;
}

// ---- the request ----

std::optional<Answer> parse_request(const Principal &who, std::string_view target, Request &r,
                                    int64_t now_unix) {
    const size_t q = target.find('?');
    std::string path(target.substr(0, q));
    if (q != std::string_view::npos) r.query = parse_query(target.substr(q + 1));
    for (const auto &[prefix, format] :
         {std::pair<std::string, Format>{"/api", Format::Json}, {"/csv", Format::Csv}})
        if (path == prefix || path.starts_with(prefix + "/")) {
            r.format = format;
            r.prefix = prefix;
            path = path.substr(prefix.size());
        }
    if (path.empty()) path = "/";
    r.path = path;
    if (path == "/" || path == "/accueil") {
        r.page = "accueil";
        r.menu = find_menu("comptes");
    } else if (path.starts_with("/menus/")) {
        const std::string rest = path.substr(7);
        const size_t slash = rest.find('/');
        if (slash == std::string::npos) return error_answer(r, 404, "page inconnue");
        r.menu = find_menu(rest.substr(0, slash));
        r.page = rest.substr(slash + 1);
        const bool series = r.page == "journalier" || r.page == "horaire";
        if (!r.menu ||
            (r.page != "synthese" && r.page != "etablissements" && r.page != "niveaux" &&
             !series) ||
            (series && r.menu->id != "connexions"))
            return error_answer(r, 404, "page inconnue");
    } else {
        return error_answer(r, 404, "page inconnue");
    }
    // Home is everyone's; its accounts table only for those granted the accounts.
    if (!who.may_see_category(r.menu->id) && r.page != "accueil")
        return error_answer(r, 403, "catégorie non autorisée");
    const std::string period = query_get(r.query, "periode", period_id(Period::CurrentMonth));
    if (!parse_period(period, r.period)) return error_answer(r, 400, "période inconnue");
    r.date = query_get(r.query, "date");
    r.reference_day = now_unix >= 0 ? now_unix / 86400 : (now_unix - 86399) / 86400;
    if (!r.date.empty() && !parse_date(r.date, r.reference_day))
        return error_answer(r, 400, "date invalide (AAAA-MM-JJ)");
    const std::string mode = query_get(r.query, "mode", "valeurs");
    if (mode != "valeurs" && mode != "taux") return error_answer(r, 400, "mode inconnu");
    r.mode = mode == "taux" && r.menu->has_rates ? Mode::Rates : Mode::Values;
    if (r.page == "niveaux" && mode == "taux") r.mode = Mode::Rates;
    r.order = query_get(r.query, "ordre", "asc");
    if (r.order != "asc" && r.order != "desc") return error_answer(r, 400, "ordre inconnu");
    r.sort = query_get(r.query, "tri");
    r.table = query_get(r.query, r.page == "niveaux" ? "indicateur" : "tableau");
    for (auto [it, end] = r.query.equal_range("etab"); it != end; ++it) {
        if (!valid_uai(it->second)) return error_answer(r, 400, "UAI invalide");
        if (!who.may_see_establishment(it->second))
            return error_answer(r, 403, "établissement non autorisé");
        r.wanted.push_back(it->second);
    }
    return std::nullopt;
}

}  // namespace

Answer render_page(const Principal &who, std::string_view target, const PageContext &context) {
    Request r;
    if (auto bad = parse_request(who, target, r, context.now_unix)) return *bad;
    if (!context.reader) return error_answer(r, 500, "base de données indisponible");
    Reader &reader = *context.reader;
    PageData d;
    std::string error;
    if (!load_scope(reader, who, {}, d.all, &error))
        return error_answer(r, 500, "lecture impossible : " + error);
    d.scope.fresh = d.all.fresh;
    for (const Establishment &e : d.all.establishments)
        if (r.wanted.empty() ||
            std::find(r.wanted.begin(), r.wanted.end(), e.uai) != r.wanted.end())
            d.scope.establishments.push_back(e);
    d.widgets = visible_widgets(who, *r.menu);

    std::string body;
    std::string title = r.menu->label;
    const bool series = r.page == "journalier" || r.page == "horaire";
    if (series) {
        d.last_day = r.reference_day;
        d.first_day = r.reference_day - 27;
        d.first_hour_day = r.reference_day - 20;
        if (!load_series(reader, d.scope, d.first_day, d.last_day, d.first_hour_day, d.series,
                         &error))
            return error_answer(r, 500, "lecture impossible : " + error);
        title += r.page == "journalier" ? " — Suivi journalier" : " — Suivi heure par heure";
    } else {
        // The tables first, then only the figures they need.
        const LevelTable *level = nullptr;
        std::vector<const Widget *> shown;
        if (r.page == "niveaux") {
            for (const Widget *w : d.widgets)
                for (const LevelTable &lt : w->levels) {
                    d.tabs.emplace_back(lt.id, lt.label);
                    if (!level && (r.table.empty() || r.table == lt.id)) level = &lt;
                }
            if (!level) {
                for (const Widget &w : r.menu->widgets)
                    for (const LevelTable &lt : w.levels)
                        if (lt.id == r.table)
                            return error_answer(r, 403, "catégorie non autorisée");
                return error_answer(r, r.table.empty() ? 404 : 400, "tableau inconnu");
            }
            d.selected = level->id;
            title += " — Détails par niveaux";
        } else if (r.page == "etablissements" || r.page == "accueil") {
            for (const Widget *w : d.widgets) {
                const std::string id = w->id.substr(w->id.find('/') + 1);
                d.tabs.emplace_back(id, w->label);
                if (shown.empty() && (r.table.empty() || r.table == id)) shown.push_back(w);
            }
            if (shown.empty() && r.page == "accueil" && r.table.empty()) {
                title = "Accueil";
            } else if (shown.empty()) {
                for (const Widget &w : r.menu->widgets)
                    if (w.id.substr(w.id.find('/') + 1) == r.table)
                        return error_answer(r, 403, "catégorie non autorisée");
                return error_answer(r, r.table.empty() ? 403 : 400, "tableau inconnu");
            }
            if (!shown.empty()) {
                d.selected = shown[0]->id.substr(shown[0]->id.find('/') + 1);
                title += r.page == "accueil" ? "" : " — Par établissement";
                if (r.page == "accueil") title = "Accueil — Comptes PRONOTE";
            }
        } else {  // synthese: every visible widget's totals
            shown = d.widgets;
            title += " — Synthèse";
        }
        std::vector<const Quantity *> needed;
        if (level) needed.push_back(&level->quantity);
        for (const Widget *w : shown)
            for (const Column &c : w->columns) {
                needed.push_back(&c.num);
                needed.push_back(&c.den);
            }
        std::map<std::string, BaseFigures> figures;
        if (!load_figures(reader, d.scope, period_window(r.period, r.reference_day),
                          distribution_year(r.period, r.reference_day), needed, level != nullptr,
                          figures, &error))
            return error_answer(r, 500, "lecture impossible : " + error);
        if (level) d.tables.push_back(level_table(*level, d.scope, figures, r.mode));
        for (const Widget *w : shown)
            d.tables.push_back(
                widget_table(*w, d.scope, figures, r.page == "synthese" ? Mode::Values : r.mode));
        for (Table &t : d.tables)
            if (!r.sort.empty()) sort_table(t, r.sort, r.order == "desc");
    }

    if (r.format == Format::Json) {
        json j = {{"menu", r.menu->id},
                  {"page", r.page},
                  {"period", period_id(r.period)},
                  {"reference_date", iso_date(r.reference_day)},
                  {"mode", r.mode == Mode::Rates ? "taux" : "valeurs"}};
        json est = json::array();
        for (const Establishment &e : d.scope.establishments)
            est.push_back(
                {{"uai", e.uai},
                 {"name", e.name},
                 {"commune", e.commune},
                 {"fresh_unix", d.scope.fresh.count(e.uai) ? d.scope.fresh.at(e.uai) : 0}});
        j["establishments"] = est;
        if (series) {
            json days = json::array(), hours = json::array();
            for (int64_t day = d.first_day; day <= d.last_day; ++day) {
                auto c = d.series.day_connections.find(day);
                auto p = d.series.day_people.find(day);
                days.push_back(
                    {{"date", iso_date(day)},
                     {"connections", c == d.series.day_connections.end() ? 0 : c->second},
                     {"people", p == d.series.day_people.end() ? 0 : p->second},
                     {"held", d.series.day_held.count(day) != 0}});
            }
            for (const auto &[at, v] : d.series.hour_connections)
                hours.push_back(
                    {{"date", iso_date(at.first)}, {"hour", at.second}, {"connections", v}});
            j["unplaced_connections"] = d.series.unplaced;
            j["days"] = days;
            j["hours"] = hours;
        } else {
            json tables = json::array();
            for (const Table &t : d.tables) tables.push_back(table_json(t));
            j["tables"] = tables;
        }
        return answer(200, j.dump(), "application/json");
    }
    if (r.format == Format::Csv) {
        if (series) {
            std::string out = "\xEF\xBB\xBF";
            if (r.page == "journalier") {
                out += "Jour;Connexions;Personnes différentes\r\n";
                for (int64_t day = d.first_day; day <= d.last_day; ++day) {
                    auto c = d.series.day_connections.find(day);
                    auto p = d.series.day_people.find(day);
                    out += date_text(day) + ";" +
                           std::to_string(c == d.series.day_connections.end() ? 0 : c->second) +
                           ";" +
                           (d.series.day_held.count(day)
                                ? std::string("s")
                                : std::to_string(p == d.series.day_people.end() ? 0 : p->second)) +
                           "\r\n";
                }
            } else {
                out += "Jour;Heure;Connexions\r\n";
                for (const auto &[at, v] : d.series.hour_connections)
                    out += date_text(at.first) + ";" + std::to_string(at.second) + ";" +
                           std::to_string(v) + "\r\n";
            }
            return answer(200, out, "text/csv; charset=utf-8");
        }
        return answer(200, tables_csv(d.tables), "text/csv; charset=utf-8");
    }

    body += page_links(r);
    body += filters(r, d, !series && r.page != "accueil",
                    r.page != "synthese" && !series && (r.menu->has_rates || r.page == "niveaux"));
    body += "<p>Période : " + std::string(period_label(r.period)) + " (jour de référence " +
            date_text(r.reference_day) + ")</p>";
    if (series) {
        body += series_html(r, d);
    } else if (r.page == "synthese") {
        for (const Table &t : d.tables) {
            body += "<table class=\"data\" id=\"" + escape(t.id) + "\"><caption>" +
                    escape(caption_of(r, t)) +
                    "</caption><thead><tr><th scope=\"col\">Indicateur</th><th scope=\"col\">"
                    "Valeur</th><th scope=\"col\">Établissements exclus</th></tr></thead><tbody>";
            for (size_t i = 0; i < t.columns.size(); ++i)
                body += "<tr><th scope=\"row\">" + escape(t.columns[i].label) + "</th>" +
                        cell_html(t.total[i], t.columns[i].rate) + "<td class=\"num\">" +
                        std::to_string(t.excluded[i]) + "</td></tr>";
            body += "</tbody></table>";
        }
    } else {
        body += tabs_html(r, d, r.page == "niveaux" ? "indicateur" : "tableau");
        for (const Table &t : d.tables) body += table_html(r, t, caption_of(r, t));
    }
    if (r.page == "accueil") {
        // Every user's home: the establishments they may read, and how fresh their data is.
        body +=
            "<table class=\"data\" id=\"etablissements\"><caption>Vos établissements "
            "(" +
            std::to_string(d.all.establishments.size()) +
            ")</caption><thead><tr><th scope=\"col\">UAI</th><th scope=\"col\">Nom</th>"
            "<th scope=\"col\">Commune</th><th scope=\"col\">Données au</th></tr></thead>"
            "<tbody>";
        for (const Establishment &e : d.all.establishments)
            body += "<tr><td>" + escape(e.uai) + "</td><td>" + escape(e.name) + "</td><td>" +
                    escape(e.commune) + "</td><td>" +
                    escape(time_text(d.all.fresh.count(e.uai) ? d.all.fresh.at(e.uai) : 0)) +
                    "</td></tr>";
        body += "</tbody></table>";
    }
    return answer(200, layout(who, r, title, body, context.header_html),
                  "text/html; charset=utf-8");
}

}  // namespace sonde::console::web
