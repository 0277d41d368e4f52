#pragma once
// The console's accounts, rights and tenants (docs/console.md#accounts-and-rights): collectivités
// and their establishments, users with their establishments and categories, single-use tokens
// (invitation, reset), sessions, the audit log; and the Principal of a session. The same logic on
// SQLite and PostgreSQL (sql.hpp), in the database of the figures. Thread-safe: one connection,
// one operation at a time.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "principal.hpp"
#include "sql.hpp"
#include "store.hpp"  // Establishment: exactly the table `establishments`

namespace sonde::console {

struct Config;

struct Collectivite {
    std::string id;  // e.g. "D031" (département 31), "R76" (région 76)
    std::string name;
};

struct User {
    std::string email;  // the login, lower case
    std::string collectivite, name, first_name;
    bool administrator = false;
    bool confirmed = false;                   // has set a password (invitation accepted)
    std::vector<std::string> establishments;  // granted UAIs (all of them for an administrator)
    std::vector<std::string> categories;      // granted menus and widgets
};

struct AuditRow {
    int64_t at_unix = 0;
    std::string collectivite, actor, action, detail;
};

// The grantable categories (guide 3.b): the pages' menus and widgets (console/web/menus.cc) in
// their order; a menu without widgets is a leaf; "connexions" is not here (always visible). A
// new user gets every leaf.
struct Category {
    std::string_view id, label;
    bool menu;  // a menu (its widgets follow it), or a widget of the menu before
};
const std::vector<Category> &category_tree();
std::vector<std::string> all_category_leaves();
bool known_category(std::string_view id);

// A login as the accounts keep it: lower case, trimmed; nullopt if it is no plausible e-mail
// address (letters, digits and . _ % + - before '@', a domain after).
std::optional<std::string> normal_email(std::string_view text);

class Accounts {
  public:
    // Opens the accounts in the service's database (DATA/figures.sqlite or config.postgresql)
    // and creates the tables if needed.
    static std::unique_ptr<Accounts> open(const Config &config, std::string *error);
    explicit Accounts(std::unique_ptr<SqlDb> db);

    // Tenants and establishments (the operator's commands).
    bool add_collectivite(const Collectivite &c, std::string *error);
    std::vector<Collectivite> collectivites();
    std::optional<Collectivite> collectivite(const std::string &id);
    // Upserts the establishment and adds it to the collectivité (which must exist; "": none).
    bool import_establishment(const Establishment &e, const std::string &collectivite,
                              std::string *error);
    std::vector<Establishment> establishments_of(const std::string &collectivite);

    // Users. create_user gives the user every leaf category; an administrator's establishments
    // are not stored (they are the collectivité's, read at each request).
    enum class Outcome { Ok, Exists, NotFound, Invalid, Failed };
    Outcome create_user(const User &u, std::string *error);
    std::optional<User> user(const std::string &email);
    std::vector<User> users_of(const std::string &collectivite);
    // Replaces the user's administrator flag, establishments (kept only those of the
    // collectivité) and categories (known ones only).
    Outcome set_rights(const std::string &email, bool administrator,
                       const std::vector<std::string> &establishments,
                       const std::vector<std::string> &categories, std::string *error);
    Outcome delete_user(const std::string &email, std::string *error);
    bool set_password_hash(const std::string &email, const std::string &hash);

    // Single-use tokens: only their hash is stored. issue_token returns the token itself.
    std::optional<std::string> issue_token(const std::string &email, std::string_view kind,
                                           int64_t ttl_seconds, int64_t now);
    // The e-mail of a valid (unused, unexpired) token of this kind, without using it.
    std::optional<std::string> peek_token(std::string_view token, std::string_view kind,
                                          int64_t now);
    // Marks the token used and returns its e-mail; nullopt if it was not valid. Atomic: two
    // concurrent uses, one wins.
    std::optional<std::string> use_token(std::string_view token, std::string_view kind,
                                         int64_t now);

    // Login attempts per account: the stored hash and whether the account is locked now.
    struct LoginState {
        std::string hash;
        bool locked = false;
    };
    std::optional<LoginState> login_state(const std::string &email, int64_t now);
    // A failed attempt: after `max_failures` in a row the account is locked for `lockout` s.
    void login_failed(const std::string &email, unsigned max_failures, int64_t lockout,
                      int64_t now);
    void login_succeeded(const std::string &email);

    // Sessions: only the id's hash is stored. A session ends after `idle` seconds without a
    // request, or `lifetime` seconds after its start, whichever is first.
    std::optional<std::string> create_session(const std::string &email, int64_t now);
    std::optional<Principal> session_principal(std::string_view session_id, int64_t idle,
                                               int64_t lifetime, int64_t now);
    void end_session(std::string_view session_id);
    void end_sessions_of(const std::string &email);

    // The collectivité's logo (image bytes and content type).
    bool set_logo(const std::string &collectivite, const std::string &content_type,
                  const std::string &bytes);
    std::optional<std::pair<std::string, std::string>> logo(const std::string &collectivite);

    // The audit log: exports and rights changes (who, when, what).
    void audit(const std::string &collectivite, const std::string &actor, const std::string &action,
               const std::string &detail, int64_t now);
    std::vector<AuditRow> audit_rows(const std::string &collectivite);  // "" for every one

  private:
    bool run(const std::string &sql, const std::vector<SqlDb::Value> &params,
             std::vector<SqlDb::Row> *rows = nullptr, int64_t *changed = nullptr,
             std::string *error = nullptr);
    bool create_schema(std::string *error);
    std::vector<std::string> column(const std::string &sql, const std::string &param);
    std::unique_ptr<SqlDb> db_;
    std::mutex mutex_;
};

}  // namespace sonde::console
