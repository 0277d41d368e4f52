#pragma once
// The console's web pages, behind authentication (docs/console.md#accounts-and-rights): login,
// logout, forgotten password (reset by a single-use link), invitation acceptance, user
// management and the logo for administrators; then, for a logged-in user, the page function
// (the figure pages) given the request's Principal. Mail goes to DATA/outbox as files.

#include <ctime>
#include <functional>
#include <optional>
#include <string>

#include "accounts.hpp"
#include "config.hpp"
#include "handler.hpp"
#include "principal.hpp"
#include "rate_limit.hpp"
#include "web.hpp"

namespace sonde::console {

// What a page function gets besides the request and the Principal.
struct PageContext {
    // The value of the hidden field "csrf" that every form (POST) of the page must carry.
    std::string csrf;
    // Records an export or another audited act in the audit log: who (the Principal), when
    // (now), what (action such as "export.csv", detail such as the page and its filters).
    std::function<void(const std::string &action, const std::string &detail)> audit;
    // The session's header items (logo, the administrators' links, the logout form with its
    // CSRF token), for pages that have a layout of their own.
    std::string header_html;
};

// Called for an authenticated request that the account pages do not serve. nullopt: no such
// page (the home, "/", then shows the user's establishments; anything else is 404). POST
// requests reach it only with a valid CSRF token.
using PageFunction = std::function<std::optional<Answer>(const WebRequest &, const Principal &,
                                                         const PageContext &)>;

inline constexpr const char *kSessionCookie = "__Host-sonde_session";
inline constexpr const char *kCsrfCookie = "__Host-sonde_csrf";  // forms before the login

class WebApp {
  public:
    WebApp(const Config &config, Accounts &accounts);
    void set_pages(PageFunction pages) { pages_ = std::move(pages); }
    Answer handle(const WebRequest &request);
    // public_url (or https://localhost:PORT) followed by `path_and_query`.
    static std::string link(const Config &config, const std::string &path_and_query);
    // Writes a mail to DATA/outbox/<time>-<random>.eml (To, Subject, text body).
    static bool write_mail(const Config &config, const std::string &to, const std::string &subject,
                           const std::string &body, std::string *error);

  private:
    struct Ctx;
    Answer login_page(Ctx &c);
    Answer login_post(Ctx &c);
    Answer forgot(Ctx &c);
    Answer token_page(Ctx &c, bool invitation);
    Answer home(Ctx &c);
    Answer users_page(Ctx &c, const std::string &message = "");
    Answer user_create(Ctx &c);
    Answer user_page(Ctx &c, const std::string &email, const std::string &message = "");
    Answer user_rights(Ctx &c);
    Answer user_delete(Ctx &c);
    Answer logo_form(Ctx &c, const std::string &message = "");
    Answer logo_post(Ctx &c);
    Answer logo_image(Ctx &c);
    std::string frame(Ctx &c, const std::string &title, const std::string &body);
    std::string session_header(Ctx &c);
    bool address_allowed(const WebRequest &r);

    const Config &config_;
    Accounts &accounts_;
    PageFunction pages_;
    RateLimiter per_address_;
};

}  // namespace sonde::console
