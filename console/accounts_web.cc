#include "accounts_web.hpp"

#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "files.hpp"
#include "log.hpp"
#include "password.hpp"

namespace sonde::console {
namespace {

constexpr const char *kBadLogin =
    "Identifiant ou mot de passe incorrect, ou compte temporairement bloqué après trop "
    "d'essais.";
constexpr const char *kResetSent =
    "Si un compte correspond à cet identifiant, un e-mail de réinitialisation vient de lui "
    "être envoyé.";
constexpr const char *kBadLink = "Ce lien n'est pas ou plus valide. Demandez-en un nouveau.";

int64_t now_unix() { return int64_t(std::time(nullptr)); }

const char *kStyle =
    "body{font-family:sans-serif;margin:0}header{background:#234;color:#fff;padding:.5em 1em;"
    "display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:center}header ul{list-style:none;"
    "margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.5em 1.5em}header form{margin:0}header "
    "a,header button{color:#fff}header button{background:none;border:1px solid #fff}header img{"
    "max-height:40px}.skip{position:absolute;left:-10000px}.skip:focus{left:1em;top:.5em;"
    "background:#fff;color:#234;padding:.25em .5em}main{padding:"
    "1em}.error{color:#a00;font-weight:bold}.ok{color:#060}table{border-collapse:collapse}"
    "td,th{border:1px solid #999;padding:.2em .5em}label{display:block;margin:.3em 0}";

Answer html_answer(unsigned status, std::string body) {
    Answer a{status, std::move(body), "text/html; charset=utf-8"};
    return a;
}

Answer redirect(const std::string &to) {
    Answer a{303, "", "text/plain; charset=utf-8"};
    a.headers.emplace_back("Location", to);
    return a;
}

std::string session_cookie(const std::string &id) {
    return std::string(kSessionCookie) + "=" + id + "; Path=/; Secure; HttpOnly; SameSite=Strict";
}

std::string expired_cookie(const char *name) {
    return std::string(name) + "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict";
}

std::string csrf_of_session(const std::string &session_id) {
    return token_hash("csrf:" + session_id);
}

std::string hidden(const char *name, const std::string &value) {
    return std::string("<input type=\"hidden\" name=\"") + name + "\" value=\"" + html(value) +
           "\">";
}

std::string message_html(const std::string &m, bool error = true) {
    if (m.empty()) return "";
    return std::string("<p class=\"") + (error ? "error" : "ok") + "\" role=\"" +
           (error ? "alert" : "status") + "\">" + html(m) + "</p>";
}

std::string mime_word(const std::string &text) {
    std::string out(sodium_base64_ENCODED_LEN(text.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char *>(text.data()),
                      text.size(), sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.find('\0'));
    return "=?UTF-8?B?" + out + "?=";
}

// An image's type from its first bytes: PNG or JPEG (the guide's formats), never the client's
// word.
std::optional<std::string> image_type(const std::string &bytes) {
    if (bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return "image/png";
    if (bytes.size() > 3 && bytes.compare(0, 3, "\xFF\xD8\xFF") == 0) return "image/jpeg";
    return std::nullopt;
}

}  // namespace

struct WebApp::Ctx {
    const WebRequest &req;
    Fields form;  // the POST body's fields, or the query's for GET
    std::optional<Principal> principal;
    std::string session_id;
    std::string csrf;  // expected value of the form field "csrf"
    std::vector<std::pair<std::string, std::string>> set_headers;
    std::vector<FormFile> files;
    Answer finish(Answer a) {
        for (auto &h : set_headers) a.headers.push_back(h);
        return a;
    }
};

WebApp::WebApp(const Config &config, Accounts &accounts)
    : config_(config),
      accounts_(accounts),
      per_address_(config.login_rate_per_address, config.login_burst_per_address, 100000) {
    dummy_hash();  // computed once now, not during the first login
}

std::string WebApp::link(const Config &config, const std::string &path_and_query) {
    if (!config.public_url.empty()) return config.public_url + path_and_query;
    return "https://localhost:" + std::to_string(config.listen_port) + path_and_query;
}

bool WebApp::write_mail(const Config &config, const std::string &to, const std::string &subject,
                        const std::string &body, std::string *error) {
    const std::string dir = config.data_dir + "/outbox";
    if (!make_dirs(dir, error)) return false;
    const std::string name = std::to_string(now_unix()) + "-" + random_token().substr(0, 12);
    const std::string text = "To: " + to + "\r\nSubject: " + mime_word(subject) +
                             "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
                             "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
                             body;
    const std::string tmp = dir + "/." + name + ".tmp";
    const std::string final_path = dir + "/" + name + ".eml";
    if (!write_new_file(tmp, {reinterpret_cast<const uint8_t *>(text.data()), text.size()}, error))
        return false;
    if (std::rename(tmp.c_str(), final_path.c_str()) != 0) {
        if (error) *error = "cannot rename " + tmp;
        ::unlink(tmp.c_str());
        return false;
    }
    return sync_dir(dir, error);
}

bool WebApp::address_allowed(const WebRequest &r) {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    return per_address_.take(r.peer, "login", now_ms) == 0;
}

std::string WebApp::frame(Ctx &c, const std::string &title, const std::string &body) {
    std::string h =
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
        "content=\"width=device-width\"><title>" +
        html(title) + " – Console territoriale</title><style>" + kStyle +
        "</style></head><body><a class=\"skip\" href=\"#contenu\">Aller au contenu</a><header>"
        "<span class=\"who\"><strong>Console territoriale</strong>";
    if (c.principal) {
        h +=
            " · " + html(c.principal->collectivite) + " · " + html(c.principal->user) +
            "</span><nav aria-label=\"Console\"><ul><li><a href=\"/\">Accueil</a></li></ul></nav>" +
            session_header(c);
    } else {
        h += "</span>";
    }
    h += "</header><main id=\"contenu\"><h1>" + html(title) + "</h1>" + body +
         "</main></body></html>\n";
    return h;
}

std::string WebApp::session_header(Ctx &c) {
    const Principal &p = *c.principal;
    std::string h;
    // Separate items with their own accessible names (RGAA): the logo, the administrators'
    // links as a list in a navigation landmark, the logout form.
    if (accounts_.logo(p.collectivite))
        h += "<img class=\"logo\" src=\"/logo\" alt=\"Logo de la collectivité\" height=\"40\">";
    if (p.administrator)
        h += "<nav aria-label=\"Administration\"><ul><li><a href=\"/gestion/utilisateurs\">"
             "Gestion des utilisateurs</a></li><li><a href=\"/gestion/logo\">Logo de la "
             "collectivité</a></li></ul></nav>";
    h += "<form class=\"logout\" method=\"post\" action=\"/logout\">" +
         hidden("csrf", csrf_of_session(c.session_id)) +
         "<button type=\"submit\">Se déconnecter</button></form>";
    return h;
}

Answer WebApp::handle(const WebRequest &req) {
    Ctx c{req, {}, std::nullopt, {}, {}, {}, {}};
    Answer a = [&]() -> Answer {
        std::string path, query;
        if (!split_target(req.target, path, query))
            return html_answer(400, "<!DOCTYPE html><p>Requête invalide.</p>");
        const bool get = req.method == "GET" || req.method == "HEAD";
        const bool post = req.method == "POST";
        if (!get && !post) {
            Answer a = html_answer(405, "<!DOCTYPE html><p>Méthode non permise.</p>");
            a.headers.emplace_back("Allow", "GET, HEAD, POST");
            return a;
        }
        std::optional<Fields> form;
        if (post && req.content_type.starts_with("multipart/form-data")) {
            Fields f;
            if (!parse_multipart(req.content_type, req.body, f, c.files))
                return html_answer(400, "<!DOCTYPE html><p>Formulaire invalide.</p>");
            form = std::move(f);
        } else {
            form = parse_urlencoded(post ? std::string_view(req.body) : std::string_view(query));
        }
        if (!form) return html_answer(400, "<!DOCTYPE html><p>Formulaire invalide.</p>");
        c.form = std::move(*form);

        // Who is asking: the session cookie, if any and alive.
        if (auto id = cookie_value(req.cookie, kSessionCookie); id && !id->empty()) {
            c.principal = accounts_.session_principal(*id, config_.session_idle_timeout,
                                                      config_.session_lifetime, now_unix());
            if (c.principal) {
                c.session_id = *id;
                c.csrf = csrf_of_session(*id);
            } else {
                c.set_headers.emplace_back("Set-Cookie", expired_cookie(kSessionCookie));
            }
        }
        const bool public_page = path == "/login" || path == "/mot-de-passe-oublie" ||
                                 path == "/reinitialiser" || path == "/invitation";
        if (public_page) {
            // Double-submit token for forms without a session: a cookie and the same value in
            // the form (with SameSite=Strict, another site can neither send nor read it).
            const std::optional<std::string> cookie = cookie_value(req.cookie, kCsrfCookie);
            if (cookie && cookie->size() == 43) {
                c.csrf = *cookie;
            } else {
                c.csrf = random_token();
                c.set_headers.emplace_back("Set-Cookie", std::string(kCsrfCookie) + "=" + c.csrf +
                                                             "; Path=/; Secure; HttpOnly; "
                                                             "SameSite=Strict");
            }
            if (post && !constant_time_equal(field(c.form, "csrf"), c.csrf))
                return html_answer(403, frame(c, "Formulaire expiré",
                                              "<p class=\"error\" role=\"alert\">Ce formulaire a "
                                              "expiré. <a href=\"" +
                                                  html(path) + "\">Recharger la page</a>.</p>"));
            if (path == "/login") return post ? login_post(c) : login_page(c);
            if (path == "/mot-de-passe-oublie") return forgot(c);
            return token_page(c, path == "/invitation");
        }
        if (!c.principal) {
            if (get) return redirect("/login");
            return html_answer(401, frame(c, "Session expirée",
                                          "<p class=\"error\" role=\"alert\">Votre session a "
                                          "expiré. <a href=\"/login\">Se connecter</a>.</p>"));
        }
        if (post && !constant_time_equal(field(c.form, "csrf"), c.csrf))
            return html_answer(403, frame(c, "Formulaire expiré",
                                          "<p class=\"error\" role=\"alert\">Ce formulaire a "
                                          "expiré ou ne vient pas de la console.</p>"));
        if (path == "/logout") {
            if (!post) return redirect("/");
            accounts_.end_session(c.session_id);
            Answer a = redirect("/login");
            a.headers.emplace_back("Set-Cookie", expired_cookie(kSessionCookie));
            return a;
        }
        if (path == "/logo" && get) return logo_image(c);
        if (path.starts_with("/gestion/")) {
            if (!c.principal->administrator)
                return html_answer(403, frame(c, "Accès refusé",
                                              "<p class=\"error\" role=\"alert\">Cette page est "
                                              "réservée aux administrateurs.</p>"));
            if (path == "/gestion/utilisateurs" && get) return users_page(c);
            if (path == "/gestion/utilisateurs/nouveau" && post) return user_create(c);
            if (path == "/gestion/utilisateurs/compte")
                return post ? user_rights(c) : user_page(c, field(c.form, "email"));
            if (path == "/gestion/utilisateurs/supprimer" && post) return user_delete(c);
            if (path == "/gestion/logo") return post ? logo_post(c) : logo_form(c);
        } else if (pages_) {
            const Principal &p = *c.principal;
            PageContext context{c.csrf,
                                [this, &p](const std::string &action, const std::string &detail) {
                                    accounts_.audit(p.collectivite, p.user, action, detail,
                                                    now_unix());
                                },
                                session_header(c)};
            if (std::optional<Answer> a = pages_(req, p, context)) return std::move(*a);
        }
        if (path == "/" && get) return home(c);
        return html_answer(404, frame(c, "Page introuvable", "<p>Cette page n'existe pas.</p>"));
    }();
    a = c.finish(std::move(a));
    // Defaults of every web answer; a page may set its own.
    auto add = [&a](const char *name, const char *value) {
        for (const auto &h : a.headers)
            if (h.first == name) return;
        a.headers.emplace_back(name, value);
    };
    add("Cache-Control", "no-store");
    add("X-Content-Type-Options", "nosniff");
    add("X-Frame-Options", "DENY");
    add("Referrer-Policy", "no-referrer");
    add("Strict-Transport-Security", "max-age=31536000");
    add("Content-Security-Policy",
        "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    // HEAD: the server sends these headers and the body's length, without the body.
    return a;
}

Answer WebApp::login_page(Ctx &c) {
    if (c.principal) return redirect("/");
    return html_answer(
        200, frame(c, "Connexion",
                   "<form method=\"post\" action=\"/login\">" + hidden("csrf", c.csrf) +
                       "<label>Identifiant (adresse e-mail) <input name=\"email\" type=\"email\" "
                       "autocomplete=\"username\" required></label><label>Mot de passe <input "
                       "name=\"password\" type=\"password\" autocomplete=\"current-password\" "
                       "required></label><button type=\"submit\">Se connecter</button></form><p><a "
                       "href=\"/mot-de-passe-oublie\">Identifiant/mot de passe oublié</a></p>"));
}

Answer WebApp::login_post(Ctx &c) {
    auto refused = [&](unsigned status, const std::string &why) {
        return html_answer(status, frame(c, "Connexion",
                                         message_html(why) + "<p><a href=\"/login\">Réessayer</a>"
                                                             " · <a href=\"/mot-de-passe-oublie\">"
                                                             "Identifiant/mot de passe oublié</a>"
                                                             "</p>"));
    };
    if (!address_allowed(c.req))
        return refused(429, "Trop de tentatives depuis cette adresse : réessayez dans une minute.");
    const std::string password = field(c.form, "password");
    const std::optional<std::string> email = normal_email(field(c.form, "email"));
    const int64_t now = now_unix();
    std::optional<Accounts::LoginState> state;
    if (email) state = accounts_.login_state(*email, now);
    // The same work whatever the login names: an argon2id verification every time.
    const bool known = state && !state->hash.empty() && password.size() <= kMaxPasswordBytes;
    const bool match = verify_password(known ? state->hash : dummy_hash(),
                                       password.substr(0, kMaxPasswordBytes)) &&
                       known;
    if (!match || state->locked) {
        if (state)
            accounts_.login_failed(*email, config_.login_max_failures, config_.login_lockout, now);
        log(Level::Warn, "login refused from " + c.req.peer);
        return refused(401, kBadLogin);
    }
    accounts_.login_succeeded(*email);
    const std::optional<std::string> id = accounts_.create_session(*email, now);
    if (!id) return refused(503, "Service indisponible, réessayez plus tard.");
    log(Level::Info, "login of " + *email + " from " + c.req.peer);
    Answer a = redirect("/");
    a.headers.emplace_back("Set-Cookie", session_cookie(*id));
    return a;
}

Answer WebApp::forgot(Ctx &c) {
    const std::string form =
        "<form method=\"post\" action=\"/mot-de-passe-oublie\">" + hidden("csrf", c.csrf) +
        "<label>Identifiant ou adresse e-mail <input name=\"email\" type=\"email\" "
        "required></label><button type=\"submit\">Demande de réinitialisation</button></form>";
    if (c.req.method != "POST")
        return html_answer(200, frame(c, "Identifiant/mot de passe oublié", form));
    if (!address_allowed(c.req))
        return html_answer(429, frame(c, "Identifiant/mot de passe oublié",
                                      message_html("Trop de demandes depuis cette adresse : "
                                                   "réessayez dans une minute.")));
    if (const auto email = normal_email(field(c.form, "email")))
        if (accounts_.user(*email)) {
            const auto token =
                accounts_.issue_token(*email, "reset", config_.reset_ttl, now_unix());
            std::string error;
            if (!token ||
                !write_mail(config_, *email,
                            "Console Collectivite - Réinitialiser votre mot de passe",
                            "Bonjour,\n\nUne réinitialisation du mot de passe de la Console "
                            "territoriale a été demandée.\nVotre identifiant : " +
                                *email + "\n\nRéinitialiser mon mot de passe :\n" +
                                link(config_, "/reinitialiser?token=" + *token) +
                                "\n\nCe lien sert une fois et expire dans " +
                                std::to_string(config_.reset_ttl / 60) +
                                " minutes. Si vous n'avez rien demandé, ignorez ce message.\n",
                            &error))
                log(Level::Error, "reset mail for " + *email + ": " + error);
        }
    return html_answer(200, frame(c, "Identifiant/mot de passe oublié",
                                  message_html(kResetSent, false) +
                                      "<p><a href=\"/login\">Retour à la connexion</a></p>"));
}

Answer WebApp::token_page(Ctx &c, bool invitation) {
    const char *kind = invitation ? "invitation" : "reset";
    const std::string title = invitation ? "Accédez à la Console en finalisant la création de "
                                           "votre compte"
                                         : "Réinitialisez votre mot de passe";
    const std::string token = field(c.form, "token");
    const int64_t now = now_unix();
    const std::optional<std::string> email =
        token.size() == 43 ? accounts_.peek_token(token, kind, now) : std::nullopt;
    const std::optional<User> user = email ? accounts_.user(*email) : std::nullopt;
    if (!user) return html_answer(400, frame(c, title, message_html(kBadLink)));
    auto form = [&](const std::string &message) {
        return frame(
            c, title,
            message_html(message) + "<form method=\"post\" action=\"" +
                (invitation ? "/invitation" : "/reinitialiser") + "\">" + hidden("csrf", c.csrf) +
                hidden("token", token) + "<p>Email : " + html(user->email) +
                "</p><p>Identifiant : " + html(user->email) +
                "</p><label>Mot de passe <input name=\"password\" type=\"password\" "
                "autocomplete=\"new-password\" required></label><label>Confirmer mot de passe "
                "<input name=\"confirmation\" type=\"password\" autocomplete=\"new-password\" "
                "required></label><p>Caractéristiques du mot de passe : au moins 8 caractères, "
                "au moins un caractère numérique, au moins un caractère spécial [#!@%&amp;*~], "
                "au moins une lettre, différent du nom et de l'identifiant.</p><button "
                "type=\"submit\">" +
                (invitation ? "Créer mon compte" : "Réinitialiser") + "</button></form>");
    };
    if (c.req.method != "POST") return html_answer(200, form(""));
    const std::string password = field(c.form, "password");
    if (const auto broken = password_rule_broken(password, field(c.form, "confirmation"),
                                                 user->email, user->name, user->first_name))
        return html_answer(400, form(*broken));
    const std::optional<std::string> hash = hash_password(password);
    if (!hash) return html_answer(503, form("Service indisponible, réessayez plus tard."));
    const std::optional<std::string> used = accounts_.use_token(token, kind, now);
    if (!used || *used != user->email || !accounts_.set_password_hash(user->email, *hash))
        return html_answer(400, frame(c, title, message_html(kBadLink)));
    accounts_.end_sessions_of(user->email);  // a reset ends every session of the account
    accounts_.audit(user->collectivite, user->email,
                    invitation ? "account.confirm" : "password.reset", "", now);
    if (invitation) {
        std::string error;
        if (!write_mail(config_, user->email, "Console - Inscription terminée",
                        "Bonjour,\n\nVotre compte de la Console territoriale est créé.\n"
                        "Identifiant : " +
                            user->email + "\nConsole : " + link(config_, "/login") + "\n",
                        &error))
            log(Level::Error, "mail to " + user->email + ": " + error);
    }
    return html_answer(
        200, frame(c, invitation ? "Inscription terminée" : "Réinitialisation du mot de passe",
                   message_html(invitation ? "Votre compte est créé."
                                           : "Votre mot de passe a bien été réinitialisé.",
                                false) +
                       "<p><a href=\"/login\">Veuillez cliquer ici pour accéder à la page "
                       "d'authentification.</a></p>"));
}

Answer WebApp::home(Ctx &c) {
    const Principal &p = *c.principal;
    std::string body =
        "<h2>Vos établissements</h2><table><thead><tr><th scope=\"col\">UAI</th>"
        "<th scope=\"col\">Nom</th><th scope=\"col\">Commune</th></tr></thead>"
        "<tbody>";
    for (const Establishment &e : accounts_.establishments_of(p.collectivite))
        if (p.may_see_establishment(e.uai))
            body += "<tr><td>" + html(e.uai) + "</td><td>" + html(e.name) + "</td><td>" +
                    html(e.commune) + "</td></tr>";
    body += "</tbody></table>";
    const auto coll = accounts_.collectivite(p.collectivite);
    return html_answer(200, frame(c, coll ? coll->name : p.collectivite, body));
}

namespace {

std::string establishment_boxes(const std::vector<Establishment> &all,
                                const std::set<std::string> &checked) {
    std::string h = "<fieldset><legend>Établissements gérés</legend>";
    for (const Establishment &e : all)
        h += "<label><input type=\"checkbox\" name=\"uai\" value=\"" + html(e.uai) + "\"" +
             (checked.count(e.uai) ? " checked" : "") + "> " + html(e.name) + " (" + html(e.uai) +
             ", " + html(e.commune) + ")</label>";
    return h + "</fieldset>";
}

std::string join(const std::vector<std::string> &v) {
    std::string out;
    for (const std::string &s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

Answer WebApp::users_page(Ctx &c, const std::string &message) {
    const Principal &p = *c.principal;
    const std::vector<Establishment> all = accounts_.establishments_of(p.collectivite);
    std::string body = message_html(message) + "<h2>Utilisateurs</h2><ul>";
    for (const User &u : accounts_.users_of(p.collectivite))
        body += "<li><a href=\"/gestion/utilisateurs/compte?email=" + url_encode(u.email) + "\">" +
                html(u.name) + " " + html(u.first_name) + "</a> " + html(u.email) +
                (u.administrator ? " · Administrateur" : "") +
                (u.confirmed ? "" : " · e-mail non confirmé") +
                " · Établissements gérés : " + std::to_string(u.establishments.size()) + "</li>";
    std::set<std::string> every;
    for (const Establishment &e : all) every.insert(e.uai);
    body +=
        "</ul><h2>Nouvel utilisateur</h2><form method=\"post\" "
        "action=\"/gestion/utilisateurs/nouveau\">" +
        hidden("csrf", c.csrf) +
        "<label>Nom* <input name=\"name\" required></label><label>Prénom* <input "
        "name=\"first_name\" required></label><label>Email* <input name=\"email\" "
        "type=\"email\" required></label><label><input type=\"checkbox\" "
        "name=\"administrator\" value=\"1\"> Administrateur (accès à tous les établissements "
        "et à la gestion des utilisateurs)</label>" +
        establishment_boxes(all, every) +
        "<p>* Champ obligatoire</p><button type=\"submit\">Valider</button></form>";
    return html_answer(message.empty() ? 200 : 400,
                       frame(c, "Gestion des utilisateurs et de leurs autorisations", body));
}

Answer WebApp::user_create(Ctx &c) {
    const Principal &p = *c.principal;
    User u;
    const std::optional<std::string> email = normal_email(field(c.form, "email"));
    u.name = field(c.form, "name");
    u.first_name = field(c.form, "first_name");
    u.administrator = field(c.form, "administrator") == "1";
    u.collectivite = p.collectivite;
    u.establishments = fields(c.form, "uai");
    if (!email) return users_page(c, "Adresse e-mail invalide.");
    if (u.name.empty() || u.first_name.empty() || u.name.size() > 200 || u.first_name.size() > 200)
        return users_page(c, "Le nom et le prénom sont obligatoires.");
    if (!u.administrator && u.establishments.empty())
        return users_page(c, "Choisissez au moins un établissement.");
    u.email = *email;
    std::string error;
    switch (accounts_.create_user(u, &error)) {
        case Accounts::Outcome::Ok:
            break;
        case Accounts::Outcome::Exists:
            return users_page(c, "Un compte existe déjà pour cette adresse.");
        default:
            return users_page(c, "Le compte n'a pas pu être créé.");
    }
    const int64_t now = now_unix();
    const std::optional<User> created = accounts_.user(u.email);
    accounts_.audit(p.collectivite, p.user, "user.create",
                    "email=" + u.email + "; administrator=" + (u.administrator ? "1" : "0") +
                        "; establishments=" +
                        join(created ? created->establishments : std::vector<std::string>{}),
                    now);
    const auto token = accounts_.issue_token(u.email, "invitation", config_.invitation_ttl, now);
    if (!token ||
        !write_mail(config_, u.email, "Inscription à la console territoriale",
                    "Bonjour " + u.first_name + " " + u.name +
                        ",\n\nUn compte de la Console territoriale vous a été ouvert.\nVotre "
                        "identifiant : " +
                        u.email + "\n\nAccéder à la Console :\n" +
                        link(config_, "/invitation?token=" + *token) + "\n",
                    &error))
        log(Level::Error, "invitation mail for " + u.email + ": " + error);
    return redirect("/gestion/utilisateurs");
}

Answer WebApp::user_page(Ctx &c, const std::string &email, const std::string &message) {
    const Principal &p = *c.principal;
    const std::optional<User> u = accounts_.user(email);
    if (!u || u->collectivite != p.collectivite)
        return html_answer(404, frame(c, "Utilisateur introuvable", "<p>Aucun utilisateur.</p>"));
    const std::set<std::string> uais(u->establishments.begin(), u->establishments.end());
    const std::set<std::string> cats(u->categories.begin(), u->categories.end());
    std::string body = message_html(message) + "<p>" + html(u->name) + " " + html(u->first_name) +
                       " — " + html(u->email) +
                       "</p><form method=\"post\" action=\"/gestion/utilisateurs/compte\">" +
                       hidden("csrf", c.csrf) + hidden("email", u->email) +
                       "<h2>Compte</h2><label><input type=\"checkbox\" name=\"administrator\" "
                       "value=\"1\"" +
                       (u->administrator ? " checked" : "") +
                       "> Administrateur (accès à tous les établissements et à la gestion des "
                       "utilisateurs)</label>" +
                       establishment_boxes(accounts_.establishments_of(p.collectivite), uais) +
                       "<h2>Autorisations</h2><p>Connexions : toujours visible.</p><fieldset>"
                       "<legend>Menus et widgets</legend>";
    for (const Category &cat : category_tree())
        body += std::string("<label") + (cat.menu ? "" : " style=\"margin-left:2em\"") +
                "><input type=\"checkbox\" name=\"category\" value=\"" + std::string(cat.id) +
                "\"" + (cats.count(std::string(cat.id)) ? " checked" : "") + "> " +
                html(cat.label) + "</label>";
    body +=
        "</fieldset><button type=\"submit\">Valider</button></form>"
        "<h2>Suppression</h2><form method=\"post\" action=\"/gestion/utilisateurs/supprimer\">" +
        hidden("csrf", c.csrf) + hidden("email", u->email) +
        "<button type=\"submit\">Supprimer</button></form>";
    return html_answer(message.empty() ? 200 : 400,
                       frame(c, "Gestion des utilisateurs et de leurs autorisations", body));
}

Answer WebApp::user_rights(Ctx &c) {
    const Principal &p = *c.principal;
    const std::string email = field(c.form, "email");
    const std::optional<User> u = accounts_.user(email);
    if (!u || u->collectivite != p.collectivite)
        return html_answer(404, frame(c, "Utilisateur introuvable", "<p>Aucun utilisateur.</p>"));
    const bool administrator = field(c.form, "administrator") == "1";
    if (email == p.user && !administrator)
        return user_page(c, email,
                         "Vous ne pouvez pas retirer vos propres droits d'administrateur.");
    const std::vector<std::string> uais = fields(c.form, "uai");
    std::vector<std::string> categories;
    for (const std::string &cat : fields(c.form, "category"))
        if (known_category(cat)) categories.push_back(cat);
    if (!administrator && uais.empty())
        return user_page(c, email, "Choisissez au moins un établissement.");
    std::string error;
    if (accounts_.set_rights(email, administrator, uais, categories, &error) !=
        Accounts::Outcome::Ok)
        return user_page(c, email, "Les droits n'ont pas pu être enregistrés.");
    const std::optional<User> after = accounts_.user(email);
    accounts_.audit(
        p.collectivite, p.user, "user.rights",
        "email=" + email + "; administrator=" + (administrator ? "1" : "0") +
            "; establishments=" + join(after ? after->establishments : std::vector<std::string>{}) +
            "; categories=" + join(categories),
        now_unix());
    return redirect("/gestion/utilisateurs/compte?email=" + url_encode(email));
}

Answer WebApp::user_delete(Ctx &c) {
    const Principal &p = *c.principal;
    const std::string email = field(c.form, "email");
    const std::optional<User> u = accounts_.user(email);
    if (!u || u->collectivite != p.collectivite)
        return html_answer(404, frame(c, "Utilisateur introuvable", "<p>Aucun utilisateur.</p>"));
    if (email == p.user) return users_page(c, "Vous ne pouvez pas supprimer votre propre compte.");
    std::string error;
    if (accounts_.delete_user(email, &error) != Accounts::Outcome::Ok)
        return users_page(c, "Le compte n'a pas pu être supprimé.");
    accounts_.audit(p.collectivite, p.user, "user.delete", "email=" + email, now_unix());
    return redirect("/gestion/utilisateurs");
}

Answer WebApp::logo_form(Ctx &c, const std::string &message) {
    return html_answer(
        message.empty() ? 200 : 400,
        frame(c, "Logo de la collectivité",
              message_html(message) +
                  "<form method=\"post\" action=\"/gestion/logo\" "
                  "enctype=\"multipart/form-data\">" +
                  hidden("csrf", c.csrf) + "<label>Image (PNG ou JPEG, au plus " +
                  std::to_string(config_.max_logo_bytes / 1024) +
                  " Kio) <input type=\"file\" name=\"logo\" accept=\".png,.jpg,.jpeg,image/png,"
                  "image/jpeg\" required></label><button type=\"submit\">Valider</button></form>"));
}

Answer WebApp::logo_post(Ctx &c) {
    const Principal &p = *c.principal;
    const FormFile *file = nullptr;
    for (const FormFile &f : c.files)
        if (f.name == "logo") file = &f;
    if (!file || file->data.empty()) return logo_form(c, "Choisissez une image.");
    if (file->data.size() > config_.max_logo_bytes)
        return logo_form(
            c, "L'image dépasse " + std::to_string(config_.max_logo_bytes / 1024) + " Kio.");
    const std::optional<std::string> type = image_type(file->data);
    if (!type) return logo_form(c, "Le logo doit être une image PNG ou JPEG.");
    if (!accounts_.set_logo(p.collectivite, *type, file->data))
        return logo_form(c, "Le logo n'a pas pu être enregistré.");
    accounts_.audit(p.collectivite, p.user, "logo.change",
                    *type + "; " + std::to_string(file->data.size()) + " bytes", now_unix());
    return redirect("/gestion/logo");
}

Answer WebApp::logo_image(Ctx &c) {
    const auto logo = accounts_.logo(c.principal->collectivite);
    if (!logo) return html_answer(404, frame(c, "Page introuvable", "<p>Aucun logo.</p>"));
    Answer a{200, logo->second, logo->first};
    return a;
}

}  // namespace sonde::console
