#pragma once
// The console's pages, JSON API and CSV exports (docs/console.md). The server calls
// render_page with the request target and the Principal it authenticated; every figure read
// goes through that Principal (establishments and categories).
//
//   /                                    home: PRONOTE accounts
//   /menus/{menu}/synthese               Synthèse
//   /menus/{menu}/etablissements         Par établissement
//   /menus/{menu}/niveaux                Détails par niveaux
//   /menus/connexions/journalier         Suivi journalier
//   /menus/connexions/horaire            Suivi heure par heure
//   /api/... (the same paths)            JSON
//   /remontees                           État des remontées (deliveries per establishment)
//   /csv/... (the same paths)            CSV (the tables of the page)
//   /pdf/... (the same paths)            PDF (the page printed, through WeasyPrint)
// Filters in the query string: periode, etab (repeatable), tableau, mode (valeurs | taux),
// tri, ordre (asc | desc), indicateur, date (YYYY-MM-DD, the reference day), annee (home: the
// school year of the accounts' readings).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "handler.hpp"
#include "pdf.hpp"
#include "principal.hpp"
#include "reader.hpp"

namespace sonde::console::web {

struct PageContext {
    PageContext() = default;
    // The three fields every caller sets (the PDF's are set by name where they are used).
    PageContext(Reader *r, int64_t now, std::string header)
        : reader(r), now_unix(now), header_html(std::move(header)) {}
    Reader *reader = nullptr;
    int64_t now_unix = 0;  // the reference day is its UTC date unless the query gives one
    // HTML put in the pages' header, after the collectivité and the user: the session's links
    // and forms (logout, administration, logo), given by the accounts' layer.
    std::string header_html;
    // The collectivité's logo for the PDF export, as a data: URI ("" when none is set).
    std::string logo_data_uri;
    // The PDF converter's settings; nullptr: the PDF export answers 503.
    const PdfOptions *pdf = nullptr;
};

// 200 with the page, 400 on a bad filter, 503 when a PDF cannot be made now, 403 for a category or
// an establishment the Principal may not read, 404 for an unknown path, 500 if the store cannot be
// read.
Answer render_page(const Principal &who, std::string_view target, const PageContext &context);

}  // namespace sonde::console::web
