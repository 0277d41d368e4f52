// The console's pages, JSON and CSV (pages.hpp, docs/console.md).
#include "pages.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "data.hpp"
#include "html.hpp"
#include "log.hpp"
#include "menus.hpp"
#include "table.hpp"

namespace sonde::console::web {
namespace {

using nlohmann::json;

enum class Format : uint8_t { Html, Json, Csv, Pdf };

struct Request {
    Format format = Format::Html;
    std::string prefix;  // "", "/api", "/csv" or "/pdf"
    std::string path;    // without the prefix
    Query query;
    const Menu *menu = nullptr;
    std::string page;  // accueil, synthese, etablissements, niveaux, journalier, horaire, remontees
    Period period = Period::CurrentMonth;
    int64_t reference_day = 0;
    std::vector<std::string> wanted;
    Mode mode = Mode::Values;
    std::string table, sort, order, date;
    int64_t year = -1;  // home: the school year of the accounts' readings; -1: the latest
};

Answer answer(unsigned status, std::string body, std::string type) {
    Answer a;
    a.status = status;
    a.body = std::move(body);
    a.content_type = std::move(type);
    return a;
}

Answer error_answer(const Request &r, unsigned status, const std::string &message) {
    if (r.format == Format::Html || r.format == Format::Pdf) {
        const char *what = status == 400   ? "Requête invalide"
                           : status == 403 ? "Accès refusé"
                           : status == 404 ? "Page introuvable"
                           : status == 503 ? "Service momentanément indisponible"
                                           : "Erreur du service";
        return answer(status,
                      "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>" +
                          std::string(what) +
                          " — Console territoriale</title></head><body><main>"
                          "<h1>" +
                          what + "</h1><p>" + escape(message) +
                          "</p><p><a href=\"/\">Retour à l'accueil</a></p></main></body></html>",
                      "text/html; charset=utf-8");
    }
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
    std::vector<int64_t> years;  // home: school years of the accounts' readings
    // Home: the accounts per school year (the accounts' table's totals over the establishments
    // asked for, each read in that year), and how many establishments have a reading then.
    struct YearTotal {
        int64_t year = 0;
        size_t establishments = 0;
        std::vector<Cell> total;
        std::vector<size_t> excluded;
    };
    std::vector<TableColumn> year_columns;
    std::vector<YearTotal> per_year;
};

// Every establishment the Principal may read (the filter's list), and those the request asks
// for among them (all when it names none).
bool load_page_scope(Reader &reader, const Principal &who, const Request &r, PageData &d,
                     std::string *error) {
    if (!load_scope(reader, who, {}, d.all, error)) return false;
    d.scope.fresh = d.all.fresh;
    for (const Establishment &e : d.all.establishments)
        if (r.wanted.empty() ||
            std::find(r.wanted.begin(), r.wanted.end(), e.uai) != r.wanted.end())
            d.scope.establishments.push_back(e);
    return true;
}

std::string school_year_text(int64_t y) { return std::to_string(y) + "-" + std::to_string(y + 1); }

const char *state_name(State s) {
    constexpr const char *k[] = {"known", "rounded", "suppressed", "missing"};
    return k[size_t(s)];
}

// ---- HTML ----

constexpr const char *kStyle =
    "body{font-family:sans-serif;margin:0;color:#1e1e1e}header{background:#003a70;color:#fff;"
    "padding:.5em 1em;display:flex;flex-wrap:wrap;align-items:center;gap:.5em 1.5em}header "
    "ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.5em 1.5em}header "
    "a,header button{color:#fff}header form{margin:0}header button{background:none;border:1px "
    "solid #fff;padding:.2em .6em;cursor:pointer}header img{max-height:40px}.skip{position:"
    "absolute;left:-10000px}.skip:focus{left:1em;top:.5em;background:#fff;color:#003a70;"
    "padding:.25em .5em;z-index:1}nav.menus ul{list-style:none;margin:0;padding:.5em 1em;"
    "display:flex;flex-wrap:wrap;gap:1em;background:#eef2f7}nav.menus a{color:#003a70}main{"
    "padding:1em}table.data{border-"
    "collapse:collapse;margin:1em 0}table.data th,table.data td{border:1px solid #c8ccd2;"
    "padding:.25em .5em}td.num{text-align:right;white-space:nowrap}td.max{color:#b00020;"
    "font-weight:bold}td.min{color:#00703c;font-weight:bold}td.held{font-style:italic}.sr{"
    "position:absolute;left:-10000px}.chart{width:100%;max-width:900px;height:auto}.bar{fill:"
    "#2c6db3}.bar.held{fill:#9bb7d9}.axis{stroke:#555}.tick{font-size:10px;fill:#333}"
    ".tabs a[aria-current]{font-weight:bold}.pages a,.tabs a{margin-right:1em}.pages a[aria-"
    "current]{font-weight:bold}.exports{list-style:none;padding:0;margin:.5em 0;display:flex;"
    "gap:1.5em}.print-only{display:none}"
    // Print (the PDF export and the browser's printing): the page without its navigation and
    // forms, the print header (logo, filters, data date), page numbers, table headers repeated.
    "@page{size:A4 landscape;margin:1.2cm 1cm 1.6cm 1cm;@bottom-right{content:\"page \" "
    "counter(page) \" / \" counter(pages);font-size:9pt}@bottom-left{content:\"Console "
    "territoriale\";font-size:9pt}}@media print{header,nav,form,.pages,.tabs,.exports,.skip{"
    "display:none}"
    ".print-only{display:block}body{font-size:9pt}main{padding:0}table.data{font-size:7.5pt}"
    "thead{display:table-header-group}tfoot{display:table-row-group}tr{break-inside:avoid}"
    "td,th{vertical-align:top}.sr{display:none}"
    ".chart{max-width:100%}.print-head img{max-height:2cm;max-width:6cm}}";

std::string layout(const Principal &who, const Request &r, const std::string &title,
                   const std::string &body, const std::string &header_html,
                   const std::string &print_html) {
    std::string h =
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width\"><title>" +
        escape(title) + " — Console territoriale</title><style>" + kStyle +
        "</style></head><body><a class=\"skip\" href=\"#contenu\">Aller au contenu</a><header>"
        "<span class=\"who\"><strong>Console territoriale</strong> · " +
        escape(who.collectivite) + " · " + escape(who.user) + "</span>" + header_html +
        "</header><nav class=\"menus\" aria-label=\"Menus\"><ul><li><a href=\"/\"" +
        (r.page == "accueil" ? " aria-current=\"page\"" : "") + ">Accueil</a></li>";
    for (const Menu &m : menus()) {
        if (!who.may_see_category(m.id)) continue;
        h += "<li><a href=\"/menus/" + escape(m.id) + "/synthese\"" +
             (r.menu == &m && r.page != "accueil" ? " aria-current=\"page\"" : "") + ">" +
             escape(m.label) + "</a></li>";
    }
    h += std::string("<li><a href=\"/remontees\"") +
         (r.page == "remontees" ? " aria-current=\"page\"" : "") +
         ">État des remontées</a></li></ul></nav><main id=\"contenu\">" + print_html + "<h1>" +
         escape(title) + "</h1>" + body + "</main></body></html>";
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
    if (r.page == "accueil") {
        // The guide's home "filtrable par année": the school years of the readings held.
        f += "<label>Année scolaire <select name=\"annee\"><option value=\"\"" +
             std::string(r.year < 0 ? " selected" : "") + ">Dernière valeur</option>";
        for (int64_t y : d.years)
            f += "<option value=\"" + std::to_string(y) + "\"" + (y == r.year ? " selected" : "") +
                 ">" + school_year_text(y) + "</option>";
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

bool is_series(std::string_view page) { return page == "journalier" || page == "horaire"; }

// The current page's path and query, for the export links.
std::string here_of(const Request &r) {
    std::vector<std::pair<std::string, std::string>> p;
    for (const auto &[k, v] : r.query) p.emplace_back(k, v);
    return r.path + build_query(p);
}

// The exports of the page, as the guide places them: the PDF's button left of the CSV's. No
// `download` attribute: a successful export is an attachment (Content-Disposition), and a
// refusal or a failure is then shown as a page rather than saved as a file.
std::string export_links(const Request &r) {
    const std::string here = escape(here_of(r));
    return "<ul class=\"exports\" aria-label=\"Exports\"><li><a href=\"/pdf" + here +
           "\">Export PDF</a></li><li><a href=\"/csv" + here +
           "\">Export CSV</a></li><li><a href=\"/api" + here +
           "\" type=\"application/json\">JSON</a></li></ul>";
}

// ---- the names of the exported files ----

// ASCII letters and digits, lower case, French accents dropped, anything else a single '-'.
std::string ascii_slug(std::string_view s) {
    static const std::pair<std::string_view, const char *> kAccents[] = {
        {"à", "a"}, {"â", "a"},  {"ä", "a"},  {"é", "e"}, {"è", "e"}, {"ê", "e"}, {"ë", "e"},
        {"î", "i"}, {"ï", "i"},  {"ô", "o"},  {"ö", "o"}, {"ù", "u"}, {"û", "u"}, {"ü", "u"},
        {"ç", "c"}, {"œ", "oe"}, {"æ", "ae"}, {"É", "e"}, {"È", "e"}, {"À", "a"}, {"Ç", "c"}};
    std::string out;
    auto dash = [&] {
        if (!out.empty() && out.back() != '-') out += '-';
    };
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out += char(c);
            ++i;
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            out += char(c - 'A' + 'a');
            ++i;
            continue;
        }
        bool found = false;
        for (const auto &[from, to] : kAccents)
            if (s.substr(i).starts_with(from)) {
                out += to;
                i += from.size();
                found = true;
                break;
            }
        if (found) continue;
        dash();
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out;
}

// RFC 8187's value-chars: attr-char as is, every other byte %XX.
std::string rfc8187(std::string_view s) { return percent_encode(s, "!#$&+-.^_`|~"); }

// `attachment` with the file's name: the page, its table, the mode, the period (or the series'
// fixed window, or the home's year) and the reference day. `filename` in ASCII for every client,
// `filename*` in UTF-8 with the page's own words (docs/console.md#csv).
std::string content_disposition(const Request &r, const PageData &d, const std::string &title,
                                const char *extension) {
    static const std::pair<std::string_view, const char *> kPages[] = {
        {"synthese", "synthese"},
        {"etablissements", "par-etablissement"},
        {"niveaux", "details-par-niveaux"},
        {"journalier", "suivi-journalier"},
        {"horaire", "suivi-heure-par-heure"}};
    std::vector<std::string> ascii, words;
    if (r.page == "accueil") {
        ascii.push_back("accueil");
    } else if (r.page == "remontees") {
        ascii.push_back("etat-des-remontees");
    } else {
        ascii.push_back(ascii_slug(r.menu->id));
        for (const auto &[id, slug] : kPages)
            if (r.page == id) ascii.push_back(slug);
    }
    words.push_back(title);
    if (!d.selected.empty() && r.page != "accueil" && d.tabs.size() > 1) {  // one of several
        ascii.push_back(ascii_slug(d.selected));
        for (const auto &[id, label] : d.tabs)
            if (id == d.selected) words.push_back(label);
    }
    if (r.mode == Mode::Rates && r.page != "synthese" && !is_series(r.page)) {
        ascii.push_back("taux");
        words.push_back("T%");
    }
    if (r.page == "journalier" || r.page == "horaire") {
        const char *days = r.page == "journalier" ? "28" : "21";
        ascii.push_back(std::string(days) + "-jours");
        words.push_back(std::string(days) + " jours");
    } else if (r.page == "accueil") {
        if (r.year >= 0) {
            ascii.push_back("annee-" + school_year_text(r.year));
            words.push_back("année " + school_year_text(r.year));
        }
    } else if (r.page != "remontees") {
        ascii.push_back(period_id(r.period));
        words.push_back(period_label(r.period));
    }
    ascii.push_back(iso_date(r.reference_day));
    words.push_back(iso_date(r.reference_day));
    std::string plain, utf8;
    for (const std::string &a : ascii) plain += (plain.empty() ? "" : "_") + a;
    for (const std::string &w : words) utf8 += (utf8.empty() ? "" : " — ") + w;
    // No character a file system refuses, none a header cannot carry.
    for (char &c : utf8)
        if (std::string_view("/\\:*?\"<>|").find(c) != std::string_view::npos ||
            static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '-';
    return "attachment; filename=\"" + plain + "." + extension + "\"; filename*=UTF-8''" +
           rfc8187(utf8) + "." + extension;
}

Answer csv_answer(const Request &r, const PageData &d, const std::string &title, std::string body) {
    Answer a = answer(200, std::move(body), "text/csv; charset=utf-8");
    a.headers.emplace_back("Content-Disposition", content_disposition(r, d, title, "csv"));
    return a;
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
    for (const auto &[id, label] : pages) {
        // Suivi journalier and Suivi heure par heure have fixed windows (the guide's 4 and 3
        // weeks): their links carry no period, mode nor table (docs/console.md#pages-and-urls).
        std::vector<std::pair<std::string, std::string>> changes = {
            {"tableau", ""}, {"indicateur", ""}, {"tri", ""}, {"ordre", ""}};
        if (is_series(id)) {
            changes.emplace_back("periode", "");
            changes.emplace_back("mode", "");
        }
        h += "<a href=\"" + escape(link(r, base + id, changes)) + "\"" +
             (id == r.page ? " aria-current=\"page\"" : "") + ">" + escape(label) + "</a> ";
    }
    return h + "</p>" + export_links(r);
}

// ---- print: the header of the PDF (and of the browser's printing) ----

std::string utc_text(int64_t unix) {
    const int64_t day = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400;
    const int64_t sec = unix - day * 86400;
    char buf[32];
    std::snprintf(buf, sizeof buf, " %02lld:%02lld UTC", static_cast<long long>(sec / 3600),
                  static_cast<long long>(sec % 3600 / 60));
    return date_text(day) + buf;
}

// What the page shows, in words: period, establishments, table, mode, sort, reference day.
std::string filter_summary(const Request &r, const PageData &d) {
    std::vector<std::string> parts;
    const bool series = r.page == "journalier" || r.page == "horaire";
    if (r.page == "accueil")
        parts.push_back("Année scolaire : " +
                        (r.year < 0 ? std::string("dernière valeur") : school_year_text(r.year)));
    else if (r.page == "journalier")
        parts.push_back("Période : les 28 jours jusqu'au " + date_text(r.reference_day));
    else if (r.page == "horaire")
        parts.push_back("Période : les 21 jours jusqu'au " + date_text(r.reference_day));
    else if (r.page != "remontees")
        parts.push_back("Période : " + std::string(period_label(r.period)) +
                        " (jour de référence " + date_text(r.reference_day) + ")");
    std::string est;
    if (r.wanted.empty()) {
        est = "tous (" + std::to_string(d.all.establishments.size()) + ")";
    } else {
        for (const Establishment &e : d.scope.establishments)
            est += (est.empty() ? "" : ", ") + e.name + " (" + e.uai + ")";
    }
    parts.push_back("Établissements : " + est);
    for (const auto &[id, label] : d.tabs)
        if (id == d.selected) parts.push_back("Tableau : " + label);
    if (!series && r.page != "synthese" && r.page != "remontees" && r.menu &&
        (r.menu->has_rates || r.page == "niveaux"))
        parts.push_back(std::string("Affichage : ") + (r.mode == Mode::Rates ? "T%" : "Valeurs"));
    if (!r.sort.empty())
        parts.push_back("Tri : " + r.sort +
                        (r.order == "desc" ? " (décroissant)" : " (croissant)"));
    std::string out;
    for (const std::string &p : parts) out += (out.empty() ? "" : " · ") + p;
    return out;
}

std::string print_head(const Principal &who, const Request &r, const PageData &d,
                       const PageContext &context) {
    int64_t newest = 0;
    for (const Establishment &e : d.scope.establishments)
        if (auto it = d.scope.fresh.find(e.uai); it != d.scope.fresh.end())
            newest = std::max(newest, it->second);
    std::string h = "<div class=\"print-only print-head\">";
    if (!context.logo_data_uri.empty())
        h += "<img src=\"" + escape(context.logo_data_uri) + "\" alt=\"Logo de la collectivité\">";
    h += "<p><strong>Console territoriale</strong> · " + escape(who.collectivite) + "</p>";
    h += "<p class=\"filters\">Filtres : " + escape(filter_summary(r, d)) + "</p>";
    h += "<p class=\"data-date\">Données au " + escape(time_text(newest)) + " · édité le " +
         escape(utc_text(context.now_unix)) + " par " + escape(who.user) + "</p></div>";
    return h;
}

// The page as HTML, or as PDF through the converter.
Answer finish(const Principal &who, const Request &r, const PageData &d, const std::string &title,
              const std::string &body, const PageContext &context) {
    const bool pdf = r.format == Format::Pdf;
    // The PDF gets no session items (logout form, links): nothing it could fetch or submit.
    const std::string html =
        layout(who, r, title, body, pdf ? "" : context.header_html, print_head(who, r, d, context));
    if (!pdf) return answer(200, html, "text/html; charset=utf-8");
    if (!context.pdf) return error_answer(r, 503, "export PDF indisponible sur ce service");
    std::string out, error;
    const PdfResult result = html_to_pdf(html, *context.pdf, out, &error);
    if (result == PdfResult::Busy) {
        Answer a = error_answer(r, 503, "trop d'exports PDF en cours, réessayez");
        a.retry_after = 5;
        return a;
    }
    if (result != PdfResult::Ok) {
        log(Level::Error, "pdf export of " + r.path + ": " + error);
        return error_answer(r, 500, "export PDF impossible");
    }
    Answer a = answer(200, std::move(out), "application/pdf");
    a.headers.emplace_back("Content-Disposition", content_disposition(r, d, title, "pdf"));
    return a;
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
    for (const auto &[prefix, format] : {std::pair<std::string, Format>{"/api", Format::Json},
                                         {"/csv", Format::Csv},
                                         {"/pdf", Format::Pdf}})
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
    } else if (path == "/remontees") {
        r.page = "remontees";  // every user's: the establishments they may read
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
    // The series have fixed windows (4 and 3 weeks): a period or a mode in their query is
    // ignored, and none of their links, forms or exports carries it on.
    if (is_series(r.page)) {
        r.query.erase("periode");
        r.query.erase("mode");
    }
    // Home is everyone's; its accounts table only for those granted the accounts.
    if (r.menu && !who.may_see_category(r.menu->id) && r.page != "accueil")
        return error_answer(r, 403, "catégorie non autorisée");
    const std::string period = query_get(r.query, "periode", period_id(Period::CurrentMonth));
    if (!parse_period(period, r.period)) return error_answer(r, 400, "période inconnue");
    r.date = query_get(r.query, "date");
    r.reference_day = now_unix >= 0 ? now_unix / 86400 : (now_unix - 86399) / 86400;
    if (!r.date.empty() && !parse_date(r.date, r.reference_day))
        return error_answer(r, 400, "date invalide (AAAA-MM-JJ)");
    const std::string mode = query_get(r.query, "mode", "valeurs");
    if (mode != "valeurs" && mode != "taux") return error_answer(r, 400, "mode inconnu");
    r.mode = mode == "taux" && r.menu && r.menu->has_rates ? Mode::Rates : Mode::Values;
    if (r.page == "niveaux" && mode == "taux") r.mode = Mode::Rates;
    r.order = query_get(r.query, "ordre", "asc");
    if (r.order != "asc" && r.order != "desc") return error_answer(r, 400, "ordre inconnu");
    r.sort = query_get(r.query, "tri");
    if (const std::string year = query_get(r.query, "annee"); !year.empty()) {
        if (r.page != "accueil" || year.size() != 4 ||
            !std::all_of(year.begin(), year.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            year < "1970")
            return error_answer(r, 400, "année invalide (AAAA, l'année où elle commence)");
        r.year = std::stoll(year);
    }
    r.table = query_get(r.query, r.page == "niveaux" ? "indicateur" : "tableau");
    for (auto [it, end] = r.query.equal_range("etab"); it != end; ++it) {
        if (!valid_uai(it->second)) return error_answer(r, 400, "UAI invalide");
        if (!who.may_see_establishment(it->second))
            return error_answer(r, 403, "établissement non autorisé");
        r.wanted.push_back(it->second);
    }
    return std::nullopt;
}

// ---- État des remontées ----

constexpr int64_t kStatusDays = 7;  // gaps and clock skew over the snapshots of the last 7 days

std::string duration_text(int64_t seconds) {
    const int64_t a = seconds < 0 ? -seconds : seconds;
    char buf[64];
    if (a < 60)
        std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(a));
    else if (a < 3600)
        std::snprintf(buf, sizeof buf, "%lld min %02lld s", static_cast<long long>(a / 60),
                      static_cast<long long>(a % 60));
    else if (a < 86400)
        std::snprintf(buf, sizeof buf, "%lld h %02lld min", static_cast<long long>(a / 3600),
                      static_cast<long long>(a % 3600 / 60));
    else
        std::snprintf(buf, sizeof buf, "%lld j %lld h", static_cast<long long>(a / 86400),
                      static_cast<long long>(a % 86400 / 3600));
    return (seconds < 0 ? "−" : seconds > 0 ? "+" : "") + std::string(buf);
}

std::string skew_text(const FeedStatus &f) {
    if (!f.skew_known) return "—";
    std::string t = duration_text(f.skew_seconds);
    if (f.skew_seconds < -60) t += " (horloge de l'établissement en avance)";
    // Measured at upload, a positive skew is the school's clock behind; estimated from the
    // files, it may as well be a late delivery.
    if (f.skew_measured && f.skew_seconds > 60) t += " (horloge de l'établissement en retard)";
    if (!f.skew_measured) t += " (réception − création)";
    return t;
}

std::string gaps_text(const FeedStatus &f) {
    if (!f.coverage_seen) return "inconnu (pas de couverture)";
    if (f.gaps.empty()) return "aucun";
    std::string t = std::to_string(f.gap_hours) + " h :";
    for (size_t i = 0; i < f.gaps.size() && i < 3; ++i)
        t += (i ? " ;" : "") + std::string(" ") + utc_text(f.gaps[i].first) + " → " +
             utc_text(f.gaps[i].second);
    if (f.gaps.size() > 3) t += " ; et " + std::to_string(f.gaps.size() - 3) + " autres";
    return t;
}

std::string rejections_text(const FeedStatus &f) {
    const uint64_t n = f.refused_uploads + f.unapplied_files;
    if (!n) return "aucun";
    return std::to_string(n) + " (dernier le " + utc_text(f.last_rejection_unix) + " : " +
           f.last_rejection + ")";
}

void sort_status(std::vector<FeedStatus> &rows, const std::string &by, bool descending) {
    auto key = [&](const FeedStatus &f) -> std::pair<bool, double> {  // (missing, value)
        if (by == "recu") return {!f.received, double(f.last_received_unix)};
        if (by == "sequence") return {!f.received, double(f.last_sequence)};
        if (by == "donnees") return {!f.complete_until_unix, double(f.complete_until_unix)};
        if (by == "trous") return {!f.coverage_seen, double(f.gap_hours)};
        if (by == "ecart") return {!f.skew_known, double(f.skew_seconds)};
        if (by == "rejets") return {false, double(f.refused_uploads + f.unapplied_files)};
        return {false, 0};
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const FeedStatus &a, const FeedStatus &b) {
        if (by == "uai" || by == "nom" || by == "commune") {
            const std::string &x = by == "uai"       ? a.establishment.uai
                                   : by == "commune" ? a.establishment.commune
                                                     : a.establishment.name;
            const std::string &y = by == "uai"       ? b.establishment.uai
                                   : by == "commune" ? b.establishment.commune
                                                     : b.establishment.name;
            return descending ? y < x : x < y;
        }
        const auto x = key(a), y = key(b);
        if (x.first != y.first) return y.first;  // missing last in both directions
        if (x.first) return false;
        return descending ? y.second < x.second : x.second < y.second;
    });
}

Answer render_status(const Principal &who, Request &r, const PageContext &context) {
    static const std::vector<std::pair<std::string, std::string>> kColumns = {
        {"uai", "UAI"},
        {"nom", "Établissement"},
        {"commune", "Commune"},
        {"recu", "Dernier fichier reçu"},
        {"sequence", "Séquence"},
        {"donnees", "Données complètes jusqu'au"},
        {"trous", "Heures manquantes (7 jours)"},
        {"ecart", "Écart d'horloge console − établissement (7 jours)"},
        {"rejets", "Fichiers rejetés"}};
    if (!r.sort.empty() && std::none_of(kColumns.begin(), kColumns.end(),
                                        [&](const auto &c) { return c.first == r.sort; }))
        return error_answer(r, 400, "colonne de tri inconnue");
    Reader &reader = *context.reader;
    PageData d;
    std::string error;
    if (!load_page_scope(reader, who, r, d, &error))
        return error_answer(r, 500, "lecture impossible : " + error);
    std::vector<FeedStatus> rows;
    if (!load_feed_status(reader, d.scope, context.now_unix - kStatusDays * 86400, rows, &error))
        return error_answer(r, 500, "lecture impossible : " + error);
    if (!r.sort.empty()) sort_status(rows, r.sort, r.order == "desc");

    if (r.format == Format::Json) {
        json list = json::array();
        for (const FeedStatus &f : rows) {
            json gaps = json::array();
            for (const auto &[from, to] : f.gaps) gaps.push_back({from, to});
            json e = {{"uai", f.establishment.uai},
                      {"name", f.establishment.name},
                      {"commune", f.establishment.commune},
                      {"fresh_unix", f.fresh_unix},
                      {"complete_until_unix", f.complete_until_unix},
                      {"coverage_seen", f.coverage_seen},
                      {"gaps", gaps},
                      {"gap_hours", f.gap_hours},
                      {"skew_seconds", f.skew_known ? json(f.skew_seconds) : json(nullptr)},
                      {"skew_source", !f.skew_known     ? json(nullptr)
                                      : f.skew_measured ? json("upload_date")
                                                        : json("reception_minus_creation")},
                      {"skew_measured_unix",
                       f.skew_measured ? json(f.skew_measured_unix) : json(nullptr)},
                      {"refused_uploads", f.refused_uploads},
                      {"unapplied_files", f.unapplied_files},
                      {"last_rejection",
                       f.last_rejection_unix
                           ? json{{"unix", f.last_rejection_unix}, {"reason", f.last_rejection}}
                           : json(nullptr)}};
            e["last_snapshot"] = f.received ? json{{"sequence", f.last_sequence},
                                                   {"received_unix", f.last_received_unix},
                                                   {"created_unix", f.last_created_unix},
                                                   {"status", f.last_status}}
                                            : json(nullptr);
            list.push_back(e);
        }
        return answer(200,
                      json{{"page", "remontees"},
                           {"window_days", kStatusDays},
                           {"now_unix", context.now_unix},
                           {"establishments", list}}
                          .dump(),
                      "application/json");
    }
    if (r.format == Format::Csv) {
        std::string out = "\xEF\xBB\xBF";
        for (size_t i = 0; i < kColumns.size(); ++i)
            out += (i ? ";" : "") + csv_field(kColumns[i].second);
        out +=
            ";Statut du dernier fichier;Envois refusés;Fichiers non appliqués;Dernier rejet;"
            "Motif;Mesure de l'écart\r\n";
        for (const FeedStatus &f : rows) {
            out += csv_field(f.establishment.uai) + ";" + csv_field(f.establishment.name) + ";" +
                   csv_field(f.establishment.commune) + ";" +
                   (f.received ? csv_field(utc_text(f.last_received_unix)) : "nd") + ";" +
                   (f.received ? std::to_string(f.last_sequence) : "nd") + ";" +
                   (f.complete_until_unix ? csv_field(utc_text(f.complete_until_unix)) : "nd") +
                   ";" + (f.coverage_seen ? std::to_string(f.gap_hours) : "nd") + ";" +
                   (f.skew_known ? std::to_string(f.skew_seconds) : "nd") + ";" +
                   std::to_string(f.refused_uploads + f.unapplied_files) + ";" +
                   csv_field(f.last_status) + ";" + std::to_string(f.refused_uploads) + ";" +
                   std::to_string(f.unapplied_files) + ";" +
                   (f.last_rejection_unix ? csv_field(utc_text(f.last_rejection_unix)) : "") + ";" +
                   csv_field(f.last_rejection) + ";" +
                   (!f.skew_known     ? "nd"
                    : f.skew_measured ? "à l'envoi"
                                      : "réception − création") +
                   "\r\n";
        }
        return csv_answer(r, d, "État des remontées", std::move(out));
    }

    std::string body = export_links(r);
    body += filters(r, d, false, false);
    const std::string dir = r.order == "desc" ? "desc" : "asc";
    body += "<table class=\"data\" id=\"remontees\"><caption>Remontées par établissement (" +
            std::to_string(rows.size()) + ")</caption><thead><tr>";
    for (const auto &[id, label] : kColumns) {
        const bool sorted = r.sort == id;
        const std::string next = sorted && dir == "asc" ? "desc" : "asc";
        body += "<th scope=\"col\"" +
                std::string(sorted ? (dir == "asc" ? " aria-sort=\"ascending\""
                                                   : " aria-sort=\"descending\"")
                                   : "") +
                "><a href=\"" + escape(link(r, r.path, {{"tri", id}, {"ordre", next}})) + "\">" +
                escape(label) + (sorted ? (dir == "asc" ? " ▲" : " ▼") : "") + "</a></th>";
    }
    body += "</tr></thead><tbody>";
    for (const FeedStatus &f : rows) {
        const std::string attr = " data-uai=\"" + escape(f.establishment.uai) + "\"";
        body +=
            "<tr" + attr + "><td>" + escape(f.establishment.uai) + "</td><th scope=\"row\">" +
            escape(f.establishment.name) + "</th><td>" + escape(f.establishment.commune) +
            "</td><td class=\"recu\">" +
            escape(f.received ? utc_text(f.last_received_unix) + (f.last_status == "applied"
                                                                      ? std::string()
                                                                      : " (" + f.last_status + ")")
                              : std::string("aucun fichier")) +
            "</td><td class=\"num sequence\">" +
            (f.received ? std::to_string(f.last_sequence) : "—") + "</td><td class=\"donnees\">" +
            escape(f.complete_until_unix ? utc_text(f.complete_until_unix)
                   : f.fresh_unix        ? "créé le " + time_text(f.fresh_unix)
                                         : std::string("aucune donnée")) +
            "</td><td class=\"trous\">" + escape(gaps_text(f)) + "</td><td class=\"num ecart\">" +
            escape(skew_text(f)) + "</td><td class=\"rejets\">" + escape(rejections_text(f)) +
            "</td></tr>";
    }
    body += "</tbody></table>";
    body +=
        "<p class=\"legend\">« Données complètes jusqu'au » : la fin de la dernière heure que les "
        "fichiers reçus couvrent entièrement (sans couverture dans les fichiers : la création "
        "du plus récent). Heures manquantes : les heures que les fichiers des 7 derniers jours "
        "auraient dû couvrir et qu'aucun fichier reçu ne couvre. Écart réception − création : le "
        "plus petit écart entre l'heure de réception par la console et l'heure de création du "
        "fichier par le serveur de l'établissement, sur 7 jours ; il comprend le délai "
        "d'acheminement, un écart négatif signale une horloge de l'établissement en avance. "
        "Fichiers rejetés : envois refusés par la console et fichiers reçus mais illisibles "
        "ou d'un catalogue inconnu.</p>";
    return finish(who, r, d, "État des remontées", body, context);
}

}  // namespace

Answer render_page(const Principal &who, std::string_view target, const PageContext &context) {
    Request r;
    if (auto bad = parse_request(who, target, r, context.now_unix)) return *bad;
    if (!context.reader) return error_answer(r, 500, "base de données indisponible");
    if (r.page == "remontees") return render_status(who, r, context);
    Reader &reader = *context.reader;
    PageData d;
    std::string error;
    if (!load_page_scope(reader, who, r, d, &error))
        return error_answer(r, 500, "lecture impossible : " + error);
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
        if (r.page == "accueil" && !shown.empty()) {
            // The year filter and the accounts per year, from the gauges' history: the last
            // reading of each gauge in each school year (docs/console.md#home).
            std::vector<uint32_t> ids;
            for (const Column &c : shown[0]->columns)
                for (const Quantity *q : {&c.num, &c.den})
                    if (q->source == Quantity::Source::Gauge)
                        ids.insert(ids.end(), q->ids.begin(), q->ids.end());
            GaugeHistory history;
            if (!load_gauge_history(reader, d.scope, ids, history, &error))
                return error_answer(r, 500, "lecture impossible : " + error);
            for (const auto &[year, bases] : history) {
                d.years.push_back(year);
                std::map<std::string, BaseFigures> of_year;
                for (const Establishment &e : d.scope.establishments) of_year[e.uai];
                for (const auto &[uai, gauges] : bases) of_year[uai].gauges = gauges;
                const Table t = widget_table(*shown[0], d.scope, of_year, Mode::Values);
                d.year_columns = t.columns;
                d.per_year.push_back({year, bases.size(), t.total, t.excluded});
            }
            // Each column's largest and smallest known total across the years.
            for (size_t i = 0; i < d.year_columns.size(); ++i) {
                std::vector<Cell *> known;
                for (auto &y : d.per_year)
                    if (y.total[i].state == State::Known) known.push_back(&y.total[i]);
                if (known.empty()) continue;
                auto [lo, hi] = std::minmax_element(
                    known.begin(), known.end(),
                    [](const Cell *a, const Cell *b) { return a->value < b->value; });
                if ((*lo)->value == (*hi)->value) continue;
                for (Cell *c : known) {
                    c->is_max = c->value == (*hi)->value;
                    c->is_min = c->value == (*lo)->value;
                }
            }
            if (r.year >= 0) {
                const auto year = history.find(r.year);
                for (auto &[uai, b] : figures) {
                    b.gauges.clear();
                    if (year == history.end()) continue;
                    if (auto it = year->second.find(uai); it != year->second.end())
                        b.gauges = it->second;
                }
            }
        }
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
                  {"period", series ? json(nullptr) : json(period_id(r.period))},
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
        if (r.page == "accueil") {
            j["year"] = r.year < 0 ? json(nullptr) : json(r.year);
            j["years"] = d.years;
            json per_year = json::array(), cols = json::array();
            for (const TableColumn &c : d.year_columns)
                cols.push_back({{"id", c.id}, {"label", c.label}, {"indicator", c.indicator}});
            for (const auto &y : d.per_year) {
                json cells = json::array();
                for (size_t i = 0; i < y.total.size(); ++i) {
                    json c = cell_json(y.total[i]);
                    c["excluded"] = y.excluded[i];
                    cells.push_back(c);
                }
                per_year.push_back(
                    {{"year", y.year}, {"establishments", y.establishments}, {"cells", cells}});
            }
            j["per_year"] = {{"columns", cols}, {"rows", per_year}};
        }
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
            return csv_answer(r, d, title, std::move(out));
        }
        std::string out = tables_csv(d.tables);
        if (!d.per_year.empty()) {  // the home: the accounts per school year after its table
            out += "\r\nComptes PRONOTE par année scolaire\r\nAnnée scolaire";
            for (const TableColumn &c : d.year_columns) out += ";" + csv_field(c.label);
            out += ";Établissements avec une valeur\r\n";
            for (const auto &y : d.per_year) {
                out += school_year_text(y.year);
                for (const Cell &c : y.total) out += ";" + csv_cell(c);
                out += ";" + std::to_string(y.establishments) + "\r\n";
            }
        }
        return csv_answer(r, d, title, out);
    }

