// The console's accounts, sessions, rights and tenants (docs/console.md#accounts-and-rights),
// against the real sonde-console over HTTPS: what a person does in a browser (forms, cookies,
// mailed links), and the Principal that the figure pages get.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "accounts.hpp"
#include "browser.hpp"
#include "config.hpp"
#include "password.hpp"
#include "service.hpp"

namespace {

using namespace console_test;
using sonde::console::Principal;

constexpr const char *kAdmin = "thomas.dubois@d031.fr";
constexpr const char *kAdminPassword = "Sonde#2026x";

// Three collectivités: D031 (three collèges and a cité scolaire it shares with R76), R76, D034.
struct Tenants : Setup {
    Tenants() {
        REQUIRE(sonde::console::init_crypto());
        std::string out;
        REQUIRE(run_cli({"collectivites", "add", "D031", "Haute-Garonne"}, &out) == 0);
        REQUIRE(run_cli({"collectivites", "add", "R76", "Région", "Occitanie"}, &out) == 0);
        REQUIRE(run_cli({"collectivites", "add", "D034", "Hérault"}, &out) == 0);
        const std::string tsv = dir.path + "/establishments.tsv";
        std::ofstream(tsv) << "# uai\tname\tcommune\ttimezone\tcollectivite\n"
                              "0310001A\tCOLLEGE JULES FERRY\tToulouse\tEurope/Paris\tD031\n"
                              "0310002B\tCOLLEGE BEL-AIR\tMuret\tEurope/Paris\tD031\n"
                              "0310003C\tCOLLEGE JEAN ZAY\tBlagnac\tEurope/Paris\tD031\n"
                              "0310004D\tCITE SCOLAIRE BELLEVUE\tToulouse\tEurope/Paris\tD031\n"
                              "0310004D\tCITE SCOLAIRE BELLEVUE\tToulouse\tEurope/Paris\tR76\n"
                              "0340001E\tCOLLEGE DESCARTES\tMontpellier\tEurope/Paris\tD034\n";
        INFO(out);
        REQUIRE(run_cli({"establishments", "import", tsv}, &out) == 0);
        REQUIRE(out.find("imported 6 establishments, 0 failed") != std::string::npos);
    }
    // `users add-admin`: the printed invitation token.
    std::string add_admin(const std::string &collectivite, const std::string &email) {
        std::string out;
        INFO(out);
        REQUIRE(run_cli({"users", "add-admin", "--collectivite", collectivite, "--email", email,
                         "--name", "DUBOIS", "--first-name", "Thomas"},
                        &out) == 0);
        const std::string token = printed_token(out);
        REQUIRE(token.size() == 43);
        return token;
    }
    // The accounts as the service sees them (same database), for the Principal of a session.
    std::unique_ptr<sonde::console::Accounts> accounts() const {
        sonde::console::Config c;
        std::string error;
        REQUIRE(sonde::console::load_config(config(""), c, false, &error));
        auto a = sonde::console::Accounts::open(c, &error);
        INFO(error);
        REQUIRE(a);
        return a;
    }
};

// Sets a password through an invitation or reset link; returns the POST's page.
Page set_password(Browser &b, const Service &s, const std::string &path, const std::string &token,
                  const std::string &password, const std::string &confirmation = "") {
    const Page form = b.get(s.url(path + "?token=" + token));
    INFO(form.body);
    REQUIRE(form.status == 200);
    return b.post(s.url(path), {{"csrf", csrf_of(form.body)},
                                {"token", token},
                                {"password", password},
                                {"confirmation", confirmation.empty() ? password : confirmation}});
}

Page login(Browser &b, const Service &s, const std::string &email, const std::string &password) {
    const Page form = b.get(s.url("/login"));
    REQUIRE(form.status == 200);
    return b.post(s.url("/login"),
                  {{"csrf", csrf_of(form.body)}, {"email", email}, {"password", password}});
}

void require_logged_in(const Page &p) {
    INFO(p.status << " " << p.body);
    REQUIRE(p.status == 303);
    REQUIRE(p.location == "/");
}

// An administrator of D031 with a password, logged in.
struct AdminSession {
    AdminSession(Tenants &t, const Service &s, Browser &b) {
        REQUIRE(
            set_password(b, s, "/invitation", t.add_admin("D031", kAdmin), kAdminPassword).status ==
            200);
        require_logged_in(login(b, s, kAdmin, kAdminPassword));
    }
};

// Creates a user through the administrator's form; returns the mailed invitation token.
std::string create_user(Tenants &t, const Service &s, Browser &admin, const std::string &email,
                        const std::vector<std::string> &uais, bool administrator = false) {
    const Page page = admin.get(s.url("/gestion/utilisateurs"));
    REQUIRE(page.status == 200);
    Form form{{"csrf", csrf_of(page.body)},
              {"name", "MARTIN"},
              {"first_name", "Pierre"},
              {"email", email}};
    if (administrator) form.emplace_back("administrator", "1");
    for (const std::string &u : uais) form.emplace_back("uai", u);
    const Page created = admin.post(s.url("/gestion/utilisateurs/nouveau"), form);
    INFO(created.body);
    REQUIRE(created.status == 303);
    const std::vector<std::string> tokens = mailed_tokens(t.data, email, "/invitation");
    REQUIRE(tokens.size() == 1);
    return tokens.back();
}

bool lists(const Page &p, const std::string &uai) {
    return p.body.find("<td>" + uai + "</td>") != std::string::npos;
}

bool has_audit(const std::string &audit, const std::string &actor, const std::string &action,
               const std::string &detail_part) {
    std::istringstream in(audit);
    for (std::string line; std::getline(in, line);)
        if (line.find("\t" + actor + "\t" + action + "\t") != std::string::npos &&
            line.find(detail_part) != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST_CASE("accounts: invitation, password, login with a session cookie, logout") {
    Tenants t;
    Service s(t);
    Browser b(t);
    const std::string token = t.add_admin("D031", kAdmin);

    // Before any password, no login.
    CHECK(login(b, s, kAdmin, kAdminPassword).status == 401);
    // The link shows the account and sets the password once.
    const Page invitation = b.get(s.url("/invitation?token=" + token));
    REQUIRE(invitation.status == 200);
    CHECK(invitation.body.find(kAdmin) != std::string::npos);
    const Page done = set_password(b, s, "/invitation", token, kAdminPassword);
    INFO(done.body);
    REQUIRE(done.status == 200);
    CHECK(done.body.find("Votre compte est créé") != std::string::npos);
    CHECK(b.get(s.url("/invitation?token=" + token)).status == 400);  // single use
    CHECK(mailed_tokens(t.data, kAdmin, "/invitation").empty());      // the CLI printed it
    // The confirmation mail ("Console - Inscription terminée") is in the outbox.
    bool confirmed_mail = false;
    for (const auto &f : std::filesystem::directory_iterator(t.data + "/outbox")) {
        std::ifstream in(f.path());
        std::string text((std::istreambuf_iterator<char>(in)), {});
        confirmed_mail = confirmed_mail || text.find(std::string("To: ") + kAdmin) == 0;
    }
    CHECK(confirmed_mail);

    // Not logged in: the pages send to the login.
    Page home = b.get(s.url("/"));
    CHECK(home.status == 303);
    CHECK(home.location == "/login");

    const Page in = login(b, s, kAdmin, kAdminPassword);
    require_logged_in(in);
    std::string session_header;
    for (const std::string &c : in.set_cookies)
        if (c.starts_with("__Host-sonde_session=")) session_header = c;
    INFO(session_header);
    CHECK(session_header.find("; Secure") != std::string::npos);
    CHECK(session_header.find("; HttpOnly") != std::string::npos);
    CHECK(session_header.find("; SameSite=Strict") != std::string::npos);
    const std::string session = b.cookie("__Host-sonde_session");
    REQUIRE(session.size() == 43);

    // The administrator's home lists every establishment of D031, and only those.
    home = b.get(s.url("/"));
    REQUIRE(home.status == 200);
    for (const char *uai : {"0310001A", "0310002B", "0310003C", "0310004D"})
        CHECK(lists(home, uai));
    CHECK_FALSE(lists(home, "0340001E"));
    CHECK(home.body.find("Gestion des utilisateurs") != std::string::npos);

    // Idle and absolute expiry: a session unused for longer than the idle time, or older than
    // its lifetime, gives no Principal and is deleted (the service's clock is the database's
    // `now`, given here).
    auto accounts = t.accounts();
    const int64_t now = std::time(nullptr);
    REQUIRE(accounts->session_principal(session, 60, 3600, now));
    Browser second(t);
    require_logged_in(login(second, s, kAdmin, kAdminPassword));
    const std::string idle = second.cookie("__Host-sonde_session");
    CHECK(accounts->session_principal(idle, 3600, 100000, now + 3599));
    CHECK_FALSE(accounts->session_principal(idle, 3600, 100000, now + 3599 + 3601));  // idle
    CHECK(second.get(s.url("/")).status == 303);  // deleted: the service agrees
    Browser third(t);
    require_logged_in(login(third, s, kAdmin, kAdminPassword));
    const std::string old = third.cookie("__Host-sonde_session");
    for (int64_t at = now + 1000; at < now + 7000; at += 1000)  // busy, never idle
        REQUIRE(accounts->session_principal(old, 3600, 7200, at));
    CHECK_FALSE(accounts->session_principal(old, 3600, 7200, now + 7201));  // lifetime
    CHECK(third.get(s.url("/")).status == 303);

    // Logout ends the session on the server: the cookie replayed is worth nothing.
    const Page out = b.post(s.url("/logout"), {{"csrf", csrf_of(home.body)}});
    CHECK(out.status == 303);
    CHECK(out.location == "/login");
    CHECK(b.get(s.url("/")).status == 303);
    b.set_cookie("__Host-sonde_session", session);
    home = b.get(s.url("/"));
    CHECK(home.status == 303);
    CHECK(home.location == "/login");
    CHECK_FALSE(accounts->session_principal(session, 3600, 3600, std::time(nullptr)));
}

TEST_CASE("accounts: wrong passwords lock the account, and the messages never tell who exists") {
    Tenants t;
    Service s(t, "login_max_failures = 3\nlogin_lockout = 3600\n");
    Browser b(t);
    REQUIRE(set_password(b, s, "/invitation", t.add_admin("D031", kAdmin), kAdminPassword).status ==
            200);
    REQUIRE(set_password(b, s, "/invitation", t.add_admin("D034", "admin@d034.fr"), "Herault#34x")
                .status == 200);

    const Page wrong = login(b, s, kAdmin, "Wrong#pass1");
    const Page unknown = login(b, s, "nobody@d031.fr", "Wrong#pass1");
    REQUIRE(wrong.status == 401);
    REQUIRE(unknown.status == 401);
    CHECK(wrong.body == unknown.body);  // same page: no user enumeration
    CHECK(login(b, s, kAdmin, "Wrong#pass2").status == 401);
    CHECK(login(b, s, kAdmin, "Wrong#pass3").status == 401);  // third failure: locked
    // Locked: even the right password is refused, with the same message.
    const Page locked = login(b, s, kAdmin, kAdminPassword);
    CHECK(locked.status == 401);
    CHECK(locked.body == wrong.body);
    CHECK(b.cookie("__Host-sonde_session").empty());
    // Another account is not affected.
    require_logged_in(login(b, s, "admin@d034.fr", "Herault#34x"));
}

TEST_CASE("accounts: login attempts are limited per client address") {
    Tenants t;
    Service s(t, "login_rate_per_address = 1\nlogin_burst_per_address = 3\n");
    Browser b(t);
    for (int i = 0; i < 3; ++i)
        CHECK(login(b, s, "x" + std::to_string(i) + "@a.fr", "a").status == 401);
    const Page limited = login(b, s, "y@a.fr", "a");
    CHECK(limited.status == 429);
}

TEST_CASE("accounts: a reset link works once, ends the sessions, and says nothing of who exists") {
    Tenants t;
    Service s(t);
    Browser b(t), other(t);
    REQUIRE(set_password(b, s, "/invitation", t.add_admin("D031", kAdmin), kAdminPassword).status ==
            200);
    require_logged_in(login(other, s, kAdmin, kAdminPassword));  // a session elsewhere

    auto ask = [&](const std::string &email) {
        const Page form = b.get(s.url("/mot-de-passe-oublie"));
        REQUIRE(form.status == 200);
        return b.post(s.url("/mot-de-passe-oublie"),
                      {{"csrf", csrf_of(form.body)}, {"email", email}});
    };
    const Page known = ask(kAdmin);
    const Page unknown = ask("nobody@d031.fr");
    CHECK(known.status == 200);
    CHECK(known.body == unknown.body);
    CHECK(mailed_tokens(t.data, "nobody@d031.fr", "/reinitialiser").empty());
    const std::vector<std::string> tokens = mailed_tokens(t.data, kAdmin, "/reinitialiser");
    REQUIRE(tokens.size() == 1);

    const Page reset = set_password(b, s, "/reinitialiser", tokens[0], "Nouveau#2027");
    INFO(reset.body);
    REQUIRE(reset.status == 200);
    CHECK(reset.body.find("Votre mot de passe a bien été réinitialisé") != std::string::npos);
    // Once only.
    CHECK(b.get(s.url("/reinitialiser?token=" + tokens[0])).status == 400);
    const Page again = b.post(s.url("/reinitialiser"), {{"csrf", b.cookie("__Host-sonde_csrf")},
                                                        {"token", tokens[0]},
                                                        {"password", "Encore#2028"},
                                                        {"confirmation", "Encore#2028"}});
    CHECK(again.status == 400);
    // The old password is gone, the new one works, the other session was ended.
    CHECK(login(b, s, kAdmin, kAdminPassword).status == 401);
    require_logged_in(login(b, s, kAdmin, "Nouveau#2027"));
    CHECK(other.get(s.url("/")).status == 303);
    // A token of the wrong kind is refused: an invitation link is not a reset link.
    CHECK(b.get(s.url("/invitation?token=" + tokens[0])).status == 400);
}

TEST_CASE("accounts: a reset link expires") {
    Tenants t;
    Service s(t, "reset_ttl = 1\n");
    Browser b(t);
    REQUIRE(set_password(b, s, "/invitation", t.add_admin("D031", kAdmin), kAdminPassword).status ==
            200);
    const Page form = b.get(s.url("/mot-de-passe-oublie"));
    REQUIRE(b.post(s.url("/mot-de-passe-oublie"), {{"csrf", csrf_of(form.body)}, {"email", kAdmin}})
                .status == 200);
    const std::vector<std::string> tokens = mailed_tokens(t.data, kAdmin, "/reinitialiser");
    REQUIRE(tokens.size() == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past its 1 s
    CHECK(b.get(s.url("/reinitialiser?token=" + tokens[0])).status == 400);
    require_logged_in(login(b, s, kAdmin, kAdminPassword));  // the password is unchanged
}

TEST_CASE("accounts: the guide's password rule") {
    using sonde::console::password_rule_broken;
    // Guide, "Création du compte": at least 8 characters, a digit, a special character among
    // #!@%&*~, a letter, different from the name and the login; confirmed.
    const std::string id = "pierre.martin@d031.fr";
    CHECK_FALSE(password_rule_broken("Ab3#efgh", "Ab3#efgh", id, "MARTIN", "Pierre"));
    CHECK(password_rule_broken("Ab3#efg", "Ab3#efg", id, "MARTIN", "Pierre"));      // 7
    CHECK(password_rule_broken("Abc#efgh", "Abc#efgh", id, "MARTIN", "Pierre"));    // no digit
    CHECK(password_rule_broken("Abc3efgh", "Abc3efgh", id, "MARTIN", "Pierre"));    // no special
    CHECK(password_rule_broken("Abc3efgh$", "Abc3efgh$", id, "MARTIN", "Pierre"));  // $ isn't
    CHECK(password_rule_broken("1234#5678", "1234#5678", id, "MARTIN", "Pierre"));  // no letter
    CHECK(password_rule_broken("Ab3#efgh", "Ab3#efgi", id, "MARTIN", "Pierre"));    // confirm
    CHECK(password_rule_broken(id, id, id, "MARTIN", "Pierre"));  // the login itself
    CHECK(password_rule_broken("martin#2026", "martin#2026", id, "MARTIN", "Pierre"));  // name
    CHECK(password_rule_broken("x1#pierre.martin", "x1#pierre.martin", id, "M", "P"));
    CHECK_FALSE(password_rule_broken("Été#2026é", "Été#2026é", id, "MARTIN", "Pierre"));

    // The same rule on the real pages: each broken rule refused, the link still usable.
    Tenants t;
    Service s(t);
    Browser b(t);
    const std::string token = t.add_admin("D031", kAdmin);
    for (const std::string bad :
         {"Ab3#efg", "Abc#efgh", "Abc3efgh", "1234#5678", "thomas.dubois#1", "Dubois#2026"}) {
        const Page p = set_password(b, s, "/invitation", token, bad);
        INFO(bad << ": " << p.body);
        CHECK(p.status == 400);
        CHECK(p.body.find("role=\"alert\"") != std::string::npos);
    }
    CHECK(set_password(b, s, "/invitation", token, "Ab3#efgh", "Ab3#efgi").status == 400);
    CHECK(set_password(b, s, "/invitation", token, "Ab3#efgh").status == 200);
    require_logged_in(login(b, s, kAdmin, "Ab3#efgh"));
}

TEST_CASE("accounts: a form without its CSRF token is refused") {
    Tenants t;
    Service s(t);
    Browser b(t);
    const std::string token = t.add_admin("D031", kAdmin);
    // Pre-login forms: the token must equal the browser's CSRF cookie.
    b.get(s.url("/invitation?token=" + token));
    CHECK(b.post(s.url("/invitation"),
                 {{"token", token}, {"password", kAdminPassword}, {"confirmation", kAdminPassword}})
              .status == 403);
    CHECK(b.post(s.url("/invitation"), {{"csrf", std::string(43, 'A')},
                                        {"token", token},
                                        {"password", kAdminPassword},
                                        {"confirmation", kAdminPassword}})
              .status == 403);
    REQUIRE(set_password(b, s, "/invitation", token, kAdminPassword).status == 200);
    Browser fresh(t);  // a page of another site: no cookie of ours
    CHECK(fresh
              .post(s.url("/login"), {{"csrf", b.cookie("__Host-sonde_csrf")},
                                      {"email", kAdmin},
                                      {"password", kAdminPassword}})
              .status == 403);
    CHECK(fresh.cookie("__Host-sonde_session").empty());

    // Logged in: every POST needs the session's token.
    require_logged_in(login(b, s, kAdmin, kAdminPassword));
    const Page page = b.get(s.url("/gestion/utilisateurs"));
    REQUIRE(page.status == 200);
    const std::string csrf = csrf_of(page.body);
    REQUIRE(!csrf.empty());
    const Form user{
        {"name", "MARTIN"}, {"first_name", "Pierre"}, {"email", "p@d031.fr"}, {"uai", "0310001A"}};
    CHECK(b.post(s.url("/gestion/utilisateurs/nouveau"), user).status == 403);
    Form forged = user;
    forged.emplace_back("csrf", std::string(64, '0'));
    CHECK(b.post(s.url("/gestion/utilisateurs/nouveau"), forged).status == 403);
    CHECK_FALSE(t.accounts()->user("p@d031.fr"));
    CHECK(b.post(s.url("/logout"), {}).status == 403);
    CHECK(b.get(s.url("/")).status == 200);  // still logged in
    Form good = user;
    good.emplace_back("csrf", csrf);
    CHECK(b.post(s.url("/gestion/utilisateurs/nouveau"), good).status == 303);
    CHECK(t.accounts()->user("p@d031.fr"));
}

TEST_CASE("accounts: a limited user's Principal has only their establishments and categories") {
    Tenants t;
    Service s(t);
    Browser admin(t), user(t);
    AdminSession session(t, s, admin);
    const std::string email = "pierre.martin@d031.fr";
    // A UAI of another collectivité in the form is dropped.
    const std::string token = create_user(t, s, admin, email, {"0310001A", "0310004D", "0340001E"});
    REQUIRE(set_password(user, s, "/invitation", token, "Ecole#2026x").status == 200);
    require_logged_in(login(user, s, email, "Ecole#2026x"));
    auto accounts = t.accounts();
    const auto now = std::time(nullptr);
    std::optional<Principal> p =
        accounts->session_principal(user.cookie("__Host-sonde_session"), 3600, 3600, now);
    REQUIRE(p);
    CHECK(p->collectivite == "D031");
    CHECK(p->user == email);
    CHECK_FALSE(p->administrator);
    CHECK(p->establishments == std::set<std::string, std::less<>>{"0310001A", "0310004D"});
    // Guide 3.b: by default every widget of the selected establishments.
    const std::vector<std::string> leaves = sonde::console::all_category_leaves();
    CHECK(p->categories == std::set<std::string, std::less<>>(leaves.begin(), leaves.end()));
    CHECK(p->may_see_category("social/discipline"));

    // The administrator narrows the rights: one establishment, two widgets and a menu.
    const Page form = admin.get(s.url("/gestion/utilisateurs/compte?email=" + email));
    REQUIRE(form.status == 200);
    const Page saved =
        admin.post(s.url("/gestion/utilisateurs/compte"), {{"csrf", csrf_of(form.body)},
                                                           {"email", email},
                                                           {"uai", "0310002B"},
                                                           {"category", "social/assiduite"},
                                                           {"category", "moyens-generaux/eleves"},
                                                           {"category", "communications"},
                                                           {"category", "not-a-category"}});
    REQUIRE(saved.status == 303);
    p = accounts->session_principal(user.cookie("__Host-sonde_session"), 3600, 3600, now);
    REQUIRE(p);
    CHECK(p->establishments == std::set<std::string, std::less<>>{"0310002B"});
    CHECK(p->categories == std::set<std::string, std::less<>>{
                               "communications", "moyens-generaux/eleves", "social/assiduite"});
    CHECK(p->may_see_category("connexions"));  // always visible
    CHECK(p->may_see_category("social"));      // the menu, showing only its granted widget
    CHECK(p->may_see_category("social/assiduite"));
    CHECK_FALSE(p->may_see_category("social/discipline"));
    CHECK_FALSE(p->may_see_category("scolarite"));
    CHECK_FALSE(p->may_see_category("demandes-travaux"));

    // What the user's pages show follows at once.
    const Page home = user.get(s.url("/"));
    REQUIRE(home.status == 200);
    CHECK(lists(home, "0310002B"));
    for (const char *uai : {"0310001A", "0310003C", "0310004D", "0340001E"})
        CHECK_FALSE(lists(home, uai));
    CHECK(home.body.find("Gestion des utilisateurs") == std::string::npos);
    // Administrators' pages are refused to the others, reading and writing.
    CHECK(user.get(s.url("/gestion/utilisateurs")).status == 403);
    CHECK(user.get(s.url("/gestion/logo")).status == 403);
    CHECK(user.get(s.url("/gestion/utilisateurs/compte?email=") + kAdmin).status == 403);
    CHECK(user.post(s.url("/gestion/utilisateurs/compte"), {{"csrf", csrf_of(home.body)},
                                                            {"email", email},
                                                            {"administrator", "1"},
                                                            {"uai", "0310001A"}})
              .status == 403);
    CHECK_FALSE(accounts->user(email)->administrator);

    // The audit log holds who changed what.
    std::string audit;
    REQUIRE(t.run_cli({"audit", "list", "--collectivite", "D031"}, &audit) == 0);
    INFO(audit);
    CHECK(has_audit(audit, kAdmin, "user.create",
                    "email=" + email + "; administrator=0; establishments=0310001A,0310004D"));
    CHECK(has_audit(audit, kAdmin, "user.rights",
                    "establishments=0310002B; categories=social/assiduite,moyens-generaux/eleves,"
                    "communications"));

    // Deleting the user ends everything at once.
    const Page again = admin.get(s.url("/gestion/utilisateurs/compte?email=" + email));
    CHECK(admin
              .post(s.url("/gestion/utilisateurs/supprimer"),
                    {{"csrf", csrf_of(again.body)}, {"email", email}})
              .status == 303);
    CHECK(user.get(s.url("/")).status == 303);
    CHECK(login(user, s, email, "Ecole#2026x").status == 401);
    REQUIRE(t.run_cli({"audit", "list"}, &audit) == 0);
    CHECK(has_audit(audit, kAdmin, "user.delete", "email=" + email));
}

TEST_CASE("accounts: each collectivité sees only its establishments and its users") {
    Tenants t;
    Service s(t);
    Browser d031(t), r76(t), d034(t);
    AdminSession session(t, s, d031);
    REQUIRE(set_password(r76, s, "/invitation", t.add_admin("R76", "admin@r76.fr"), "Region#76x")
                .status == 200);
    require_logged_in(login(r76, s, "admin@r76.fr", "Region#76x"));
    REQUIRE(
        set_password(d034, s, "/invitation", t.add_admin("D034", "admin@d034.fr"), "Herault#34x")
            .status == 200);
    require_logged_in(login(d034, s, "admin@d034.fr", "Herault#34x"));

    // The cité scolaire belongs to the département and to the région.
    const Page region = r76.get(s.url("/"));
    REQUIRE(region.status == 200);
    CHECK(lists(region, "0310004D"));
    for (const char *uai : {"0310001A", "0310002B", "0310003C", "0340001E"})
        CHECK_FALSE(lists(region, uai));
    auto accounts = t.accounts();
    const auto now = std::time(nullptr);
    auto p = accounts->session_principal(r76.cookie("__Host-sonde_session"), 3600, 3600, now);
    REQUIRE(p);
    CHECK(p->administrator);
    CHECK(p->establishments == std::set<std::string, std::less<>>{"0310004D"});
    p = accounts->session_principal(d034.cookie("__Host-sonde_session"), 3600, 3600, now);
    REQUIRE(p);
    CHECK(p->establishments == std::set<std::string, std::less<>>{"0340001E"});

    // Another collectivité's user cannot be read, changed or deleted.
    const Page users = d034.get(s.url("/gestion/utilisateurs"));
    REQUIRE(users.status == 200);
    CHECK(users.body.find(kAdmin) == std::string::npos);
    CHECK(users.body.find("0310001A") == std::string::npos);
    CHECK(d034.get(s.url("/gestion/utilisateurs/compte?email=") + kAdmin).status == 404);
    const std::string csrf = csrf_of(users.body);
    CHECK(d034.post(s.url("/gestion/utilisateurs/compte"),
                    {{"csrf", csrf}, {"email", kAdmin}, {"uai", "0340001E"}})
              .status == 404);
    CHECK(d034.post(s.url("/gestion/utilisateurs/supprimer"), {{"csrf", csrf}, {"email", kAdmin}})
              .status == 404);
    CHECK(accounts->user(kAdmin)->administrator);
    // A session cookie of one tenant's page is of no use with another's CSRF token.
    CHECK(d031.post(s.url("/gestion/utilisateurs/nouveau"), {{"csrf", csrf},
                                                             {"name", "X"},
                                                             {"first_name", "Y"},
                                                             {"email", "x@y.fr"},
                                                             {"uai", "0310001A"}})
              .status == 403);
}

TEST_CASE("accounts: the logo, for administrators, bounded in size and type") {
    Tenants t;
    Service s(t, "max_logo_bytes = 2048\n");
    Browser admin(t), user(t);
    AdminSession session(t, s, admin);
    const std::string token = create_user(t, s, admin, "p@d031.fr", {"0310001A"});
    REQUIRE(set_password(user, s, "/invitation", token, "Ecole#2026x").status == 200);
    require_logged_in(login(user, s, "p@d031.fr", "Ecole#2026x"));

    CHECK(user.get(s.url("/logo")).status == 404);  // none yet
    const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'p');
    Page form = admin.get(s.url("/gestion/logo"));
    REQUIRE(form.status == 200);
    const std::string csrf = csrf_of(form.body);
    CHECK(admin
              .post_file(s.url("/gestion/logo"), {{"csrf", csrf}}, "logo", "logo.gif",
                         "GIF89a" + std::string(100, 'g'))
              .status == 400);
    CHECK(admin
              .post_file(s.url("/gestion/logo"), {{"csrf", csrf}}, "logo", "big.png",
                         png + std::string(2048, 'x'))
              .status == 400);
    CHECK(admin.post_file(s.url("/gestion/logo"), {}, "logo", "logo.png", png).status == 403);
    CHECK(user.post_file(s.url("/gestion/logo"), {{"csrf", csrf_of(user.get(s.url("/")).body)}},
                         "logo", "logo.png", png)
              .status == 403);
    CHECK(user.get(s.url("/logo")).status == 404);
    CHECK(
        admin.post_file(s.url("/gestion/logo"), {{"csrf", csrf}}, "logo", "logo.png", png).status ==
        303);
    // Every user of the collectivité sees it; the type is the file's, not the client's word.
    const Page logo = user.get(s.url("/logo"));
    CHECK(logo.status == 200);
    CHECK(logo.content_type == "image/png");
    CHECK(logo.body == png);
    std::string audit;
    REQUIRE(t.run_cli({"audit", "list", "--collectivite", "D031"}, &audit) == 0);
    CHECK(has_audit(audit, kAdmin, "logo.change", "image/png; 108 bytes"));
}

TEST_CASE("accounts: the operator's commands check what they are given") {
    Tenants t;
    std::string out;
    CHECK(t.run_cli({"users", "add-admin", "--collectivite", "D099", "--email", "a@b.fr"}, &out) ==
          1);
    CHECK(t.run_cli({"users", "add-admin", "--collectivite", "D031", "--email", "not mail"},
                    &out) == 1);
    const std::string tsv = t.dir.path + "/bad.tsv";
    std::ofstream(tsv) << "0310009Z\tX\tY\tEurope/Paris\tD031\n"  // fine
                          "031000\tX\tY\tEurope/Paris\tD031\n"    // bad UAI
                          "0310008Y\tX\tY\tEurope/Paris\tD099\n"  // no such collectivité
                          "0310007X\tX\n";                        // fields missing
    CHECK(t.run_cli({"establishments", "import", tsv}, &out) == 1);
    INFO(out);
    CHECK(out.find("imported 1 establishments, 3 failed") != std::string::npos);
    CHECK(t.run_cli({"collectivites", "list"}, &out) == 0);
    CHECK(out.find("R76\tRégion Occitanie\n") != std::string::npos);
    t.add_admin("D031", kAdmin);
    CHECK(t.run_cli({"users", "add-admin", "--collectivite", "D031", "--email", kAdmin}, &out) ==
          1);  // exists
}

TEST_CASE("accounts: the figure pages are served behind the login, with the user's rights") {
    Tenants t;
    Service s(t);
    Browser anonymous(t), admin(t), user(t);
    // Before any login: every figure page, its JSON and its CSV send to the login page.
    for (const char *path : {"/menus/connexions/synthese", "/api/menus/connexions/synthese",
                             "/csv/menus/social/etablissements"}) {
        const Page p = anonymous.get(s.url(path));
        INFO(path << ": " << p.status << " " << p.location);
        CHECK(p.status == 303);
        CHECK(p.location.rfind("/login", 0) == 0);
    }
    AdminSession session(t, s, admin);
    const std::string email = "pierre.martin@d031.fr";
    const std::string token = create_user(t, s, admin, email, {"0310002B"});
    REQUIRE(set_password(user, s, "/invitation", token, "Ecole#2026x").status == 200);
    require_logged_in(login(user, s, email, "Ecole#2026x"));

    // A figure page carries the session's header: the logout form with its CSRF token, and the
    // administrators' links for administrators only.
    const Page page = user.get(s.url("/menus/connexions/synthese"));
    INFO(page.body);
    REQUIRE(page.status == 200);
    CHECK(page.body.find("action=\"/logout\"") != std::string::npos);
    CHECK_FALSE(csrf_of(page.body).empty());
    CHECK(page.body.find("Gestion des utilisateurs") == std::string::npos);
    const Page admin_page = admin.get(s.url("/menus/connexions/synthese"));
    REQUIRE(admin_page.status == 200);
    CHECK(admin_page.body.find("Gestion des utilisateurs") != std::string::npos);
    // The administrator's header items are separate (RGAA): a list in a navigation landmark
    // of its own name, each link its own item, not "Gestion des utilisateursLogo de la…".
    const std::string admin_links =
        "<nav aria-label=\"Administration\"><ul><li><a href=\"/gestion/utilisateurs\">Gestion "
        "des utilisateurs</a></li><li><a href=\"/gestion/logo\">Logo de la "
        "collectivité</a></li></ul></nav>";
    for (const std::string path : {"/menus/connexions/synthese", "/gestion/utilisateurs"}) {
        const Page p = admin.get(s.url(path));
        INFO(path << ": " << p.body.substr(0, 2500));
        REQUIRE(p.status == 200);
        const size_t from = p.body.find("<header>"), to = p.body.find("</header>");
        REQUIRE(to != std::string::npos);
        const std::string header = p.body.substr(from, to - from);
        CHECK(header.find(admin_links) != std::string::npos);
        CHECK(header.find("<form class=\"logout\"") != std::string::npos);
        CHECK(p.body.find("<a class=\"skip\" href=\"#contenu\">") < from);
        CHECK(p.body.find("<main id=\"contenu\">") != std::string::npos);
    }
    // The logout form of a figure page works.
    Browser other(t);
    require_logged_in(login(other, s, email, "Ecole#2026x"));
    const Page before = other.get(s.url("/menus/social/synthese"));
    REQUIRE(before.status == 200);
    CHECK(other.post(s.url("/logout"), {{"csrf", csrf_of(before.body)}}).status == 303);
    CHECK(other.get(s.url("/menus/social/synthese")).status == 303);

    // Another establishment of the same collectivité, another collectivité's: refused.
    CHECK(user.get(s.url("/menus/connexions/etablissements?etab=0310001A")).status == 403);
    CHECK(user.get(s.url("/api/menus/connexions/etablissements?etab=0340001E")).status == 403);
    CHECK(user.get(s.url("/csv/menus/connexions/etablissements?etab=0310003C")).status == 403);
    // Their own: served, and a CSV export is recorded in the audit log.
    const Page csv = user.get(s.url("/csv/menus/connexions/etablissements?etab=0310002B"));
    INFO(csv.body);
    CHECK(csv.status == 200);
    CHECK(csv.body.find("0310002B") != std::string::npos);
    CHECK(csv.body.find("0310001A") == std::string::npos);
    std::string audit;
    REQUIRE(t.run_cli({"audit", "list", "--collectivite", "D031"}, &audit) == 0);
    INFO(audit);
    CHECK(has_audit(audit, email, "export.csv",
                    "/csv/menus/connexions/etablissements?etab=0310002B"));
    // Pages are read-only: a POST to one is not a page.
    CHECK(user.post(s.url("/menus/connexions/synthese"), {{"csrf", csrf_of(page.body)}}).status ==
          404);
}

TEST_CASE("accounts: PDF exports and État des remontées behind the login, audited, and HEAD") {
    Tenants t;
    Service s(t);
    Browser anonymous(t), admin(t), user(t);
    for (const char *path : {"/pdf/menus/connexions/etablissements", "/remontees", "/api/remontees",
                             "/pdf/remontees"}) {
        const Page p = anonymous.get(s.url(path));
        INFO(path);
        CHECK(p.status == 303);
        CHECK(p.location.rfind("/login", 0) == 0);
    }
    AdminSession session(t, s, admin);
    const std::string email = "pierre.martin@d031.fr";
    const std::string token = create_user(t, s, admin, email, {"0310002B"});
    REQUIRE(set_password(user, s, "/invitation", token, "Ecole#2026x").status == 200);
    require_logged_in(login(user, s, email, "Ecole#2026x"));

    // Another establishment of the collectivité, another collectivité's: refused, in every form.
    for (const char *path : {"/pdf/menus/connexions/etablissements?etab=0310001A",
                             "/pdf/menus/connexions/etablissements?etab=0340001E",
                             "/pdf/remontees?etab=0310001A", "/remontees?etab=0310003C",
                             "/api/remontees?etab=0340001E", "/csv/remontees?etab=0310004D"}) {
        const Page p = user.get(s.url(path));
        INFO(path << " " << p.status);
        CHECK(p.status == 403);
        CHECK(p.body.find("%PDF") == std::string::npos);
    }
    // État des remontées: their establishment only, linked from the navigation.
    const Page status = user.get(s.url("/remontees"));
    REQUIRE(status.status == 200);
    CHECK(status.body.find("<tr data-uai=\"0310002B\">") != std::string::npos);
    for (const char *other : {"0310001A", "0310003C", "0310004D", "0340001E"})
        CHECK(status.body.find(other) == std::string::npos);
    CHECK(user.get(s.url("/menus/connexions/synthese")).body.find("href=\"/remontees\"") !=
          std::string::npos);

    // Their own establishment's PDF: a PDF, recorded in the audit log.
    const std::string target = "/pdf/menus/connexions/etablissements?etab=0310002B";
    const Page pdf = user.get(s.url(target));
    INFO(pdf.body.substr(0, 200));
    REQUIRE(pdf.status == 200);
    CHECK(pdf.content_type == "application/pdf");
    CHECK(pdf.body.starts_with("%PDF"));
    std::string audit;
    REQUIRE(t.run_cli({"audit", "list", "--collectivite", "D031"}, &audit) == 0);
    CHECK(has_audit(audit, email, "export.pdf", target));
    auto pdf_exports = [&] {
        std::string a;
        REQUIRE(t.run_cli({"audit", "list", "--collectivite", "D031"}, &a) == 0);
        size_t n = 0;
        for (size_t p = 0; (p = a.find("\texport.pdf\t", p)) != std::string::npos; ++p) ++n;
        return n;
    };
    REQUIRE(pdf_exports() == 1);

    // The collectivité's logo is in the PDF (inline: the converter fetches nothing).
    // A real PNG (one pixel), so that the converter embeds it.
    const std::string png = std::string(
        "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52"
        "\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
        "\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\x64\x60\xf8\x5f"
        "\x0f\x00\x02\x87\x01\x80\xeb\x47\xba\x92\x00\x00\x00\x00\x49\x45"
        "\x4e\x44\xae\x42\x60\x82",
        70);
    const Page form = admin.get(s.url("/gestion/logo"));
    REQUIRE(admin
                .post_file(s.url("/gestion/logo"), {{"csrf", csrf_of(form.body)}}, "logo",
                           "logo.png", png)
                .status == 303);
    const Page with_logo = user.get(s.url("/pdf/remontees"));
    REQUIRE(with_logo.status == 200);
    const std::string file = t.dir.path + "/logo.pdf";
    std::ofstream(file, std::ios::binary) << with_logo.body;
    FILE *p = ::popen(("pdfimages -list '" + file + "'").c_str(), "r");
    REQUIRE(p);
    std::string images;
    char buf[1024];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) images.append(buf, n);
    REQUIRE(::pclose(p) == 0);
    INFO(images);
    CHECK(images.find(" image ") != std::string::npos);  // one line per image after the header
    REQUIRE(pdf_exports() == 2);
    // The home's PDF ("/pdf", without a path after the prefix) is an export too.
    const Page home_pdf = user.get(s.url("/pdf?annee=2026"));
    REQUIRE(home_pdf.status == 200);
    CHECK(home_pdf.body.starts_with("%PDF"));
    REQUIRE(pdf_exports() == 3);

    // HEAD: the GET's status and headers, Content-Length included, and no body; a HEAD of an
    // export exports nothing and is not audited.
    const Page get = user.get(s.url("/menus/connexions/synthese"));
    const Page head = user.head(s.url("/menus/connexions/synthese"));
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.content_type == get.content_type);
    CHECK(head.content_length == std::to_string(get.body.size()));
    const Page head_pdf = user.head(s.url(target));
    CHECK(head_pdf.status == 200);
    CHECK(head_pdf.body.empty());
    CHECK(head_pdf.content_type == "application/pdf");
    CHECK(pdf_exports() == 3);
    CHECK(user.head(s.url("/pdf/remontees?etab=0310001A")).status == 403);
    const Page health = user.head(s.url("/healthz"));
    CHECK(health.status == 200);
    CHECK(health.body.empty());
    CHECK(std::stoul(health.content_length) > 0);
    // The connection still serves requests after a HEAD (the length announced was not sent).
    CHECK(user.get(s.url("/remontees")).status == 200);
}