    body += page_links(r);
    body += filters(r, d, !series && r.page != "accueil",
                    r.page != "synthese" && !series && (r.menu->has_rates || r.page == "niveaux"));
    // The period the figures are read at; the series have their own fixed windows, and the
    // home's accounts are gauges (their latest reading, or the chosen year's).
    if (r.page == "journalier")
        body += "<p class=\"window\">Les 4 dernières semaines : les 28 jours du " +
                date_text(d.first_day) + " au " + date_text(d.last_day) +
                " (jours locaux des établissements ; le dernier est en cours).</p>";
    else if (r.page == "horaire")
        body += "<p class=\"window\">Les 3 dernières semaines : les 21 jours du " +
                date_text(d.first_hour_day) + " au " + date_text(d.last_day) +
                " (heures locales des établissements ; le dernier jour est en cours).</p>";
    else if (r.page != "accueil")
        body += "<p class=\"window\">Période : " + std::string(period_label(r.period)) +
                " (jour de référence " + date_text(r.reference_day) + ")</p>";
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
    if (r.page == "accueil" && !d.per_year.empty()) {
        // The guide's "nombre de comptes PRONOTE … filtrable par année": one row per school
        // year the console has readings for, each a link to that year's table above.
        body +=
            "<table class=\"data\" id=\"comptes-par-annee\"><caption>Comptes PRONOTE par "
            "année scolaire (établissements sélectionnés, dernière valeur lue dans "
            "l'année)</caption><thead><tr><th scope=\"col\">Année scolaire</th>";
        for (const TableColumn &c : d.year_columns)
            body += "<th scope=\"col\">" + escape(c.label) + "</th>";
        body += "<th scope=\"col\">Établissements avec une valeur</th></tr></thead><tbody>";
        for (const auto &y : d.per_year) {
            body += "<tr><th scope=\"row\"><a href=\"" +
                    escape(link(r, r.path, {{"annee", std::to_string(y.year)}})) + "\">" +
                    school_year_text(y.year) + "</a></th>";
            for (size_t i = 0; i < y.total.size(); ++i)
                body += cell_html(y.total[i], d.year_columns[i].rate);
            body += "<td class=\"num\">" + std::to_string(y.establishments) + "</td></tr>";
        }
        body += "</tbody></table>";
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
    return finish(who, r, d, title, body, context);
}

}  // namespace sonde::console::web
